/**
 * One Raft group on this node: the Raft core, its durable log view, its state machine, and the callers
 * waiting on it. The node host (node-host.ts) owns the loop that persists, sends and calls handleReady.
 */
import { NotLeaderError as RaftNotLeaderError, RaftNode, SeededRandom, type Entry, type RaftStorage, type Ready, type Snapshot } from "../../raft/index.js";
import { TransientError } from "../errors.js";
import { ProposalWaiters, ReadWaiters } from "./waiters.js";
import type { Cancellation } from "../cancellation.js";

/** What a group's state machine must offer the driver. */
export interface GroupStateMachine<R> {
  /** Highest applied index. On disk; an operating-system crash may undo what was applied since the last {@link flush}. */
  readonly appliedIndex: number;
  /** Makes everything applied so far durable (before the log forgets the entries it covers). */
  flush(): Promise<void>;
  /** Applies committed entries in order; returns the results of entries that carried a command. */
  apply(entries: readonly Entry[]): Promise<Map<number, R>>;
  /** Installs a snapshot received through Raft (the metadata group carries its state inline). */
  installSnapshot(snapshot: Snapshot): Promise<void>;
  /** Bytes to embed in a Raft snapshot taken now (small descriptors only). */
  snapshotData(): Uint8Array;
}

export interface RaftGroupOptions {
  readonly nodeId: number;
  readonly groupId: number;
  readonly storage: RaftStorage;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly uncommittedBytesMax: number;
  /** Take a snapshot every this many applied entries (0 = never). */
  readonly snapshotEntries: number;
  /** Entries kept in the log behind each snapshot, for lagging peers and follower clusters. */
  readonly compactionOverhead: number;
}

/** A request for the host: record a snapshot at `index` and compact the log up to `compactTo`. */
export interface SnapshotRequest {
  readonly snapshot: Snapshot;
  readonly compactTo: number;
}

/** One Raft group and the callers waiting on it. */
export class RaftGroup<R> {
  readonly node: RaftNode;
  private readonly proposals = new ProposalWaiters<R>();
  private readonly reads = new ReadWaiters();
  private readCounter = 0;
  /** Context of the reads waiting for the next round's read index; null when none wait. */
  private readBatch: string | null = null;
  private requestRound: () => void = () => {};
  private lastSnapshotIndex: number;
  private stopped: Error | null = null;
  /** For metrics: proposals appended here as leader, snapshots recorded here. */
  readonly counters = { proposals: 0, snapshots: 0 };

  constructor(readonly options: RaftGroupOptions, readonly stateMachine: GroupStateMachine<R>) {
    const applied = stateMachine.appliedIndex;
    this.lastSnapshotIndex = options.storage.snapshot().metadata.index;
    this.node = new RaftNode({
      id: options.nodeId,
      storage: options.storage,
      // Seeded per node and group so that election timeouts differ between replicas.
      random: new SeededRandom(options.nodeId * 1_000_003 + options.groupId + Date.now()),
      electionTicks: options.electionTicks,
      heartbeatTicks: options.heartbeatTicks,
      checkQuorum: true,
      preVote: options.preVote,
      uncommittedBytesMax: options.uncommittedBytesMax,
      // The state machine is durable: entries it has applied are not handed out again after a restart.
      // It may be ahead of the log's persisted commit index when a torn log tail was cut off at recovery;
      // then Raft replays from the commit index and the state machine skips what it already holds.
      applied: Math.max(Math.min(applied, options.storage.initialState().hardState.commit), this.lastSnapshotIndex),
    });
  }

  get groupId(): number {
    return this.options.groupId;
  }

  /** Appends `data` on the leader and waits until this node applied it. Throws NotLeaderError elsewhere. */
  propose(data: Uint8Array, signal?: Cancellation): Promise<R> {
    this.checkRunning();
    const ticket = this.node.propose(data);
    this.counters.proposals++;
    return this.proposals.wait(ticket.index, ticket.term, signal);
  }

  /** Waits for the entry (index, term) — proposed on the leader for us — to be applied here. */
  waitApplied(index: number, term: number, signal?: Cancellation): Promise<R> {
    this.checkRunning();
    return this.proposals.wait(index, term, signal);
  }

