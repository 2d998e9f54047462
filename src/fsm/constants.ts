/**
 * Limits and layout constants of the table state machine, in one place (spec §5.3, §8.4).
 */

/** Longest key accepted by the API (bytes). */
export const KEY_SIZE_MAX = 1024;
/** Longest value accepted by the API (bytes). */
export const VALUE_SIZE_MAX = 2_097_152;
/**
 * Response size budget (4 MiB − 1 KiB): an entry is not appended when the encoded size of the response so
 * far plus the entry's cost reaches this value (spec §4.2.4).
 */
export const RESPONSE_SIZE_BUDGET = 4_193_280;

/**
 * Longest key LMDB (as built by lmdb-js) stores. User keys are stored behind a one-byte prefix, so the
 * longest storable user key is one byte shorter. Longer keys can only arrive through replicated TXN
 * commands that the reference never validated; they are a fatal apply error (see errors.ts).
 */
export const LMDB_KEY_BYTES_MAX = 1978;
/** Prefix byte of every stored user key: LMDB refuses empty keys, and a replicated command may carry one. */
export const USER_KEY_PREFIX = 0x01;
/** First stored-key byte above every user key: the exclusive upper bound of "no upper bound". */
export const USER_KEY_PREFIX_END = USER_KEY_PREFIX + 1;
/** Longest user key that fits behind the prefix. */
export const STORED_USER_KEY_BYTES_MAX = LMDB_KEY_BYTES_MAX - 1;

/** Keys removed per scan while deleting a range, bounding memory for huge ranges. */
export const RANGE_DELETE_BATCH_KEYS = 1024;
/** Record bytes written per LMDB transaction while recovering from a snapshot, bounding memory. */
export const RECOVERY_TXN_BYTES_MAX = 4 * 1024 * 1024;
/** Snapshot chunks yielded by {@link TableStateMachine.snapshot} are at most this large (spec §9.4: ≤ 1 MiB). */
export const SNAPSHOT_YIELD_BYTES_MAX = 1_048_576;
/** Nesting depth of SEQUENCE commands accepted before the command is declared malformed. */
export const SEQUENCE_DEPTH_MAX = 8;
/** LMDB reader slots: every open IterateRange stream or snapshot may pin one. */
export const LMDB_MAX_READERS = 1024;
