import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/** What a node restarts from. */
export interface InitialState {
  readonly hardState: HardState;
  /** Membership as of the storage's snapshot (conf changes after it are replayed from the log). */
  readonly confState: ConfState;
}

/**
 * The log as the Raft core reads it. All methods are synchronous: a durable implementation keeps an
 * in-memory index (and ideally the tail of the log) and reads older entries from its files.
 *
 * The stored log is a snapshot at index S (term T), followed by entries S+1 … lastIndex(). The core
 * writes nothing here: the engine persists what each Ready asks for (entries, hard state, snapshot) and
 * compacts after it takes snapshots. Indices handed to these methods are validated by the core.
 */
export interface RaftStorage {
  /** The persisted hard state and the membership as of the snapshot (later conf changes are replayed from the log). */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), at most `maxBytes` in total (as counted by entryBytes) but always at least
   * one entry when lo < hi. Throws CompactedError when lo <= the snapshot index. The returned array
   * belongs to the caller (the core may append to it).
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * The term of entry `index`; for the snapshot index itself, the snapshot's term. Throws CompactedError
   * below the snapshot index and UnavailableError beyond lastIndex().
   */
  term(index: number): number;
  /** Index of the first entry still stored (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last stored entry (the snapshot index if there is none after it). */
  lastIndex(): number;
  /**
   * The most recent snapshot. Called at startup (for its metadata) and when a follower needs it; keep it
   * cheap, e.g. let `data` be a small descriptor the engine resolves to files when it streams the snapshot.
   * May throw SnapshotTemporarilyUnavailableError while one is being made (the leader retries later).
   */
  snapshot(): Snapshot;
}
