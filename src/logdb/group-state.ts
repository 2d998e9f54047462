/**
 * One group's log as the logdb keeps it in memory: hard state, latest snapshot, the compaction point, the
 * term of every stored entry, where on disk each entry's record lies, and the entries still cached.
 *
 * The same object is rebuilt by recovery and updated at run time, so replay and live writes share one
 * set of transitions. Callers check preconditions (the Raft rules at run time, corruption checks in
 * replay); the methods assert them again because a violation here would corrupt the log.
 */
import type { ConfState, Entry, HardState } from '../raft/index.js';
import type { GroupCheckpoint, StoredSnapshot } from './codec.js';
import { assertInvariant } from './invariant.js';

/** Where a record lies: segment number, byte position and total length (header included). */
export interface RecordLocation {
  readonly segment: number;
  readonly position: number;
  readonly length: number;
}

/**
 * Entries covered by one entries record. `firstIndex` is the record's first entry (entries before
 * offset+1 may have been compacted); `lastIndex` shrinks when a conflicting append truncates the log.
 * `location` is undefined only during replay, for entries that lived in segments older than the first
 * replayed one: they must all be compacted or truncated away by the end of replay.
 */
interface Run {
  readonly firstIndex: number;
  lastIndex: number;
  readonly location: RecordLocation | undefined;
}

/** How a group tells the shared entry cache what it holds. */
export interface CacheAccounting {
  admit(group: GroupState, entry: Entry): void;
  release(entry: Entry): void;
}

/** The membership of a group that has none yet. */
export const EMPTY_CONF_STATE: ConfState = Object.freeze({ voters: Object.freeze([]) as readonly number[], learners: Object.freeze([]) as readonly number[] });
/** The snapshot of a group that has none yet (index 0, term 0). */
export const EMPTY_SNAPSHOT: StoredSnapshot = Object.freeze({ index: 0, term: 0, confState: EMPTY_CONF_STATE, descriptor: new Uint8Array(0) });
/** The hard state of a group that has none yet. */
export const ZERO_HARD_STATE: HardState = Object.freeze({ term: 0, vote: 0, commit: 0 });

export class GroupState {
  hardState: HardState = ZERO_HARD_STATE;
  snapshot: StoredSnapshot = EMPTY_SNAPSHOT;
  /** Index and term of the last compacted entry: the log holds offset+1 … lastIndex. */
  offset = 0;
  offsetTerm = 0;
  /** terms[k] is the term of entry offset+1+k (NaN for entries of a missing run during replay). */
  private terms: number[] = [];
  /** cached[k] is entry offset+1+k if it is in memory. */
  private cached: (Entry | undefined)[] = [];
  private runs: Run[] = [];

  constructor(
    readonly groupId: number,
    private readonly cache: CacheAccounting,
  ) {}

  get lastIndex(): number {
    return this.offset + this.terms.length;
  }

  /** The term of `index` for offset ≤ index ≤ lastIndex (NaN inside a missing run). */
  termAt(index: number): number {
    assertInvariant(index >= this.offset && index <= this.lastIndex, () => `group ${this.groupId}: term of ${index} outside [${this.offset}, ${this.lastIndex}]`);
    return index === this.offset ? this.offsetTerm : this.terms[index - this.offset - 1]!;
  }

  cachedEntry(index: number): Entry | undefined {
    return this.cached[index - this.offset - 1];
  }

  /** Drops `entry` from memory if it is still this group's cached entry at its index; reports whether it was. */
  uncache(entry: Entry): boolean {
    const k = entry.index - this.offset - 1;
    if (k < 0 || this.cached[k] !== entry) return false;
    this.cached[k] = undefined;
    return true;
  }

