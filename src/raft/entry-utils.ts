import { ENTRY_OVERHEAD_BYTES } from './limits.js';
import type { Entry } from './types.js';

/** Bytes an entry counts for when limiting message, Ready and uncommitted sizes. */
export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** Sum of the application payload of entries: the unit of the uncommitted-bytes limit. */
export function payloadBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += e.data.byteLength;
  return total;
}

/**
 * The longest prefix of `entries` whose total size is at most `maxBytes`, but never empty when
 * `entries` is not: a single oversized entry must still be able to move.
 */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entryBytes(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entryBytes(entries[n]!);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/** An empty configuration, used before bootstrap and by joining nodes. */
export const EMPTY_CONF_STATE = Object.freeze({ voters: Object.freeze([] as number[]), learners: Object.freeze([] as number[]) });

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A compact string key for a byte array (used to index pending reads by their context). */
export function bytesKey(bytes: Uint8Array): string {
  let key = '';
  for (let i = 0; i < bytes.byteLength; i++) key += String.fromCharCode(bytes[i]!);
  return key;
}
