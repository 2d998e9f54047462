/**
 * The LMDB environment of one table replica: two data slots and a system database.
 *
 * Layout: user data lives in one of two named databases ("data-0", "data-1"); the system database holds
 * the applied `index`, the `leader_index` and which data slot is active, each written in the same LMDB
 * transaction as the data it describes. Snapshot recovery fills the inactive slot and flips the pointer in
 * one transaction, so readers see the old or the new contents, never a mix.
 */
import { mkdirSync } from "node:fs";
import { open, type Database, type RootDatabase, type Transaction } from "lmdb";
import { copyToPool, decodeU64, encodeU64 } from "./bytes.js";
import { LMDB_MAX_READERS } from "./constants.js";

/** A binary-keyed, binary-valued LMDB database. */
export type BinaryDb = Database<Uint8Array, Uint8Array>;
/** Index of a data slot. */
export type SlotId = 0 | 1;

const DB_OPTIONS = { keyEncoding: "binary", encoding: "binary", compression: false, cache: false } as const;
/**
 * The data slots' values are read into Node's buffer pool instead of each into an ArrayBuffer of its own.
 * lmdb-js's binary encoding slices every value it reads into a new ArrayBuffer, which V8 allocates outside
 * its heap: on a scan of 100 keys those allocations took 43% of the server's CPU (docs/performance.md,
 * change 31). A decoder of its own makes lmdb-js hand over its reusable read buffer, to be copied here.
 * Values are written as they are given: the bytes on disk do not change.
 */
const DATA_DB_OPTIONS = {
  ...DB_OPTIONS,
  encoder: {
    encode: (value: Uint8Array): Uint8Array => value,
    // lmdb-js sets `length` of its reusable buffer to the value's size (and passes other arguments that
    // are not needed here).
    decode: (bytes: Uint8Array): Uint8Array => (valuesLent ? bytes.subarray(0, bytes.length) : copyToPool(bytes, bytes.length)),
  },
} as const;
/** Set while {@link readingLentValues} runs. */
let valuesLent = false;

/**
 * Runs `read` with every value read from a data slot lent instead of copied: a view of lmdb-js's reusable
 * read buffer, which the next read on this thread overwrites. For a scan that serializes each entry before
 * it reads the next (IterateRange): a copy per value, and the garbage of it, saved. `read` must not keep a
 * value past the next read without copying it.
 */
export function readingLentValues<T>(read: () => T): T {
  valuesLent = true;
  try {
    return read();
  } finally {
    valuesLent = false;
  }
}
const SLOT_NAMES = ["data-0", "data-1"] as const;
const SYSTEM_DB_NAME = "sys";
/** Named databases in the environment: two slots and the system database. */
const DATABASE_COUNT = 3;
const SYSTEM_KEY = {
  index: Buffer.from("index"),
  leaderIndex: Buffer.from("leader_index"),
  slot: Buffer.from("data_slot"),
} as const;

/** lmdb-js's environment sync (mdb_env_sync, forced), which its type declarations leave out. */
interface SyncableEnv {
  sync(callback: (error?: unknown) => void): void;
}

/** The system values of one consistent view. */
export interface SystemValues {
  index: number;
  leaderIndex: number;
  slot: SlotId;
}

/** A read transaction pinned to one point in time, with the data slot that was active in it. */
export interface ReadSnapshot {
  readonly txn: Transaction;
  readonly data: BinaryDb;
  readonly system: SystemValues;
  /** Releases the read transaction (idempotent). */
  release(): void;
}

/** Owns the LMDB environment of a table. Not thread-safe for writers: callers serialise writes. */
export class TableStore {
  readonly #env: RootDatabase<Uint8Array, Uint8Array>;
  readonly #system: BinaryDb;
  readonly #slots: readonly [BinaryDb, BinaryDb];

  private constructor(env: RootDatabase<Uint8Array, Uint8Array>) {
    this.#env = env;
    this.#system = env.openDB({ name: SYSTEM_DB_NAME, ...DB_OPTIONS });
    this.#slots = [env.openDB({ name: SLOT_NAMES[0], ...DATA_DB_OPTIONS }), env.openDB({ name: SLOT_NAMES[1], ...DATA_DB_OPTIONS })];
  }

