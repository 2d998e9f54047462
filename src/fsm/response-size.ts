/**
 * Arithmetic protobuf sizes of response entries, for the response size budget (spec §4.2.4).
 * Computing sizes instead of encoding keeps budget checks O(1) per entry.
 */

const VARINT_PAYLOAD_BITS = 128;
/** Every field involved (KeyValue.key/value, the repeated kvs/prev_kvs fields) has a number ≤ 15: 1-byte tag. */
const TAG_BYTES = 1;

/** Bytes of `value` as a protobuf varint. */
export function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= VARINT_PAYLOAD_BITS; rest = Math.floor(rest / VARINT_PAYLOAD_BITS)) size++;
  return size;
}

/** Bytes of a proto3 `bytes` field of `length` bytes (absent, hence 0, when empty). */
function bytesFieldSize(length: number): number {
  return length === 0 ? 0 : TAG_BYTES + varintSize(length) + length;
}

/** Encoded bytes one KeyValue adds to a repeated KeyValue field (tag, length prefix and body). */
export function keyValueFieldSize(keyLength: number, valueLength: number): number {
  const body = bytesFieldSize(keyLength) + bytesFieldSize(valueLength);
  return TAG_BYTES + varintSize(body) + body;
}

/**
 * A KeyValue as a table answers it: only the key and, when wanted and not empty, the value. Revisions are
 * never set (spec §5.2), which is what lets api/range-response.ts encode these without protobufjs.
 */
export interface TableKeyValue {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
}

/** A response KeyValue: the value is omitted when not wanted or empty; revisions are never set (spec §5.2). */
export function toKeyValue(key: Uint8Array, value: Uint8Array | undefined): TableKeyValue {
  return value === undefined || value.length === 0 ? { key } : { key, value };
}