  /** The record holding entry `index` (offset < index ≤ lastIndex), found by binary search. */
  locate(index: number): RecordLocation {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runs[mid]!.lastIndex < index) lo = mid + 1;
      else hi = mid;
    }
    const run = this.runs[lo];
    assertInvariant(run !== undefined && run.firstIndex <= index && index <= run.lastIndex && run.location !== undefined,
      () => `group ${this.groupId}: no record holds entry ${index}`);
    return run.location;
  }

  /** The oldest segment holding a live entry of this group, if it has entries. */
  oldestSegment(): number | undefined {
    return this.runs[0]?.location?.segment;
  }

  /** Entries that recovery could not find (a missing run that was never compacted), as [first, last]. */
  missingEntries(): [number, number] | undefined {
    const run = this.runs[0];
    if (run === undefined || run.location !== undefined) return undefined;
    return [Math.max(run.firstIndex, this.offset + 1), run.lastIndex];
  }

  /**
   * Appends a record's entries starting at `firstIndex` (offset < firstIndex ≤ lastIndex + 1), dropping any
   * conflicting suffix first. `entries` are cached when given (live writes); replay passes only terms.
   */
  append(firstIndex: number, terms: readonly number[], location: RecordLocation, entries?: readonly Entry[]): void {
    assertInvariant(firstIndex > this.offset && firstIndex <= this.lastIndex + 1 && terms.length > 0,
      () => `group ${this.groupId}: append of ${terms.length} entries at ${firstIndex} to log (${this.offset}, ${this.lastIndex}]`);
    this.truncateFrom(firstIndex);
    for (let i = 0; i < terms.length; i++) {
      this.terms.push(terms[i]!);
      const entry = entries?.[i];
      this.cached.push(entry);
      if (entry !== undefined) this.cache.admit(this, entry);
    }
    this.runs.push({ firstIndex, lastIndex: firstIndex + terms.length - 1, location });
  }

  /** Drops entries index … lastIndex. */
  private truncateFrom(index: number): void {
    const keep = index - this.offset - 1;
    if (keep >= this.terms.length) return;
    this.release(keep, this.cached.length);
    this.terms.length = keep;
    this.cached.length = keep;
    while (this.runs.length > 0 && this.runs[this.runs.length - 1]!.firstIndex >= index) this.runs.pop();
    const last = this.runs[this.runs.length - 1];
    if (last !== undefined && last.lastIndex >= index) last.lastIndex = index - 1;
  }

  /** Drops entries up to and including `index` (offset < index ≤ lastIndex), whose term is `term`. */
  compact(index: number, term: number): void {
    assertInvariant(index > this.offset && index <= this.lastIndex, () => `group ${this.groupId}: compact(${index}) outside (${this.offset}, ${this.lastIndex}]`);
    const drop = index - this.offset;
    this.release(0, drop);
    this.terms.splice(0, drop);
    this.cached.splice(0, drop);
    this.offset = index;
    this.offsetTerm = term;
    let firstLive = 0;
    while (firstLive < this.runs.length && this.runs[firstLive]!.lastIndex <= index) firstLive++;
    this.runs.splice(0, firstLive);
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  applySnapshot(snapshot: StoredSnapshot): void {
    this.dropLog();
    this.snapshot = snapshot;
    this.offset = snapshot.index;
    this.offsetTerm = snapshot.term;
  }

  /** Releases every cached entry and forgets the log (the group is being removed or replaced). */
  dropLog(): void {
    this.release(0, this.cached.length);
    this.terms = [];
    this.cached = [];
    this.runs = [];
  }

  /** The state a checkpoint record captures. */
  checkpoint(): GroupCheckpoint {
    return { hardState: this.hardState, snapshot: this.snapshot, offset: this.offset, offsetTerm: this.offsetTerm, lastIndex: this.lastIndex };
  }

  /** Starts replay of a group from a checkpoint: its entries lie in older segments and are marked missing. */
  restore(checkpoint: GroupCheckpoint): void {
    this.dropLog();
    this.hardState = checkpoint.hardState;
    this.snapshot = checkpoint.snapshot;
    this.offset = checkpoint.offset;
    this.offsetTerm = checkpoint.offsetTerm;
    const count = checkpoint.lastIndex - checkpoint.offset;
    for (let i = 0; i < count; i++) {
      this.terms.push(Number.NaN);
      this.cached.push(undefined);
    }
    if (count > 0) this.runs.push({ firstIndex: checkpoint.offset + 1, lastIndex: checkpoint.lastIndex, location: undefined });
  }

  /**
   * Drops the cached entries in slots from … to-1. Each slot is cleared before the cache hears of it: the
   * cache may rebuild its admission queue while entries are being released, and keeps what a group still
   * holds; released entries that still looked held made it rebuild on every release (quadratic work).
   */
  private release(from: number, to: number): void {
    for (let k = from; k < to; k++) {
      const entry = this.cached[k];
      if (entry === undefined) continue;
      this.cached[k] = undefined;
      this.cache.release(entry);
    }
  }
}