  /**
   * Opens (creating if needed) the environment in `dir`. `overlappingSync: false` makes every commit
   * fdatasync its data pages before its promise resolves (lmdb-js's default resolves once committed but
   * possibly not yet on disk). `noMetaSync` leaves out the second fdatasync of each commit, the one of
   * its meta page: that page reaches the disk with the next commit's sync or with {@link sync}.
   *
   * So an operating-system crash or power loss may undo the last commit (never more, and never leaving a
   * broken database: the previous meta page and the pages it points to are synced and LMDB does not reuse
   * them); a killed process loses nothing, the page cache keeps the write. What an undone commit applied
   * is still in the Raft log, which replays it, because nothing lets the log forget entries before
   * {@link sync} made the state covering them durable (see TableStateMachine.flush).
   */
  static open(dir: string): TableStore {
    mkdirSync(dir, { recursive: true });
    const env = open<Uint8Array, Uint8Array>({
      path: dir,
      maxDbs: DATABASE_COUNT,
      maxReaders: LMDB_MAX_READERS,
      overlappingSync: false,
      noSync: false,
      noMetaSync: true,
      ...DB_OPTIONS,
    });
    return new TableStore(env);
  }

  /** The data database of `slot`. */
  slot(slot: SlotId): BinaryDb {
    return this.#slots[slot];
  }

  /** Reads the system values from the latest committed state, or through `txn`. */
  readSystem(txn?: Transaction): SystemValues {
    const options = txn === undefined ? undefined : { transaction: txn };
    const slot = decodeU64(this.#system.get(SYSTEM_KEY.slot, options));
    return {
      index: decodeU64(this.#system.get(SYSTEM_KEY.index, options)),
      leaderIndex: decodeU64(this.#system.get(SYSTEM_KEY.leaderIndex, options)),
      slot: slot === 1 ? 1 : 0,
    };
  }

  /** Writes system values; only valid inside {@link write} or {@link writeUnguarded}. */
  putSystem(values: Partial<SystemValues>): void {
    if (values.index !== undefined) this.#system.putSync(SYSTEM_KEY.index, encodeU64(values.index));
    if (values.leaderIndex !== undefined) this.#system.putSync(SYSTEM_KEY.leaderIndex, encodeU64(values.leaderIndex));
    if (values.slot !== undefined) this.#system.putSync(SYSTEM_KEY.slot, encodeU64(values.slot));
  }

  /** Opens a read transaction pinned to the latest committed state. Callers must release it. */
  beginRead(): ReadSnapshot {
    const txn = this.#env.useReadTransaction();
    let released = false;
    try {
      const system = this.readSystem(txn);
      return {
        txn,
        system,
        data: this.#slots[system.slot],
        release: () => {
          if (released) return;
          released = true;
          txn.done();
        },
      };
    } catch (error) {
      txn.done();
      throw error;
    }
  }

  /**
   * Runs `work` inside one write transaction and resolves after the commit is durable. If `work` throws,
   * nothing it wrote is committed: the work runs in a child transaction, which lmdb-js aborts on a throw
   * (an error thrown directly in an asynchronous transaction callback would still commit earlier writes).
   */
  async write<T>(work: () => T): Promise<T> {
    return this.#env.transaction(() => this.#env.transactionSync(work));
  }

  /**
   * Runs `work` in one write transaction without the abort guarantee of {@link write}: for bulk loading
   * into an inactive slot, where a partial write is harmless because nothing points at it yet.
   */
  async writeUnguarded<T>(work: () => T): Promise<T> {
    return this.#env.transaction(work);
  }

  /** Makes every commit so far durable, meta page included (one fdatasync, on lmdb-js's thread). */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      (this.#env as unknown as SyncableEnv).sync((error?: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()));
    });
  }

  /** Removes every entry of a data slot (readers pinned to older snapshots still see their contents). */
  async clearSlot(slot: SlotId): Promise<void> {
    await this.#slots[slot].clearAsync();
  }

  /** Synchronous {@link clearSlot}, for use while opening. */
  clearSlotSync(slot: SlotId): void {
    this.#slots[slot].clearSync();
  }

  /** Whether a data slot holds no entry. */
  isSlotEmpty(slot: SlotId): boolean {
    for (const _ of this.#slots[slot].getKeys({ limit: 1 })) return false;
    return true;
  }

  /** Closes the environment. */
  async close(): Promise<void> {
    await this.#env.close();
  }
}
