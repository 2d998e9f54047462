/**
 * Callers waiting on a Raft group: proposals waiting for their entry to be applied, and linearizable
 * reads waiting for a read index to be confirmed and then applied. Every waiter is bounded by the
 * caller's AbortSignal, so a request lost to a leadership change never waits forever.
 */
import { TransientError } from "../errors.js";
import { cancellationError, type Cancellation } from "../cancellation.js";
import { FreshMap } from "../../runtime/fresh-tables.js";

interface Settle<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** A proposal waiting for the entry at (index, term). */
interface ProposalWaiter<T> extends Settle<T> {
  readonly term: number;
}

/** Results of recently applied entries kept for late waiters (a forwarded proposal's answer may arrive after the apply). */
export const RECENT_RESULTS_MAX = 512;

/**
 * The entry of a waiting proposal was committed, but this node took it from a snapshot rather than applying it
 * itself, so the entry's result (revision, previous value, transaction outcome) is not known here. The write
 * may well have taken effect: proposing it again could apply it twice, so this is an error, never a retry.
 */
export class ResultUnknownError extends TransientError {
  constructor(index: number) {
    super(`the write at log index ${index} may have been applied, but this node caught up from a snapshot and cannot report its result; outcome unknown`);
  }
}

/** A result, or null for an entry this node did not apply itself (it arrived inside a snapshot). */
export type AppliedResult<T> = (() => T) | null;

/** Proposal waiters keyed by log index. */
export class ProposalWaiters<T> {
  private readonly byIndex = new FreshMap<number, ProposalWaiter<T>>();
  private readonly recent = new FreshMap<number, { term: number; result: AppliedResult<T> }>();
  /** The newest snapshot installed here: waiters at or below it can never see their entry applied. */
  private snapshotIndex = 0;

  /** Waits for the entry at `index` of `term` to be applied; resolves with its result. */
  wait(index: number, term: number, signal?: Cancellation): Promise<T> {
    const late = this.recent.get(index);
    if (late) {
      this.recent.delete(index);
      if (late.term !== term) return Promise.reject(new TransientError("proposal dropped by a leadership change; outcome: not applied"));
      return late.result ? Promise.resolve(late.result()) : Promise.reject(new ResultUnknownError(index));
    }
    if (index <= this.snapshotIndex) return Promise.reject(new ResultUnknownError(index));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.byIndex.delete(index);
        reject(cancellationError(signal!));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => signal?.removeEventListener("abort", onAbort);
      this.byIndex.set(index, {
        term,
        resolve: (value) => { done(); resolve(value); },
        reject: (error) => { done(); reject(error); },
      });
    });
  }

  /**
   * The entry at `index` with `term` was applied with `result` (null: applied, result unknown here). A
   * different term means the proposal was lost.
   */
  applied(index: number, term: number, result: AppliedResult<T>): void {
    const waiter = this.byIndex.get(index);
    if (!waiter) {
      this.recent.set(index, { term, result });
      if (this.recent.size > RECENT_RESULTS_MAX) this.recent.delete(this.recent.keys().next().value!);
      return;
    }
    this.byIndex.delete(index);
    if (waiter.term !== term) waiter.reject(new TransientError("proposal dropped by a leadership change; outcome: not applied"));
    else if (result === null) waiter.reject(new ResultUnknownError(index));
    else waiter.resolve(result());
  }

  /**
   * This node installed a snapshot up to `index`: entries up to there will never be applied here one by one,
   * so their waiters learn that the outcome is unknown now instead of at their deadline.
   */
  snapshotInstalled(index: number): void {
    this.snapshotIndex = Math.max(this.snapshotIndex, index);
    for (const [at, waiter] of this.byIndex) {
      if (at > index) continue;
      this.byIndex.delete(at);
      waiter.reject(new ResultUnknownError(at));
    }
    for (const at of this.recent.keys()) if (at <= index) this.recent.delete(at);
  }

  /** Fails every waiter (group stopping). */
  failAll(error: Error): void {
    for (const waiter of this.byIndex.values()) waiter.reject(error);
    this.byIndex.clear();
  }
}

/** Linearizable reads: first waiting for the read index, then for the applied index to reach it. */
export class ReadWaiters {
  /** The reads of each pending read-index request (several reads may share one request). */
  private readonly byContext = new FreshMap<string, Set<Settle<void>>>();
  private readonly byIndex: { index: number; waiter: Settle<void> }[] = [];

  /** Registers a read under `context`; resolves once applied ≥ the context's confirmed read index. */
  wait(context: string, signal?: Cancellation): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let waiters = this.byContext.get(context);
      if (!waiters) {
        waiters = new Set();
        this.byContext.set(context, waiters);
      }
      const group = waiters;
      const onAbort = () => {
        group.delete(waiter);
        if (group.size === 0 && this.byContext.get(context) === group) this.byContext.delete(context);
        // A read already confirmed waits in byIndex; drop it there too.
        const at = this.byIndex.findIndex((entry) => entry.waiter === waiter);
        if (at >= 0) this.byIndex.splice(at, 1);
        reject(cancellationError(signal!));
      };
      const done = () => signal?.removeEventListener("abort", onAbort);
      const waiter: Settle<void> = {
        resolve: () => { done(); resolve(); },
        reject: (error) => { done(); reject(error); },
      };
      if (signal?.aborted) {
        if (group.size === 0) this.byContext.delete(context);
        reject(cancellationError(signal));
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      group.add(waiter);
    });
  }

  /** The reads of `context` may be served once `index` is applied. */
  confirmed(context: string, index: number, appliedIndex: number): void {
    const waiters = this.byContext.get(context);
    if (!waiters) return;
    this.byContext.delete(context);
    for (const waiter of waiters) {
      if (appliedIndex >= index) waiter.resolve();
      else this.byIndex.push({ index, waiter });
    }
  }

  /** Fails the reads of a read-index request that could not be started. */
  cancel(context: string, error: Error): void {
    const waiters = this.byContext.get(context);
    this.byContext.delete(context);
    for (const waiter of waiters ?? []) waiter.reject(error);
  }

  /** Releases reads whose index is now applied. */
  appliedTo(appliedIndex: number): void {
    if (this.byIndex.length === 0) return;
    for (let i = this.byIndex.length - 1; i >= 0; i--) {
      if (this.byIndex[i]!.index <= appliedIndex) {
        this.byIndex[i]!.waiter.resolve();
        this.byIndex.splice(i, 1);
      }
    }
  }

  failAll(error: Error): void {
    for (const waiters of this.byContext.values()) for (const waiter of waiters) waiter.reject(error);
    for (const { waiter } of this.byIndex) waiter.reject(error);
    this.byContext.clear();
    this.byIndex.length = 0;
  }
}
