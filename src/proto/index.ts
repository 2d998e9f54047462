/**
 * The wire types of Armada, generated from proto/ by scripts/gen-proto.mjs (protobufjs).
 *
 * All messages live once in package armada.v1; the Regatta-named services use the same bytes.
 * 64-bit integer fields decode to `Long`; use {@link toNumber} / {@link toBigInt} at the edges.
 */
import Long from "long";
import { armada } from "./gen/armada.js";

export const pb = armada.v1;
export { armada };
export { Long };

/** Converts a decoded 64-bit protobuf value to a JavaScript number, refusing values that would lose precision. */
export function toNumber(value: Long | number | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return value;
  const long = typeof value === "string" ? Long.fromString(value) : value;
  const asNumber = long.toNumber();
  if (!Number.isSafeInteger(asNumber)) {
    throw new RangeError(`integer ${long.toString()} exceeds the safe range of this implementation (2^53-1)`);
  }
  return asNumber;
}

/** Converts a decoded 64-bit protobuf value to a bigint without loss. */
export function toBigInt(value: Long | number | string | null | undefined): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === "number") return BigInt(value);
  return BigInt(typeof value === "string" ? value : value.toString());
}
