/**
 * One table of the single-node engine: proposals are queued and applied in order, in batches, by the
 * table's state machine. Each applied batch is one durable LMDB transaction (group commit), so many
 * concurrent writers share one fsync. The log index of an entry is the state machine's applied index + 1.
 */
import type { armada } from "../proto/index.js";
import type { ApplyResult, LogEntryToApply, TableStateMachine } from "../fsm/index.js";
import type { GroupStatus, TableHandle, TableInfo, WaitOptions } from "./engine.js";
import { AbortedError, EngineClosedError, EngineError, TransientError } from "./errors.js";
import { pb } from "../proto/index.js";

/** Most entries applied in one state-machine transaction. */
export const APPLY_BATCH_ENTRIES_MAX = 1024;

interface PendingProposal {
  readonly command: armada.v1.ICommand;
  readonly bytes: number;
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: Error) => void;
  readonly signal?: AbortSignal;
  readonly onAbort?: () => void;
}

export interface LocalTableOptions {
  readonly nodeId: number;
  /** Bound on bytes of proposals accepted but not yet applied; beyond it proposals fail as transient. */
  readonly maxInMemoryLogBytes: number;
  /** Called when applying fails for a reason that is not the proposal's fault (disk, corruption). */
  readonly onFatal: (table: TableInfo, error: Error) => void;
}

/** A table whose proposals are applied in process, in order. */
export class LocalTable implements TableHandle {
  private readonly queue: PendingProposal[] = [];
  private queuedBytes = 0;
  private draining: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;

  constructor(
    readonly info: TableInfo,
    readonly stateMachine: TableStateMachine,
    private readonly options: LocalTableOptions,
  ) {}

  status(): GroupStatus {
    const applied = this.stateMachine.appliedIndex;
    return {
      shardId: this.info.shardId,
      replicaId: this.options.nodeId,
      term: 1,
      leaderId: this.options.nodeId,
      commitIndex: applied,
      appliedIndex: applied,
    };
  }

  propose(command: armada.v1.ICommand, options: WaitOptions = {}): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(new EngineClosedError());
    if (this.failure) return Promise.reject(new EngineError(`table "${this.info.name}" stopped: ${this.failure.message}`));
    if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
    const bytes = pb.Command.encode(command).len;
    if (this.queuedBytes + bytes > this.options.maxInMemoryLogBytes && this.queue.length > 0) {
      return Promise.reject(new TransientError("in-memory log limit reached; retry later"));
    }
    return new Promise<ApplyResult>((resolve, reject) => {
      const signal = options.signal;
      const proposal: PendingProposal = {
        command,
        bytes,
        resolve,
        reject,
        signal,
        onAbort: signal ? () => this.abandon(proposal) : undefined,
      };
      signal?.addEventListener("abort", proposal.onAbort!, { once: true });
      this.queue.push(proposal);
      this.queuedBytes += bytes;
      this.draining ??= this.drain();
    });
  }

  /** Every acknowledged write is already applied locally, so the local state is linearizable as is. */
  async readIndex(options: WaitOptions = {}): Promise<void> {
    if (this.closed) throw new EngineClosedError();
    if (options.signal?.aborted) throw abortError(options.signal);
  }

  /** Stops taking proposals, waits for the batch in flight and fails what is still queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
    for (const proposal of this.queue.splice(0)) settle(proposal, () => proposal.reject(new EngineClosedError()));
    this.queuedBytes = 0;
  }

  private abandon(proposal: PendingProposal): void {
    const position = this.queue.indexOf(proposal);
    if (position >= 0) {
      // Not yet handed to the state machine: it will never be applied.
      this.queue.splice(position, 1);
      this.queuedBytes -= proposal.bytes;
    }
    // Either way the caller stops waiting; an entry already in flight may still be applied.
    proposal.reject(abortError(proposal.signal!));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue.splice(0, APPLY_BATCH_ENTRIES_MAX);
        for (const proposal of batch) this.queuedBytes -= proposal.bytes;
        await this.applyBatch(batch);
      }
    } finally {
      this.draining = null;
    }
  }

  private async applyBatch(batch: PendingProposal[]): Promise<void> {
    const first = this.stateMachine.appliedIndex + 1;
    const entries: LogEntryToApply[] = batch.map((proposal, offset) => ({ index: first + offset, command: proposal.command }));
    let results: ApplyResult[];
    try {
      results = await this.stateMachine.apply(entries);
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      this.failure = cause;
      this.options.onFatal(this.info, cause);
      for (const proposal of batch) settle(proposal, () => proposal.reject(new EngineError(`apply failed: ${cause.message}`)));
      for (const proposal of this.queue.splice(0)) settle(proposal, () => proposal.reject(new EngineError(`apply failed: ${cause.message}`)));
      return;
    }
    const byIndex = new Map(results.map((result) => [result.index, result]));
    batch.forEach((proposal, i) => {
      const result = byIndex.get(first + i);
      settle(proposal, () => (result ? proposal.resolve(result) : proposal.reject(new EngineError(`entry ${first + i} was not applied`))));
    });
  }
}

function settle(proposal: PendingProposal, action: () => void): void {
  if (proposal.onAbort) proposal.signal!.removeEventListener("abort", proposal.onAbort);
  action();
}

function abortError(signal: AbortSignal): AbortedError {
  const reason: unknown = signal.reason;
  return reason instanceof AbortedError ? reason : new AbortedError("cancelled");
}
