import { invariant } from './assert.js';
import { limitSize, entryBytes } from './entry-utils.js';
import { CompactedError } from './errors.js';
import { NO_BYTES_LIMIT } from './limits.js';
import type { RaftStorage } from './storage.js';
import { Unstable } from './unstable.js';
import type { Entry, Snapshot } from './types.js';

/** A log position, as returned by conflict searches. */
export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

/**
 * One node's view of the log: the persisted part (RaftStorage) followed by the unstable part, plus the
 * commit and applied indices. Invariant: applied <= committed <= lastIndex().
 */
export class RaftLog {
  readonly storage: RaftStorage;
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index handed to the application and acknowledged with advance(). */
  applied: number;
  private readonly nodeId: number;

  constructor(storage: RaftStorage, nodeId: number) {
    this.storage = storage;
    this.nodeId = nodeId;
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = storage.firstIndex() - 1;
    this.applied = storage.firstIndex() - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    invariant(term !== undefined, () => `node ${this.nodeId}: no term for last index ${this.lastIndex()}`);
    return term;
  }

  /** The term of `index`, or undefined if it is compacted or beyond the log. */
  term(index: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (index < dummy || index > this.lastIndex()) return undefined;
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) return unstableTerm;
    try {
      return this.storage.term(index);
    } catch (err) {
      if (err instanceof CompactedError) return undefined;
      throw err;
    }
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's election restriction: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of an append: if our entry at `index` has term `logTerm`, adopt `entries` after it
   * (replacing any conflicting suffix) and advance the commit index as far as it is known to match the
   * leader. Returns the index of the last entry known to match, or undefined when (index, logTerm) does not.
   */
  maybeAppend(index: number, logTerm: number, committed: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      invariant(conflict > this.committed, () =>
        `node ${this.nodeId}: entry ${conflict} conflicts with the leader but is already committed (commit ${this.committed})`);
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries to the unstable log and returns the new last index. */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    invariant(after >= this.committed, () =>
      `node ${this.nodeId}: append after index ${after} would overwrite committed entries (commit ${this.committed})`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** The index of the first entry whose term differs from ours (or that we lack), or 0 if all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest position at or below `index` whose term is <= `term`: no entry between it and `index`
   * can match a log whose entry at `index` has term `term`, so replication can resume there.
   */
  findConflictByTerm(index: number, term: number): LogPosition {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** Raises the commit index (never lowers it). */
  commitTo(index: number): void {
    if (index <= this.committed) return;
    invariant(index <= this.lastIndex(), () =>
      `node ${this.nodeId}: commit index ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Commits `maxIndex` if it is ahead and its entry is from `term` (the leader's current term). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    invariant(index <= this.committed && index >= this.applied, () =>
      `node ${this.nodeId}: applied index ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  /** Whether committed entries await application. */
  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  /** Committed entries not yet applied, at most `maxBytes` of them (but at least one). */
  nextCommittedEntries(maxBytes: number): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed < lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  /** Entries from `index` to the end, at most `maxBytes`; undefined if `index` is compacted. */
  entriesFrom(index: number, maxBytes: number): Entry[] | undefined {
    if (index < this.firstIndex()) return undefined;
    if (index > this.lastIndex()) return [];
    return this.slice(index, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [lo, hi) from storage and the unstable log, limited to `maxBytes` (at least one entry). */
  slice(lo: number, hi: number, maxBytes: number = NO_BYTES_LIMIT): Entry[] {
    invariant(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, () =>
      `node ${this.nodeId}: slice [${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    if (lo === hi) return [];
    const unstableStart = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < unstableStart) {
      result = this.storage.entries(lo, Math.min(hi, unstableStart), maxBytes);
      // Storage stopped early because of the byte limit: nothing from the unstable part fits.
      if (result.length < Math.min(hi, unstableStart) - lo) return result;
    }
    if (hi > unstableStart) {
      const tail = this.unstable.slice(Math.max(lo, unstableStart), hi);
      if (result.length === 0) return limitSize(tail, maxBytes);
      let size = 0;
      for (const e of result) size += entryBytes(e);
      for (const e of tail) {
        size += entryBytes(e);
        if (size > maxBytes) break;
        result.push(e);
      }
    }
    return result;
  }

  /** The snapshot to send or restore from: an incoming unstable one, else the stored one. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with a snapshot; everything up to it is committed. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }
}
