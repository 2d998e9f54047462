/**
 * Typed reads of a loaded configuration. A missing key or a value of the wrong shape is a programming error
 * (the flag table decides both), so these throw an invariant error instead of returning undefined.
 */
import type { FlagValue } from "./flags.js";

type Values = Readonly<Record<string, FlagValue>>;

function read(values: Values, key: string): FlagValue {
  const value = values[key];
  if (value === undefined) throw new Error(`invariant: configuration has no key "${key}"`);
  return value;
}

function wrongShape(key: string, value: FlagValue, expected: string): Error {
  return new Error(`invariant: configuration key "${key}" holds ${JSON.stringify(value)}, expected ${expected}`);
}

/** A `string` flag. */
export function stringValue(values: Values, key: string): string {
  const value = read(values, key);
  if (typeof value !== "string") throw wrongShape(key, value, "a string");
  return value;
}

/** A `bool` flag. */
export function boolValue(values: Values, key: string): boolean {
  const value = read(values, key);
  if (typeof value !== "boolean") throw wrongShape(key, value, "a boolean");
  return value;
}

/** An integer, size or duration (milliseconds) flag. */
export function numberValue(values: Values, key: string): number {
  const value = read(values, key);
  if (typeof value !== "number") throw wrongShape(key, value, "a number");
  return value;
}

/** A `stringList` flag. */
export function listValue(values: Values, key: string): readonly string[] {
  const value = read(values, key);
  if (!Array.isArray(value)) throw wrongShape(key, value, "a list");
  return value as readonly string[];
}

/** A `map` flag: node id (decimal string) → address. */
export function mapValue(values: Values, key: string): Readonly<Record<string, string>> {
  const value = read(values, key);
  if (typeof value !== "object" || Array.isArray(value)) throw wrongShape(key, value, "a map");
  return value as Readonly<Record<string, string>>;
}
