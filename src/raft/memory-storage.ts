import { invariant } from './assert.js';
import { bootstrapState } from './bootstrap.js';
import { EMPTY_CONF_STATE, limitSize } from './entry-utils.js';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import type { InitialState, RaftStorage } from './storage.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

const EMPTY_DATA = new Uint8Array(0);

/**
 * RaftStorage kept in memory. Used by tests and the simulator, where it stands for "what reached the
 * disk": the simulator keeps a node's MemoryStorage across a crash and drops everything else.
 *
 * Layout: `log[0]` is a placeholder for the snapshot position (index and term of the last compacted
 * entry); `log[i]` holds the entry at index log[0].index + i.
 */
export class MemoryStorage implements RaftStorage {
  private hard: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: EMPTY_DATA };
  private log: Entry[] = [{ term: 0, index: 0, type: 'normal', data: EMPTY_DATA }];

  /** A storage holding the bootstrap log of a new group with these voters (see bootstrapState). */
  static bootstrap(voters: readonly number[]): MemoryStorage {
    const storage = new MemoryStorage();
    const state = bootstrapState(voters);
    storage.append(state.entries);
    storage.setHardState(state.hardState);
    return storage;
  }

  initialState(): InitialState {
    return { hardState: this.hard, confState: this.snap.metadata.confState };
  }

  /** Persists the hard state of a Ready. */
  setHardState(hardState: HardState): void {
    this.hard = hardState;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.log[0]!.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    invariant(hi <= this.lastIndex() + 1, () => `storage entries(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    return limitSize(this.log.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.log[0]!.index;
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index - offset >= this.log.length) throw new UnavailableError(index, this.lastIndex());
    return this.log[index - offset]!.term;
  }

  firstIndex(): number {
    return this.log[0]!.index + 1;
  }

  lastIndex(): number {
    return this.log[0]!.index + this.log.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader (Ready.snapshot). */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    this.snap = snapshot;
    this.log = [{ term, index, type: 'normal', data: EMPTY_DATA }];
  }

  /**
   * Records a snapshot of the state machine taken at applied index `index`, with the membership as of
   * that index. Entries are kept; call compact() to drop them.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError(index, this.snap.metadata.index);
    invariant(index <= this.lastIndex(), () => `snapshot index ${index} is beyond the last index ${this.lastIndex()}`);
    this.snap = { metadata: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /**
   * Drops entries up to and including `compactIndex`, which must not exceed the latest snapshot's index:
   * a follower that needs a dropped entry is sent that snapshot, so it must cover everything dropped.
   */
  compact(compactIndex: number): void {
    const offset = this.log[0]!.index;
    if (compactIndex <= offset) throw new CompactedError(compactIndex, offset + 1);
    invariant(compactIndex <= this.snap.metadata.index, () =>
      `compact(${compactIndex}) is beyond the latest snapshot at ${this.snap.metadata.index}`);
    invariant(compactIndex <= this.lastIndex(), () => `compact(${compactIndex}) is beyond the last index ${this.lastIndex()}`);
    const kept = this.log.slice(compactIndex - offset);
    kept[0] = { term: kept[0]!.term, index: compactIndex, type: 'normal', data: EMPTY_DATA };
    this.log = kept;
  }

  /** Appends entries from a Ready; entries that conflict with stored ones replace them and everything after. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    // Entries already covered by the snapshot are skipped: they are committed and identical.
    const fresh = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = fresh[0]!.index - this.log[0]!.index;
    invariant(offset <= this.log.length, () =>
      `storage append at index ${fresh[0]!.index} leaves a gap after last index ${this.lastIndex()}`);
    if (offset < this.log.length) this.log.length = offset;
    for (const e of fresh) this.log.push(e);
  }
}
