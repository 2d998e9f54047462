/**
 * What the transport logs through, and a filter that keeps a flapping peer from flooding the log.
 */

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The logging surface the transport needs; the process logger (src/log) satisfies it. */
export interface TransportLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Discards everything (the default when no log is given). */
export const SILENT_LOG: TransportLog = { info() {}, warn() {}, error() {} };

/**
 * Lets a message through when it differs from the previous one or when `intervalMs` has passed since the
 * last one that was let through; counts what it held back so the next line can say so.
 */
export class RepeatFilter {
  readonly #intervalMs: number;
  #lastKey: string | undefined;
  #lastAtMs = 0;
  #suppressed = 0;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Returns the number of suppressed repeats to report if `key` should be logged now, or undefined to stay quiet. */
  admit(key: string, nowMs: number = Date.now()): number | undefined {
    if (key === this.#lastKey && nowMs - this.#lastAtMs < this.#intervalMs) {
      this.#suppressed++;
      return undefined;
    }
    const suppressed = this.#suppressed;
    this.#lastKey = key;
    this.#lastAtMs = nowMs;
    this.#suppressed = 0;
    return suppressed;
  }

  /** Forgets the last message, so the next one is always logged. */
  reset(): void {
    this.#lastKey = undefined;
    this.#suppressed = 0;
  }
}
