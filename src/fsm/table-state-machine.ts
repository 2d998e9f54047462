/**
 * The state machine of one table replica on LMDB (spec §8.4): applies committed log entries atomically
 * and durably, serves reads, and produces and installs snapshots.
 */
import { pb, toNumber, type armada } from "../proto/index.js";
import { applyCommand, checkCommand } from "./commands.js";
import { FatalApplyError, StateMachineClosedError, assert } from "./errors.js";
import { readRange, readRangeTo, singleKeyResult, type ChunkSummary, type EntrySink, type RangeQuery, type RangeResult } from "./range.js";
import { SnapshotRangeIterator, type RangeIterator } from "./range-iterator.js";
import { hasLeaderIndex, loadSnapshot } from "./recovery.js";
import { TableStore, type SlotId, type SystemValues } from "./store.js";
import { TableSnapshotStream, type SnapshotStream, type SnapshotTrailer } from "./table-snapshot.js";
import { assertNoWrites, executeTxn, type TxnOutcome } from "./txn.js";
import { TableReader, TableWriter } from "./view.js";
import { WriteQueue } from "./write-queue.js";

/** A committed log entry. `command: null` is a non-command entry (Raft no-op, membership): it only advances the index. */
export interface LogEntryToApply {
  index: number;
  command: armada.v1.ICommand | null;
}

/** The result of one applied entry. `revision` is the entry index; `succeeded` is the TXN outcome (true otherwise). */
export interface ApplyResult {
  index: number;
  revision: number;
  responses: armada.v1.IResponseOp[];
  succeeded: boolean;
}

/** Options of {@link TableStateMachine.open}. */
export interface TableStateMachineOptions {
  /** Table name, written into snapshot records. */
  table: string;
}

/** Options of {@link TableStateMachine.recoverFromSnapshot}. */
export interface RecoverOptions {
  /** The applied index to record with the new contents (kept unchanged when absent). */
  index?: number;
}

/** What {@link TableStateMachine.recoverFromSnapshot} installed. */
export interface RecoveredSnapshot {
  /** The trailer's leader index, now the table's; 0 when the stream had no trailer (a backup). */
  leaderIndex: number;
  /** Number of PUT records loaded. */
  keys: number;
}

/** Something holding a read view that must be released when the state machine closes. */
interface OpenView {
  revoke(): void;
}

/**
 * One table replica. Writes (apply, recovery) run one at a time; reads are synchronous and see committed
 * state only. After a fatal apply error every later apply rejects until the table is reopened.
 */
export class TableStateMachine {
  readonly #store: TableStore;
  readonly #table: string;
  readonly #tableBytes: Uint8Array;
  readonly #writes = new WriteQueue();
  readonly #openViews = new Set<OpenView>();
  /** Committed system values; replaced only after the write carrying them is durable. */
  #system: SystemValues;
  #failure: FatalApplyError | null = null;
  #closed = false;

  private constructor(store: TableStore, table: string, system: SystemValues) {
    this.#store = store;
    this.#table = table;
    this.#tableBytes = Buffer.from(table, "utf8");
    this.#system = system;
  }

  /** Opens the replica stored in `dir`, creating the directory and an empty table when missing. */
  static open(dir: string, options: TableStateMachineOptions): TableStateMachine {
    const store = TableStore.open(dir);
    try {
      const system = store.readSystem();
      // A recovery interrupted by a crash leaves data in the inactive slot; nothing points at it.
      const inactive = otherSlot(system.slot);
      if (!store.isSlotEmpty(inactive)) store.clearSlotSync(inactive);
      return new TableStateMachine(store, options.table, system);
    } catch (error) {
      void store.close();
      throw error;
    }
  }

  /** Table name given at open. */
  get table(): string {
    return this.#table;
  }

  /** Highest applied log index (persisted). */
  get appliedIndex(): number {
    return this.#system.index;
  }

  /** Last leader-cluster index applied (persisted; 0 on leader clusters and never-replicated tables). */
  get leaderIndex(): number {
    return this.#system.leaderIndex;
  }

  /**
   * Applies `entries` (ascending indices) in one atomic LMDB transaction together with the new applied
   * index and leader index; resolves once that transaction's data is on disk (its meta page follows with
   * the next commit or {@link flush}). Entries at or below the applied
   * index are skipped (replay after a crash) and get no result. Any failure rejects with a
   * {@link FatalApplyError} and applies nothing.
   */
  apply(entries: LogEntryToApply[]): Promise<ApplyResult[]> {
    return this.#writes.run(() => this.#applyNow(entries));
  }

