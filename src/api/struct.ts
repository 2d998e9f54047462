/**
 * Conversion of plain JavaScript values to google.protobuf.Struct messages (for Cluster/Status config).
 */
import type { google } from "../proto/gen/armada.js";

type StructValue = google.protobuf.IValue;

/** Converts a JSON-like value to a protobuf Value. */
export function toProtobufValue(value: unknown): StructValue {
  if (value === null || value === undefined) return { nullValue: 0 };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return { numberValue: value };
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "bigint") return { stringValue: value.toString() };
  if (Array.isArray(value)) return { listValue: { values: value.map(toProtobufValue) } };
  if (typeof value === "object") return { structValue: toProtobufStruct(value as Record<string, unknown>) };
  return { stringValue: String(value) };
}

/** Converts a JSON-like object to a protobuf Struct. */
export function toProtobufStruct(object: Record<string, unknown>): google.protobuf.IStruct {
  const fields: Record<string, StructValue> = {};
  for (const [key, value] of Object.entries(object)) fields[key] = toProtobufValue(value);
  return { fields };
}
