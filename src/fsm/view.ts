/**
 * Reading and writing user keys of one data slot, through a pinned read transaction or inside the
 * current write transaction.
 */
import type { Transaction } from "lmdb";
import { compareBytes } from "./bytes.js";
import { STORED_USER_KEY_BYTES_MAX } from "./constants.js";
import { StorageKeyTooLargeError } from "./errors.js";
import { fromStoredKey, storedBounds, toStoredKey } from "./keys.js";
import type { BinaryDb } from "./store.js";

/** A user key and its value. */
export interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * Reads one data slot. With a transaction, every read sees that transaction's point in time; without one
 * it sees the latest committed state, or, inside a write transaction callback, that transaction's writes.
 */
export class TableReader {
  readonly #db: BinaryDb;
  readonly #txn: Transaction | undefined;

  constructor(db: BinaryDb, txn?: Transaction) {
    this.#db = db;
    this.#txn = txn;
  }

  protected get db(): BinaryDb {
    return this.#db;
  }

  /** The value of `key`, or undefined when absent. A point lookup, no iterator. */
  get(key: Uint8Array): Uint8Array | undefined {
    const stored = toStoredKey(key);
    if (stored === null) return undefined;
    return this.#txn === undefined ? this.#db.get(stored) : this.#db.get(stored, { transaction: this.#txn });
  }

  /**
   * Like {@link get}, without copying the value: it is a view of LMDB's reusable read buffer, which the
   * next read of any table on this thread overwrites. For callers that are done with it before then.
   */
  getLent(key: Uint8Array): Uint8Array | undefined {
    // lmdb-js offers the lent read only on the latest state; a pinned view copies.
    if (this.#txn !== undefined) return this.get(key);
    const stored = toStoredKey(key);
    if (stored === null) return undefined;
    const value = this.#db.getBinaryFast(stored);
    // The reusable buffer is larger than the value; its `length` alone says where the value ends.
    return value === undefined ? undefined : value.subarray(0, value.length);
  }

  /** Entries with `start ≤ key < end` (end null = unbounded) in ascending order, read lazily. */
  *scan(start: Uint8Array, end: Uint8Array | null): Generator<Entry, void, undefined> {
    const bounds = storedBounds(start, end);
    const range = this.#db.getRange({ start: bounds.start, end: bounds.end, ...this.#txnOption() });
    for (const { key: stored, value } of range) {
      const key = fromStoredKey(stored);
      if (bounds.checkStart && compareBytes(key, start) < 0) continue;
      if (bounds.checkEnd && compareBytes(key, end!) >= 0) return;
      yield { key, value };
    }
  }

  /** Keys with `start ≤ key < end` in ascending order, without reading values. */
  *scanKeys(start: Uint8Array, end: Uint8Array | null): Generator<Uint8Array, void, undefined> {
    const bounds = storedBounds(start, end);
    const keys = this.#db.getKeys({ start: bounds.start, end: bounds.end, ...this.#txnOption() });
    for (const stored of keys) {
      const key = fromStoredKey(stored as Uint8Array);
      if (bounds.checkStart && compareBytes(key, start) < 0) continue;
      if (bounds.checkEnd && compareBytes(key, end!) >= 0) return;
      yield key;
    }
  }

  #txnOption(): { transaction?: Transaction } {
    return this.#txn === undefined ? {} : { transaction: this.#txn };
  }
}

/** Reads and writes one data slot; only valid inside a write transaction callback. */
export class TableWriter extends TableReader {
  /** Stores `value` under `key`; throws {@link StorageKeyTooLargeError} for keys LMDB cannot hold. */
  put(key: Uint8Array, value: Uint8Array): void {
    const stored = toStoredKey(key);
    if (stored === null) throw new StorageKeyTooLargeError(key.length, STORED_USER_KEY_BYTES_MAX);
    this.db.putSync(stored, value);
  }

  /** Removes `key`; returns whether it existed. A key too long to store cannot exist. */
  remove(key: Uint8Array): boolean {
    const stored = toStoredKey(key);
    return stored === null ? false : this.db.removeSync(stored);
  }
}
