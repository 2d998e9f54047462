import { invariant } from './assert.js';
import type { Entry, Snapshot } from './types.js';

/**
 * The part of the log not yet handed to storage: an optional incoming snapshot and the entries after
 * `offset - 1`. Entries leave this structure when the engine reports them persisted (stableTo).
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  /** Index of entries[0] (or where the next entry would go). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index if an unstable snapshot defines it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  /** The last index if this structure holds entries or a snapshot. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index;
  }

  /** The term of `index` if this structure knows it. */
  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      const snap = this.snapshot;
      return snap !== undefined && snap.metadata.index === index ? snap.metadata.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** Entries up to (index, term) reached storage; keep them only if they were not replaced meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    if (this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  /** The snapshot at `index` reached storage. */
  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  /** Replaces everything with an incoming snapshot. */
  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends entries, first dropping any unstable entries at or after the first new index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const e of entries) this.entries.push(e);
    } else if (after <= this.offset) {
      // The new entries replace all unstable ones (and possibly some stable ones, which storage will overwrite).
      this.offset = after;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset);
      for (const e of entries) this.entries.push(e);
    }
  }

  /** Unstable entries in [lo, hi). */
  slice(lo: number, hi: number): Entry[] {
    invariant(lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi, () =>
      `unstable slice [${lo}, ${hi}) outside [${this.offset}, ${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
