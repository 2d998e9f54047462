/**
 * Range reads (spec §4.2.3, §4.2.4): single-key lookups and budgeted, limited scans that can be cut into
 * several responses (IterateRange, §4.3).
 */
import { RESPONSE_SIZE_BUDGET } from "./constants.js";
import { copyToPool } from "./bytes.js";
import { selectKeys } from "./keys.js";
import { readingLentValues } from "./store.js";
import { keyValueFieldSize, toKeyValue, type TableKeyValue } from "./response-size.js";
import type { Entry, TableReader } from "./view.js";

/** A range request as the state machine sees it (validation belongs to the API layer). */
export interface RangeQuery {
  key: Uint8Array;
  /** Absent or empty: single-key lookup; `[0x00]`: no upper bound. */
  rangeEnd?: Uint8Array | null;
  /** Maximum number of entries (0 or absent = no limit; negative is treated as no limit, like the reference). */
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
}

/** One response's worth of results. `count` is the number of entries in `kvs`, or the match count for count_only. */
export interface RangeResult {
  kvs: TableKeyValue[];
  count: number;
  more: boolean;
}

/**
 * Takes a response's entries one by one as they are read, for a caller that serializes them at once
 * instead of keeping an array of them (IterateRange). `value` is undefined for keys_only. The value is lent
 * (store.ts, readingLentValues): it is valid during the call only.
 */
export interface EntrySink {
  entry(key: Uint8Array, value: Uint8Array | undefined): void;
}

/** What a response holds besides its entries: as {@link RangeResult}. */
export interface ChunkSummary {
  count: number;
  more: boolean;
}

/**
 * The response `read` hands to its sink, kept as a RangeResult (each lent value copied); undefined when
 * `read` has no response to give.
 */
export function collected(read: (sink: EntrySink) => ChunkSummary | undefined): RangeResult | undefined {
  const kvs: TableKeyValue[] = [];
  const summary = read({ entry: (key, value) => kvs.push(toKeyValue(key, value && copyToPool(value, value.length))) });
  return summary === undefined ? undefined : { kvs, count: summary.count, more: summary.more };
}

/** How entries are reported. The reference gives keys_only precedence when both flags are set on a scan. */
type ScanMode = "full" | "keys" | "count";

const EMPTY_VALUE = new Uint8Array(0);

/** The result of a selection that matches nothing. */
export function emptyResult(): RangeResult {
  return { kvs: [], count: 0, more: false };
}

/** Evaluates `query` against `reader` and returns the first (or only) response. */
export function readRange(reader: TableReader, query: RangeQuery): RangeResult {
  return collected((sink) => readRangeTo(reader, query, sink))!;
}

/**
 * {@link readRange}, with the response's entries handed to `sink` as they are read, values lent (valid
 * during the call only): for a caller that serializes them at once.
 */
export function readRangeTo(reader: TableReader, query: RangeQuery, sink: EntrySink): ChunkSummary {
  const selection = selectKeys(query.key, query.rangeEnd);
  if (selection.kind === "single") return resultTo(lookupSingle(reader, query, true), sink);
  if (selection.kind === "empty") return resultTo(emptyResult(), sink);
  const cursor = new RangeCursor(reader, selection.start, selection.end, query);
  try {
    return cursor.nextChunkTo(sink);
  } finally {
    cursor.close();
  }
}

/** Hands a computed response's entries to `sink`; returns the rest of it. */
export function resultTo(result: RangeResult, sink: EntrySink): ChunkSummary {
  for (const kv of result.kvs) sink.entry(kv.key, kv.value);
  return { count: result.count, more: result.more };
}

/** Single-key lookup with a point get: `count` 1 or 0, never `more`; `limit` is irrelevant. */
export function lookupSingle(reader: TableReader, query: RangeQuery, lent = false): RangeResult {
  return singleKeyResult(query.key, lent ? reader.getLent(query.key) : reader.get(query.key), !!query.keysOnly, !!query.countOnly);
}