  /**
   * Makes everything applied so far durable. A commit of {@link apply} may be undone by an operating-system
   * crash until the next commit or this call (see TableStore.open), so the Raft log must keep the entries
   * after the last flush: the engine flushes before a snapshot, recorded here or received, lets the log
   * drop the entries it covers.
   */
  flush(): Promise<void> {
    this.#checkOpen();
    return this.#writes.run(() => this.#store.sync());
  }

  /** Serializable read of committed state. */
  range(query: RangeQuery): RangeResult {
    this.#checkOpen();
    return readRange(this.#latestReader(), query);
  }

  /**
   * {@link range}, with the response's entries handed to `sink` as they are read: each value is a view of
   * LMDB's reusable read buffer, valid during the call only. Saves a copy per value, and an object per
   * entry, for a caller that serializes them at once (the Range handler).
   */
  rangeTo(query: RangeQuery, sink: EntrySink): ChunkSummary {
    this.#checkOpen();
    return readRangeTo(this.#latestReader(), query, sink);
  }

  /**
   * A single-key Range of the latest state (the query of {@link rangeTo} without a `range_end`), with
   * the value lent as there: it is valid until the next read of any table on this thread. For the
   * serializable read, the hottest call, which encodes the result at once: it makes neither the query
   * nor a callback.
   */
  lookupLent(key: Uint8Array, keysOnly: boolean, countOnly: boolean): RangeResult {
    this.#checkOpen();
    return singleKeyResult(key, this.#latestReader().getLent(key), keysOnly, countOnly);
  }

  /** A reader of the latest state: the data slot the system record names now. */
  #latestReader(): TableReader {
    return new TableReader(this.#store.slot(this.#system.slot));
  }

  /** A lazy stream of responses over the state at the time of the call; close() releases it early. */
  iterateRange(query: RangeQuery): RangeIterator {
    this.#checkOpen();
    const iterator = new SnapshotRangeIterator(this.#store.beginRead(), query, (done) => this.#openViews.delete(done));
    this.#openViews.add(iterator);
    return iterator;
  }

  /** Evaluates a read-only transaction against one consistent view; throws NotReadOnlyTxnError on put/delete ops. */
  txnReadOnly(txn: armada.v1.ITxn): TxnOutcome {
    this.#checkOpen();
    assertNoWrites(txn);
    const snapshot = this.#store.beginRead();
    try {
      return executeTxn(new TableReader(snapshot.data, snapshot.txn), null, txn);
    } finally {
      snapshot.release();
    }
  }

  /** A consistent snapshot of the whole table, streamed lazily (spec §9.4). */
  snapshot(trailer: SnapshotTrailer = "applied"): SnapshotStream {
    this.#checkOpen();
    const stream = new TableSnapshotStream(this.#store.beginRead(), this.#tableBytes, (done) => this.#openViews.delete(done), trailer);
    this.#openViews.add(stream);
    return stream;
  }

  /**
   * Replaces the whole table with the records of a Snappy-framed snapshot stream. The records are loaded
   * into the inactive data slot, then one transaction switches slots and records the indices, so readers
   * see the old or the new contents, never a mix. Corrupt input rejects (InvalidSnapshotStreamError) and
   * leaves the table untouched.
   */
  recoverFromSnapshot(source: AsyncIterable<Uint8Array>, options: RecoverOptions = {}): Promise<RecoveredSnapshot> {
    return this.#writes.run(() => this.#recoverNow(source, options));
  }

  /** Waits for running writes, ends open streams and closes the environment (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.idle();
    for (const view of [...this.#openViews]) view.revoke();
    await this.#store.close();
  }

  async #applyNow(entries: LogEntryToApply[]): Promise<ApplyResult[]> {
    this.#checkOpen();
    if (this.#failure) {
      throw new StateMachineClosedError(`table "${this.#table}" stopped after a fatal apply error: ${this.#failure.message}`, {
        cause: this.#failure,
      });
    }
    const pending = this.#unappliedEntries(entries);
    if (pending.length === 0) return [];
    try {
      for (const entry of pending) if (entry.command) checkCommand(entry.command, entry.index);
      const applied = await this.#store.write(() => this.#applyInTransaction(pending));
      this.#system = { ...this.#system, index: applied.index, leaderIndex: applied.leaderIndex };
      return applied.results;
    } catch (error) {
      this.#failure = error instanceof FatalApplyError ? error : new FatalApplyError(this.#describeFailure(pending, error), { cause: error });
      throw this.#failure;
    }
  }

  /** Drops already-applied entries and checks that indices ascend. */
  #unappliedEntries(entries: LogEntryToApply[]): LogEntryToApply[] {
    let previous = 0;
    for (const { index } of entries) {
      assert(Number.isSafeInteger(index) && index > previous, () => `table "${this.#table}": entry index ${index} does not follow ${previous}`);
      previous = index;
    }
    return entries.filter((entry) => entry.index > this.#system.index);
  }

  /** Runs inside the write transaction: applies every entry, then records the indices. */
  #applyInTransaction(pending: LogEntryToApply[]): { results: ApplyResult[]; index: number; leaderIndex: number } {
    const writer = new TableWriter(this.#store.slot(this.#system.slot));
    let leaderIndex = this.#system.leaderIndex;
    let leaderIndexSet = false;
    const results = pending.map(({ index, command }): ApplyResult => {
      if (command === null) return { index, revision: index, responses: [], succeeded: true };
      const replicated = isReplicatedSequence(command);
      const effective = replicated ? withoutApplied(command, leaderIndex) : command;
      const { responses, succeeded } = this.#applyOne(writer, effective, index);
      if (hasLeaderIndex(command)) {
        const carried = toNumber(command.leaderIndex);
        // A replicated batch moves the position to its last entry only if something of it was applied (it
        // is filtered to nothing when it is a stale duplicate or follows a gap); any other command sets the
        // position exactly (a DUMMY with 0 is a Reset, spec §11.4).
        if (!replicated) leaderIndex = carried;
        else if ((effective.sequence ?? []).length > 0) leaderIndex = Math.max(leaderIndex, carried);
        leaderIndexSet = true;
      }
      return { index, revision: index, responses, succeeded };
    });
    const index = pending[pending.length - 1]!.index;
    this.#store.putSystem(leaderIndexSet ? { index, leaderIndex } : { index });
    return { results, index, leaderIndex };
  }

  #applyOne(writer: TableWriter, command: armada.v1.ICommand, index: number): TxnOutcome {
    try {
      return applyCommand(writer, command);
    } catch (error) {
      throw new FatalApplyError(`Cannot apply entry ${index} to table "${this.#table}": ${messageOf(error)}`, { index, cause: error });
    }
  }

  #describeFailure(pending: LogEntryToApply[], error: unknown): string {
    const first = pending[0]!.index;
    const last = pending[pending.length - 1]!.index;
    return `Cannot apply entries ${first}..${last} to table "${this.#table}": ${messageOf(error)}`;
  }

  async #recoverNow(source: AsyncIterable<Uint8Array>, options: RecoverOptions): Promise<RecoveredSnapshot> {
    this.#checkOpen();
    const active = this.#system.slot;
    const target = otherSlot(active);
    let next: SystemValues;
    let keys: number;
    try {
      await this.#store.clearSlot(target);
      const loaded = await loadSnapshot(this.#store, target, source);
      next = { index: options.index ?? this.#system.index, leaderIndex: loaded.leaderIndex ?? 0, slot: target };
      keys = loaded.keys;
      await this.#store.write(() => this.#store.putSystem(next));
    } catch (error) {
      // The active slot was never touched; drop whatever was loaded.
      await this.#store.clearSlot(target).catch(() => undefined);
      throw error;
    }
    this.#system = next;
    // Readers pinned to older views keep seeing the old slot's pages (LMDB MVCC).
    await this.#store.clearSlot(active);
    return { leaderIndex: next.leaderIndex, keys };
  }

  #checkOpen(): void {
    if (this.#closed) throw new StateMachineClosedError(`table "${this.#table}" is closed`);
  }
}

const SEQUENCE = pb.Command.CommandType.SEQUENCE;


/** A SEQUENCE carrying a leader index: commands a follower pulled from the leader cluster (spec §9.8). */
function isReplicatedSequence(command: armada.v1.ICommand): boolean {
  return command.type === SEQUENCE && hasLeaderIndex(command);
}

/**
 * The SEQUENCE without the sub-commands the replica already holds (their leader index is at most
 * `leaderIndex`), or with none at all when the rest does not continue exactly at `leaderIndex + 1`.
 * Two nodes of a follower cluster may briefly both pull a table around a lease handover, and a worker
 * proposes several batches at once: whatever order their batches commit in, every leader entry is applied
 * exactly once and in order, never past a gap (the worker's next poll starts from the stored position).
 */
function withoutApplied(command: armada.v1.ICommand, leaderIndex: number): armada.v1.ICommand {
  const sequence = command.sequence ?? [];
  const fresh = sequence.filter((sub) => !hasLeaderIndex(sub) || toNumber(sub.leaderIndex) > leaderIndex);
  const first = fresh[0];
  if (first && hasLeaderIndex(first) && toNumber(first.leaderIndex) !== leaderIndex + 1) return { ...command, sequence: [] };
  return fresh.length === sequence.length ? command : { ...command, sequence: fresh };
}

function otherSlot(slot: SlotId): SlotId {
  return slot === 0 ? 1 : 0;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
