/**
 * IterateRange (spec §4.3): a point-in-time stream of range responses, produced lazily.
 */
import { StateMachineClosedError } from "./errors.js";
import { selectKeys } from "./keys.js";
import { RangeCursor, collected, emptyResult, lookupSingle, resultTo, type ChunkSummary, type EntrySink, type RangeQuery, type RangeResult } from "./range.js";
import type { ReadSnapshot } from "./store.js";
import { TableReader } from "./view.js";

/** A lazy iterator of responses over one consistent view; {@link close} releases the view early. */
export interface RangeIterator extends IterableIterator<RangeResult> {
  /**
   * The next response with its entries handed to `sink` as they are read (nothing is kept of them);
   * undefined when the stream has ended. The same responses as {@link next}.
   */
  nextTo(sink: EntrySink): ChunkSummary | undefined;
  /** Stops the stream and releases its read transaction (idempotent). */
  close(): void;
}

/**
 * Iterates responses for `query` over `snapshot`, which it owns and releases when the stream ends or is
 * closed. Every response but the last has `more = true`; a selection matching nothing yields exactly one
 * empty response; a single-key or count_only query yields exactly one response.
 */
export class SnapshotRangeIterator implements RangeIterator {
  readonly #snapshot: ReadSnapshot;
  readonly #onDone: (iterator: SnapshotRangeIterator) => void;
  #cursor: RangeCursor | null = null;
  /** The only response of a single-key or empty selection, computed up front. */
  #single: RangeResult | null = null;
  #done = false;
  #revoked = false;

  constructor(snapshot: ReadSnapshot, query: RangeQuery, onDone: (iterator: SnapshotRangeIterator) => void) {
    this.#snapshot = snapshot;
    this.#onDone = onDone;
    const reader = new TableReader(snapshot.data, snapshot.txn);
    try {
      const selection = selectKeys(query.key, query.rangeEnd);
      if (selection.kind === "range") this.#cursor = new RangeCursor(reader, selection.start, selection.end, query);
      else this.#single = selection.kind === "single" ? lookupSingle(reader, query) : emptyResult();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<RangeResult, undefined> {
    const value = collected((sink) => this.nextTo(sink));
    return value === undefined ? { done: true, value: undefined } : { done: false, value };
  }

  nextTo(sink: EntrySink): ChunkSummary | undefined {
    if (this.#revoked) throw new StateMachineClosedError("state machine closed while a range stream was open");
    if (this.#done) return undefined;
    if (this.#single !== null) {
      const single = this.#single;
      this.close();
      return resultTo(single, sink);
    }
    const cursor = this.#cursor!;
    let summary: ChunkSummary;
    try {
      summary = cursor.nextChunkTo(sink);
    } catch (error) {
      this.close();
      throw error;
    }
    if (cursor.finished) this.close();
    return summary;
  }

  return(): IteratorResult<RangeResult, undefined> {
    this.close();
    return { done: true, value: undefined };
  }

  close(): void {
    this.#single = null;
    this.#done = true;
    this.#release();
  }

  /** Called by the owner on shutdown: a later next() fails instead of silently ending a stream early. */
  revoke(): void {
    if (!this.#done) this.#revoked = true;
    this.close();
  }

  /** Releases the view (idempotent). */
  #release(): void {
    this.#cursor?.close();
    this.#cursor = null;
    this.#snapshot.release();
    this.#onDone(this);
  }
}