/** The response to a single-key lookup of `key`, whose value is `value` (undefined: absent). */
export function singleKeyResult(key: Uint8Array, value: Uint8Array | undefined, keysOnly: boolean, countOnly: boolean): RangeResult {
  if (value === undefined) return emptyResult();
  // As in the reference: count_only wins over keys_only for single keys (no kvs at all).
  if (countOnly) return { kvs: [], count: 1, more: false };
  return { kvs: [toKeyValue(key, keysOnly ? undefined : value)], count: 1, more: false };
}

/**
 * A lazy scan of `[start, end)` cut into responses by the size budget; the limit spans all responses.
 * Holds one look-ahead entry, so `more` is exact ([FIX]: true iff a further matching key exists).
 */
export class RangeCursor {
  readonly #entries: Iterator<Entry, void, undefined>;
  readonly #mode: ScanMode;
  readonly #limit: number;
  #lookahead: Entry | undefined;
  #returned = 0;
  #finished = false;

  constructor(reader: TableReader, start: Uint8Array, end: Uint8Array | null, query: RangeQuery) {
    this.#mode = query.keysOnly ? "keys" : query.countOnly ? "count" : "full";
    this.#limit = Math.max(0, query.limit ?? 0);
    this.#entries =
      this.#mode === "full" ? reader.scan(start, end) : mapKeys(reader.scanKeys(start, end));
  }

  /** Whether every response has been produced. */
  get finished(): boolean {
    return this.#finished;
  }

  /**
   * Produces the next response, handing its entries to `sink` as they are read (values lent); a finished
   * cursor yields empty ones.
   */
  nextChunkTo(sink: EntrySink): ChunkSummary {
    return this.#mode === "count" ? this.#countChunk() : readingLentValues(() => this.#listChunk(sink));
  }

  /** Releases the underlying LMDB cursor. */
  close(): void {
    this.#finished = true;
    this.#entries.return?.();
  }

  #listChunk(sink: EntrySink): ChunkSummary {
    let taken = 0;
    let encodedSize = 0;
    for (;;) {
      if (this.#finished || this.#peek() === undefined) return this.#finish(taken, false);
      if (this.#limitReached()) return this.#finish(taken, true);
      const entry = this.#peek()!;
      const value = this.#mode === "full" ? entry.value : EMPTY_VALUE;
      // The first entry of a response is always taken so that a response can never be empty while
      // entries remain (valid entries are far below the budget; this only guards progress).
      if (taken > 0 && encodedSize + entry.key.length + value.length >= RESPONSE_SIZE_BUDGET) {
        // The entry waits for the next response, after other reads: its lent value is copied.
        this.#lookahead = { key: entry.key, value: copyToPool(entry.value, entry.value.length) };
        return { count: taken, more: true };
      }
      this.#take();
      sink.entry(entry.key, this.#mode === "full" ? value : undefined);
      taken++;
      encodedSize += keyValueFieldSize(entry.key.length, value.length);
    }
  }

  /** count_only: counts matches up to the limit; no size budget applies. */
  #countChunk(): ChunkSummary {
    let count = 0;
    for (;;) {
      if (this.#finished || this.#peek() === undefined) return this.#finish(count, false);
      if (this.#limitReached()) return this.#finish(count, true);
      this.#take();
      count++;
    }
  }

  #limitReached(): boolean {
    return this.#limit > 0 && this.#returned === this.#limit;
  }

  #peek(): Entry | undefined {
    if (this.#lookahead === undefined && !this.#finished) {
      const next = this.#entries.next();
      this.#lookahead = next.done ? undefined : next.value;
    }
    return this.#lookahead;
  }

  #take(): void {
    this.#lookahead = undefined;
    this.#returned++;
  }

  #finish(count: number, more: boolean): ChunkSummary {
    this.close();
    return { count, more };
  }
}

function* mapKeys(keys: Iterator<Uint8Array, void, undefined>): Generator<Entry, void, undefined> {
  try {
    for (let next = keys.next(); !next.done; next = keys.next()) yield { key: next.value, value: EMPTY_VALUE };
  } finally {
    keys.return?.();
  }
}
