/** Log levels and their order; `--log-level` names them in any case (spec §14.4). */

export type LogLevel = "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Higher is more severe; a logger emits a line when its level's rank is at least the threshold's. */
export const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * `DEBUG`, `info`, `Warn`, … → the level.
 * @throws Error `invalid log level "<text>": must be one of DEBUG, INFO, WARN, ERROR`.
 */
export function parseLogLevel(text: string): LogLevel {
  const level = text.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`invalid log level ${JSON.stringify(text)}: must be one of DEBUG, INFO, WARN, ERROR`);
}
