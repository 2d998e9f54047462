/**
 * The effective configuration as `Cluster/Status` reports it in `config` (spec §7.2): flat dotted keys, typed the
 * way the reference's configuration library renders them, secrets masked.
 */
import { formatDuration } from "./duration.js";
import { findAnyFlag, type FlagValue } from "./flags.js";

/** What every secret is replaced with, whatever its value (even empty), so nothing about it leaks. */
export const SECRET_MASK = "**********";

/** Secrets that are masked even if a caller passes values not described by the flag table. */
const ALWAYS_SECRET: ReadonlySet<string> = new Set(["tables.token", "maintenance.token"]);

/**
 * Renders values for a `google.protobuf.Struct`: durations as Go strings (`"1s"`), unsigned integers as
 * decimal strings (`"10000"`), signed integers and sizes as numbers, booleans, lists as arrays, maps as objects,
 * and secrets as `**********`. Keys are sorted so the output is stable.
 */
export function renderConfigStruct(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const rendered: Record<string, unknown> = {};
  for (const key of Object.keys(values).sort()) {
    const spec = findAnyFlag(key);
    if (spec?.meta === true) continue;
    const value = values[key];
    if (spec?.secret === true || ALWAYS_SECRET.has(key)) {
      rendered[key] = SECRET_MASK;
    } else if (spec === undefined) {
      rendered[key] = plain(value);
    } else if (spec.type === "duration" && typeof value === "number") {
      rendered[key] = formatDuration(value);
    } else if ((spec.type === "uint" || spec.type === "uint64") && typeof value === "number") {
      rendered[key] = String(value);
    } else {
      rendered[key] = plain(value);
    }
  }
  return rendered;
}

/** A JSON-safe copy: arrays and objects copied, anything exotic turned into a string. */
function plain(value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, FlagValue>).map(([k, v]) => [k, plain(v)]));
  }
  return String(value);
}
