/**
 * Byte-string helpers: unsigned lexicographic order and the 8-byte little-endian integers of system values.
 */

const EMPTY = new Uint8Array(0);
const U64_BYTES = 8;

/** Unsigned lexicographic comparison; a proper prefix sorts first. Returns <0, 0 or >0. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(asBuffer(a), asBuffer(b));
}

/** A Buffer view of `bytes` (no copy), for Node's fast comparison. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** `bytes`, or an empty array for null/undefined (protobuf leaves unset bytes fields undefined or null). */
export function bytesOrEmpty(bytes: Uint8Array | null | undefined): Uint8Array {
  return bytes ?? EMPTY;
}

/** Encodes a safe non-negative integer as 8 bytes, little-endian (the reference's system-value layout). */
export function encodeU64(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a storable index: ${value}`);
  const out = Buffer.alloc(U64_BYTES);
  out.writeBigUInt64LE(BigInt(value));
  return out;
}

/** Decodes an 8-byte little-endian integer; absent means 0. */
export function decodeU64(bytes: Uint8Array | undefined): number {
  if (bytes === undefined) return 0;
  if (bytes.length !== U64_BYTES) throw new RangeError(`system value has ${bytes.length} bytes, expected ${U64_BYTES}`);
  const value = Number(asBuffer(bytes).readBigUInt64LE(0));
  if (!Number.isSafeInteger(value)) throw new RangeError(`stored index exceeds 2^53-1`);
  return value;
}

/**
 * A copy of the first `length` bytes of `source`. Below 4 KiB it lands in Node's buffer pool, a slice of a
 * shared ArrayBuffer, instead of in an ArrayBuffer of its own (see store.ts, DATA_DB_OPTIONS).
 */
export function copyToPool(source: Uint8Array, length: number): Buffer {
  const copy = Buffer.allocUnsafe(length);
  // A view bounded by `length`: `set` reads the array's real length, which can exceed `length` here.
  copy.set(source.subarray(0, length));
  return copy;
}
