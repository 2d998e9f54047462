/**
 * Callers waiting for a monotonically growing index (a table's leader-cluster index on a follower) to
 * reach a target (spec §10.3). The state machine reports every advance; waiters are released in order,
 * and a waiter whose signal fires first is rejected with the signal's reason.
 */
import { cancellationError, type Cancellation } from "./cancellation.js";

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly cleanup: () => void;
}

export class IndexWaiters {
  /** Pending waiters sorted by target, smallest first. */
  private waiters: Waiter[] = [];
  private failure: Error | null = null;

  constructor(private current: number) {}

  /** The latest index reported. */
  get index(): number {
    return this.current;
  }

  /** How many callers are waiting now. */
  get pending(): number {
    return this.waiters.length;
  }

  /** Resolves once the index is at least `target`. */
  wait(target: number, signal?: Cancellation): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (target <= this.current) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(cancellationError(signal));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        reject(cancellationError(signal!));
      };
      const entry: Waiter = { target, resolve, reject, cleanup: () => signal?.removeEventListener("abort", onAbort) };
      signal?.addEventListener("abort", onAbort, { once: true });
      let at = this.waiters.length;
      while (at > 0 && this.waiters[at - 1]!.target > target) at--;
      this.waiters.splice(at, 0, entry);
    });
  }

  /** Records that the index is now `index` (it may go down: a reset), releasing every waiter it satisfies. */
  advance(index: number): void {
    this.current = index;
    let released = 0;
    while (released < this.waiters.length && this.waiters[released]!.target <= index) released++;
    if (released === 0) return;
    const done = this.waiters.slice(0, released);
    this.waiters = this.waiters.slice(released);
    for (const waiter of done) {
      waiter.cleanup();
      waiter.resolve();
    }
  }

  /** Rejects every waiter (and later calls) with `error`: the table stopped. */
  failAll(error: Error): void {
    this.failure = error;
    const all = this.waiters;
    this.waiters = [];
    for (const waiter of all) {
      waiter.cleanup();
      waiter.reject(error);
    }
  }
}
