/**
 * Key selection (spec §4.2.2) and the mapping between user keys and stored LMDB keys.
 */
import { compareBytes } from "./bytes.js";
import { LMDB_KEY_BYTES_MAX, STORED_USER_KEY_BYTES_MAX, USER_KEY_PREFIX, USER_KEY_PREFIX_END } from "./constants.js";

/** Which keys a request names. `end: null` means no upper bound. */
export type KeySelection =
  | { kind: "single"; key: Uint8Array }
  | { kind: "range"; start: Uint8Array; end: Uint8Array | null }
  | { kind: "empty" };

/** The one-byte `range_end` that means "no upper bound". */
const UNBOUNDED_END = 0x00;
const PREFIX_ONLY = Buffer.of(USER_KEY_PREFIX);
const ALL_USER_KEYS_END = Buffer.of(USER_KEY_PREFIX_END);

/** Whether a request with this `range_end` names one key (absent or empty: see {@link selectKeys}). */
export function namesOneKey(rangeEnd: Uint8Array | null | undefined): rangeEnd is null | undefined {
  return rangeEnd === null || rangeEnd === undefined || rangeEnd.length === 0;
}

/**
 * Interprets `key` and `range_end`: absent or empty `range_end` → that one key ([FIX]: present-but-empty is
 * the same as absent); exactly `0x00` → every key ≥ `key` ([FIX]: truly unbounded); otherwise the half-open
 * interval `[key, range_end)`, empty when `range_end ≤ key`.
 */
export function selectKeys(key: Uint8Array, rangeEnd: Uint8Array | null | undefined): KeySelection {
  if (namesOneKey(rangeEnd)) return { kind: "single", key };
  if (rangeEnd.length === 1 && rangeEnd[0] === UNBOUNDED_END) return { kind: "range", start: key, end: null };
  if (compareBytes(rangeEnd, key) <= 0) return { kind: "empty" };
  return { kind: "range", start: key, end: rangeEnd };
}

/** The stored form of a user key, or null when it is too long to exist in storage. */
export function toStoredKey(userKey: Uint8Array): Buffer | null {
  if (userKey.length > STORED_USER_KEY_BYTES_MAX) return null;
  const stored = Buffer.allocUnsafe(userKey.length + 1);
  stored[0] = USER_KEY_PREFIX;
  stored.set(userKey, 1);
  return stored;
}

/**
 * The user key of a stored key, copied. Not a view: lmdb-js returns short keys as typed arrays whose bytes
 * live inside V8's heap, and taking a view of one (`subarray`) makes V8 first move those bytes out into a
 * new ArrayBuffer. That cost more than the whole cursor step: 3.9 µs against 3.2 µs per entry of a scan
 * (docs/performance.md, change 30). A short copy loop into Node's buffer pool costs next to nothing.
 */
export function fromStoredKey(stored: Uint8Array): Uint8Array {
  const length = stored.length - 1;
  const key = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) key[i] = stored[i + 1]!;
  return key;
}

/**
 * LMDB bounds for the user-key interval `[start, end)`, plus whether the scan must still check a bound
 * itself. LMDB refuses over-long bound keys, so such a bound is clamped to something LMDB accepts that
 * selects a superset, and the exact comparison is done on each visited key.
 */
export interface StoredBounds {
  start: Buffer;
  end: Buffer;
  checkStart: boolean;
  checkEnd: boolean;
}

/** Computes the LMDB scan bounds for `[start, end)` (end null = unbounded). */
export function storedBounds(start: Uint8Array, end: Uint8Array | null): StoredBounds {
  const storedStart = toStoredKey(start);
  const storedEnd = end === null ? ALL_USER_KEYS_END : toStoredKey(end);
  return {
    // A truncated start sorts at or before the real one, so the scan starts early and skips the difference.
    start: storedStart ?? Buffer.concat([PREFIX_ONLY, start.subarray(0, LMDB_KEY_BYTES_MAX - 1)]),
    checkStart: storedStart === null,
    // An over-long end is enforced by comparison only; LMDB scans up to the end of the user keys.
    end: storedEnd ?? ALL_USER_KEYS_END,
    checkEnd: storedEnd === null,
  };
}
