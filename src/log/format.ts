/** Rendering helpers of the logger: timestamps, call sites and JSON-safe field values. */

/** ISO-8601 local time with milliseconds and zone offset: `2024-05-01T12:00:00.123+02:00`. */
export function isoTimestamp(date: Date): string {
  const offsetMinutes = -date.getTimezoneOffset();
  const sign = offsetMinutes >= 0 ? "+" : "-";
  const offset = Math.abs(offsetMinutes);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`
  );
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

/**
 * `dir/file.js:line` of the frame that called `entry` (the public log method), like zap's short caller.
 * V8 call sites are read directly, which costs a few microseconds and only happens for lines that are emitted.
 * Positions are those of the compiled JavaScript in dist/; Node's source maps are not consulted.
 */
export function callerOf(entry: (...args: never[]) => unknown): string {
  const savedLimit = Error.stackTraceLimit;
  const savedPrepare = Error.prepareStackTrace;
  const holder: { stack?: unknown } = {};
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_error, sites) => sites;
    Error.captureStackTrace(holder, entry);
    const site = (holder.stack as NodeJS.CallSite[] | undefined)?.[0];
    if (site === undefined) return "unknown";
    return `${shortFileName(site.getFileName() ?? "unknown")}:${site.getLineNumber() ?? 0}`;
  } finally {
    Error.stackTraceLimit = savedLimit;
    Error.prepareStackTrace = savedPrepare;
  }
}

function shortFileName(fileName: string): string {
  const path = fileName.startsWith("file://") ? fileName.slice("file://".length) : fileName;
  const parts = path.split(/[\\/]/);
  return parts.slice(-2).join("/");
}

/** The stack below `entry`, without the `Error` header line, for warnings and errors. */
export function stackBelow(entry: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, entry);
  return (holder.stack ?? "").split("\n").slice(1).join("\n");
}

/**
 * JSON.stringify replacer for field values: bigints as decimal strings, errors as their message, bytes as
 * base64 (as Go's encoding/json does), maps as objects and sets as arrays.
 */
export function fieldReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (typeof value === "bigint") return value.toString();
  if (raw instanceof Error) return raw.message;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64");
  if (raw instanceof Map) return Object.fromEntries(raw);
  if (raw instanceof Set) return [...raw];
  return value;
}

/** Serialises a record, degrading to a note instead of throwing (cycles, throwing getters). */
export function safeJson(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, fieldReplacer);
  } catch (err) {
    return JSON.stringify({ ...pickHeader(record), fieldsError: `cannot serialise log fields: ${(err as Error).message}` });
  }
}

const HEADER_KEYS = ["level", "ts", "logger", "caller", "msg"];

function pickHeader(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(HEADER_KEYS.filter((key) => key in record).map((key) => [key, record[key]]));
}
