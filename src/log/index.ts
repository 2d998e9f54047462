/** Logging for the `armada` command: see {@link createLogger}. */
export {
  createLogger, createSilentLogger, parseLogLevel, LOG_LEVELS,
  type Logger, type LoggerOptions, type ChildOptions, type LogFields, type LogDestination, type LogLevel,
} from "./logger.js";