  /**
   * Linearizable barrier: resolves once this node applied everything committed before the call.
   * Reads arriving before the host's next round share one Raft read index (one heartbeat round to the
   * quorum per batch, not per read). The batch's read index is requested at the start of that round,
   * after every read of the batch arrived, so each read still sees every write acknowledged before it.
   */
  readIndex(signal?: Cancellation): Promise<void> {
    this.checkRunning();
    if (this.readBatch === null) this.readBatch = `${this.options.nodeId}:${++this.readCounter}`;
    const waiting = this.reads.wait(this.readBatch, signal);
    this.requestRound();
    return waiting;
  }

  /** Requests the read index of the reads batched since the last call (the host calls this at the start of a round). */
  flushReads(): void {
    const context = this.readBatch;
    if (context === null) return;
    this.readBatch = null;
    try {
      this.node.readIndex(Buffer.from(context));
    } catch (error) {
      this.reads.cancel(context, asTransient(error));
    }
  }

  /** Lets the host run a round soon when this group gets work that no other input announces (reads). */
  onWork(requestRound: () => void): void {
    this.requestRound = requestRound;
  }

  /**
   * Applies what a Ready hands over after the host persisted it: the snapshot, the committed entries,
   * the read states. Returns a snapshot to record when enough entries were applied since the last one.
   */
  async handleReady(ready: Ready): Promise<SnapshotRequest | null> {
    if (ready.snapshot) {
      if (ready.snapshot.metadata.index > this.stateMachine.appliedIndex) await this.stateMachine.installSnapshot(ready.snapshot);
      // The log now starts after the received snapshot (a table's data may have arrived ahead of it through
      // the snapshot stream): count the next local snapshot from here, or it would compact below the log's start.
      this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, ready.snapshot.metadata.index);
      this.proposals.snapshotInstalled(ready.snapshot.metadata.index);
    }
    if (ready.committedEntries.length > 0) {
      const results = await this.stateMachine.apply(ready.committedEntries);
      for (const entry of ready.committedEntries) {
        // No result: the state machine already held the entry (its data came with a snapshot stream).
        const result = results.get(entry.index);
        this.proposals.applied(entry.index, entry.term, result === undefined ? null : () => result);
      }
    }
    for (const state of ready.readStates) {
      this.reads.confirmed(Buffer.from(state.context).toString(), state.index, this.stateMachine.appliedIndex);
    }
    this.reads.appliedTo(this.stateMachine.appliedIndex);
    return this.maybeSnapshot(ready.committedEntries);
  }

  /** Makes everything this node applied durable; the host calls it before recording a snapshot. */
  flushApplied(): Promise<void> {
    return this.stateMachine.flush();
  }

  private maybeSnapshot(applied: readonly Entry[]): SnapshotRequest | null {
    const last = applied[applied.length - 1];
    const every = this.options.snapshotEntries;
    if (!last || every === 0 || last.index - this.lastSnapshotIndex < every) return null;
    this.lastSnapshotIndex = last.index;
    this.counters.snapshots++;
    return {
      snapshot: { metadata: { index: last.index, term: last.term, confState: this.node.confState() }, data: this.stateMachine.snapshotData() },
      compactTo: Math.max(0, last.index - this.options.compactionOverhead),
    };
  }

  /** Entries currently in this group's log on this node. */
  logEntries(): number {
    return Math.max(0, this.options.storage.lastIndex() - this.options.storage.firstIndex() + 1);
  }

  /** Fails every waiter; the group takes no more requests. */
  stop(reason: Error): void {
    this.stopped = reason;
    this.proposals.failAll(reason);
    this.reads.failAll(reason);
  }

  /** Throws the reason the group stopped, if it did. */
  checkRunning(): void {
    if (this.stopped) throw this.stopped;
  }
}

/** Maps the core's "not leader / dropped" errors to the engine's transient errors. */
export function asTransient(error: unknown): Error {
  if (error instanceof RaftNotLeaderError) return new TransientError(`no leader available for this table (known leader: ${error.leaderId || "none"})`);
  if (error instanceof Error && "code" in error && (error as { code: string }).code === "PROPOSAL_DROPPED") return new TransientError(error.message);
  return error instanceof Error ? error : new Error(String(error));
}
