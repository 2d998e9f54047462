/**
 * Armada's process logger (spec §14.8).
 *
 * Production: one JSON object per line — `level` (lower case), `ts` (ISO-8601, milliseconds, zone offset),
 * `logger` (component), `caller` (`dir/file.js:line`), `msg`, then the structured fields; errors also carry a
 * `stacktrace`. Dev mode: `ts  LEVEL  component  caller  msg  {fields}` with a stack under warnings and errors.
 *
 * It is a small synchronous writer rather than pino: Armada needs zap's field layout and a call site, pino
 * would need plugins for both, and writes to stderr are synchronous on Linux anyway. A disabled level costs one
 * comparison; the call site (a few microseconds of V8 stack capture) is only computed for emitted lines.
 */
import { callerOf, isoTimestamp, safeJson, stackBelow } from "./format.js";
import { LEVEL_RANK, parseLogLevel, type LogLevel } from "./level.js";

export type { LogLevel } from "./level.js";
export { parseLogLevel, LOG_LEVELS } from "./level.js";

export type LogFields = Readonly<Record<string, unknown>>;

/** Where lines go; `process.stderr` by default. Each call receives one complete line ending in `\n`. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** `debug`, `info`, `warn` or `error`, any case (the `--log-level` value). */
  readonly level: LogLevel | string;
  readonly devMode: boolean;
  readonly destination?: LogDestination;
  /** Name of the root logger; children append `.name`. Empty by default. */
  readonly component?: string;
  /** Clock for timestamps (tests pin it). */
  readonly now?: () => Date;
  /** Compute `caller` for each emitted line (default true). */
  readonly caller?: boolean;
}

export interface ChildOptions {
  /** Fields added to every line of the child. */
  readonly fields?: LogFields;
  /** Raise (never lower) the threshold, e.g. to keep Raft internals at WARN whatever `--log-level` says. */
  readonly minLevel?: LogLevel;
}

export interface Logger {
  readonly component: string;
  /** The lowest level this logger emits. */
  readonly level: LogLevel;
  isEnabled(level: LogLevel): boolean;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger for a component: `logger` becomes `parent.component` (or `component` under an unnamed root). */
  child(component: string, options?: ChildOptions): Logger;
}

/** Field names the line itself uses; a structured field with one of these names is written as `fields.<name>`. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(["level", "ts", "logger", "caller", "msg", "stacktrace"]);

interface Sink {
  readonly destination: LogDestination;
  readonly devMode: boolean;
  readonly now: () => Date;
  readonly caller: boolean;
}

/**
 * Creates the root logger.
 * @throws Error `invalid log level "<level>": …` for an unknown level.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = parseLogLevel(options.level);
  const sink: Sink = {
    destination: options.destination ?? process.stderr,
    devMode: options.devMode,
    now: options.now ?? (() => new Date()),
    caller: options.caller ?? true,
  };
  return new LineLogger(sink, options.component ?? "", level, undefined);
}

/** A logger that writes nothing, for tests and library callers that pass no logger. */
export function createSilentLogger(): Logger {
  return createLogger({ level: "error", devMode: false, destination: { write: () => undefined }, caller: false });
}

class LineLogger implements Logger {
  private readonly threshold: number;

  constructor(
    private readonly sink: Sink,
    readonly component: string,
    readonly level: LogLevel,
    private readonly bound: LogFields | undefined,
  ) {
    this.threshold = LEVEL_RANK[level];
  }

  isEnabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= this.threshold;
  }

  debug(message: string, fields?: LogFields): void {
    if (LEVEL_RANK.debug >= this.threshold) this.emit("debug", message, fields, LineLogger.prototype.debug);
  }

  info(message: string, fields?: LogFields): void {
    if (LEVEL_RANK.info >= this.threshold) this.emit("info", message, fields, LineLogger.prototype.info);
  }

  warn(message: string, fields?: LogFields): void {
    if (LEVEL_RANK.warn >= this.threshold) this.emit("warn", message, fields, LineLogger.prototype.warn);
  }

  error(message: string, fields?: LogFields): void {
    if (LEVEL_RANK.error >= this.threshold) this.emit("error", message, fields, LineLogger.prototype.error);
  }

  child(component: string, options: ChildOptions = {}): Logger {
    const name = this.component === "" ? component : `${this.component}.${component}`;
    const minLevel = options.minLevel;
    const level = minLevel !== undefined && LEVEL_RANK[minLevel] > this.threshold ? minLevel : this.level;
    const fields = options.fields === undefined ? this.bound : { ...this.bound, ...options.fields };
    return new LineLogger(this.sink, name, level, fields);
  }

  private emit(level: LogLevel, message: string, fields: LogFields | undefined, entry: (...args: never[]) => unknown): void {
    const sink = this.sink;
    const ts = isoTimestamp(sink.now());
    const caller = sink.caller ? callerOf(entry) : undefined;
    const merged = this.bound === undefined ? fields : fields === undefined ? this.bound : { ...this.bound, ...fields };
    const severe = sink.devMode ? LEVEL_RANK[level] >= LEVEL_RANK.warn : level === "error";
    const stack = severe ? errorStack(merged) ?? stackBelow(entry) : undefined;
    const line = sink.devMode
      ? consoleLine({ level, ts, component: this.component, caller, message, fields: merged, stack })
      : jsonLine({ level, ts, component: this.component, caller, message, fields: merged, stack });
    sink.destination.write(line);
  }
}

interface LineParts {
  readonly level: LogLevel;
  readonly ts: string;
  readonly component: string;
  readonly caller: string | undefined;
  readonly message: string;
  readonly fields: LogFields | undefined;
  readonly stack: string | undefined;
}

function jsonLine(parts: LineParts): string {
  const record: Record<string, unknown> = { level: parts.level, ts: parts.ts, logger: parts.component };
  if (parts.caller !== undefined) record.caller = parts.caller;
  record.msg = parts.message;
  for (const [key, value] of Object.entries(parts.fields ?? {})) {
    record[RESERVED_KEYS.has(key) ? `fields.${key}` : key] = value;
  }
  if (parts.stack !== undefined) record.stacktrace = parts.stack;
  return `${safeJson(record)}\n`;
}

function consoleLine(parts: LineParts): string {
  const columns = [parts.ts, parts.level.toUpperCase(), parts.component];
  if (parts.caller !== undefined) columns.push(parts.caller);
  columns.push(parts.message);
  if (parts.fields !== undefined && Object.keys(parts.fields).length > 0) columns.push(safeJson({ ...parts.fields }));
  const stack = parts.stack === undefined || parts.stack === "" ? "" : `\n${parts.stack}`;
  return `${columns.join("\t")}${stack}\n`;
}

/** The stack of the first Error among the fields, so a logged failure shows where it happened. */
function errorStack(fields: LogFields | undefined): string | undefined {
  if (fields === undefined) return undefined;
  for (const value of Object.values(fields)) {
    if (value instanceof Error && value.stack !== undefined) return value.stack;
  }
  return undefined;
}
