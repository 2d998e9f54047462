/**
 * Turns one raw setting (a flag's text, an environment variable, or a config-file value) into the typed value
 * of its flag. Reasons are returned as {@link ValueError}s; the caller adds where the value came from.
 */
import { parseDuration } from "./duration.js";
import type { FlagSpec, FlagValue } from "./flags.js";

const UINT32_MAX = 4_294_967_295;

/** A value that does not fit its flag's type; `message` says why, without naming the source. */
export class ValueError extends Error {
  override readonly name = "ValueError";
}

/**
 * A malformed node-id map. The reference reports these as `failed to parse <flag>: <detail>` whatever the source,
 * and so does Armada.
 */
export class MapParseError extends Error {
  override readonly name = "MapParseError";
}

/** Parses text from argv or the environment. */
export function parseText(spec: FlagSpec, text: string): FlagValue {
  switch (spec.type) {
    case "string":
      return text;
    case "bool":
      return parseBool(text);
    case "int":
    case "uint":
    case "uint64":
    case "size":
      return parseInteger(spec, text);
    case "duration":
      return parseNonNegativeDuration(text);
    case "stringList":
      return splitList(text);
    case "map":
      return parseMemberMap(text);
  }
}

/** Parses a value decoded from YAML or JSON, accepting native types and the textual forms. */
export function parseFileValue(spec: FlagSpec, raw: unknown): FlagValue {
  if (typeof raw === "string") return parseText(spec, raw);
  switch (spec.type) {
    case "string":
      if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
      throw new ValueError("expected a string");
    case "bool":
      if (typeof raw === "boolean") return raw;
      throw new ValueError("expected true or false");
    case "int":
    case "uint":
    case "uint64":
    case "size":
      if (typeof raw === "number") return parseInteger(spec, String(raw));
      throw new ValueError(`expected ${integerKind(spec)}`);
    case "duration":
      if (raw === 0) return 0;
      throw new ValueError('expected a duration string such as "1s" or "500ms"');
    case "stringList":
      return parseFileList(raw);
    case "map":
      return parseFileMap(raw);
  }
}

/** Go's `strconv.ParseBool` spellings. */
function parseBool(text: string): boolean {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(text)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(text)) return false;
  throw new ValueError("expected true or false");
}

function integerKind(spec: FlagSpec): string {
  return spec.type === "int" ? "an integer" : "an unsigned integer";
}

function parseInteger(spec: FlagSpec, text: string): number {
  const signed = spec.type === "int";
  const pattern = signed ? /^[+-]?\d+$/ : /^\+?\d+$/;
  if (!pattern.test(text.trim())) throw new ValueError(`expected ${integerKind(spec)}`);
  const value = Number(text.trim());
  const max = spec.type === "uint" ? UINT32_MAX : Number.MAX_SAFE_INTEGER;
  if (value > max || value < -Number.MAX_SAFE_INTEGER) throw new ValueError(`out of range (largest accepted is ${max})`);
  return value === 0 ? 0 : value; // no -0
}

function parseNonNegativeDuration(text: string): number {
  let value: number;
  try {
    value = parseDuration(text.trim());
  } catch (err) {
    throw new ValueError((err as Error).message);
  }
  if (value < 0) throw new ValueError("a duration must not be negative");
  return value;
}

/** Comma-separated items, trimmed; empty items are dropped so that `--x=` means an empty list. */
function splitList(text: string): string[] {
  return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

function parseFileList(raw: unknown): string[] {
  if (!Array.isArray(raw)) throw new ValueError("expected a list of strings or a comma-separated string");
  return raw.map((item) => {
    if (typeof item === "string" || typeof item === "number") return String(item).trim();
    throw new ValueError(`list item ${JSON.stringify(item)} is not a string`);
  }).filter((item) => item !== "");
}

/** `1=host:port,2=host:port` → `{ "1": "host:port", "2": "host:port" }`. */
export function parseMemberMap(text: string): Record<string, string> {
  const members: Record<string, string> = {};
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue;
    const separator = entry.indexOf("=");
    if (separator < 0) throw new MapParseError(`entry ${JSON.stringify(entry)} is not of the form id=address`);
    addMember(members, entry.slice(0, separator), entry.slice(separator + 1));
  }
  return members;
}

function parseFileMap(raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new MapParseError("expected a mapping of node id to address or an id=address,... string");
  }
  const members: Record<string, string> = {};
  for (const [id, address] of Object.entries(raw)) {
    if (typeof address !== "string") throw new MapParseError(`address of member ${id} is not a string`);
    addMember(members, id, address);
  }
  return members;
}

function addMember(members: Record<string, string>, rawId: string, rawAddress: string): void {
  const idText = rawId.trim();
  const address = rawAddress.trim();
  if (!/^\d+$/.test(idText)) throw new MapParseError(`member id ${JSON.stringify(idText)} is not an unsigned integer`);
  const id = Number(idText);
  if (id < 1) throw new MapParseError(`member id ${idText} must be at least 1`);
  if (!Number.isSafeInteger(id)) throw new MapParseError(`member id ${idText} is out of range`);
  if (address === "") throw new MapParseError(`member ${id} has an empty address`);
  const key = String(id);
  if (key in members) throw new MapParseError(`member id ${id} appears more than once`);
  members[key] = address;
}
