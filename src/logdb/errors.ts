/**
 * Typed errors of the logdb. Raft-facing conditions (compacted or unavailable index, out-of-date snapshot,
 * broken invariant) reuse the Raft core's classes so a LogDB view throws exactly what MemoryStorage throws.
 * The classes here are the logdb's own conditions, each with a stable `code`.
 */

/** Stable machine-readable codes, one per class. */
export type LogDBErrorCode =
  | 'LOGDB_CORRUPT'
  | 'LOGDB_FAILED'
  | 'LOGDB_CLOSED'
  | 'LOGDB_LOCKED'
  | 'LOGDB_OVERLOADED'
  | 'LOGDB_INVALID_UPDATE';

/** Base class of every error thrown by src/logdb itself. */
export class LogDBError extends Error {
  readonly code: LogDBErrorCode;

  constructor(code: LogDBErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The WAL holds data that cannot be trusted: a bad record where acknowledged data may lie, a missing
 * segment, or records that contradict each other. The node must not start on it (repair from peers).
 */
export class CorruptLogError extends LogDBError {
  /** The segment file concerned, when known. */
  readonly file: string | undefined;
  /** Byte offset of the offending record in that file, when known. */
  readonly offset: number | undefined;

  constructor(message: string, where: { file?: string; offset?: number } = {}) {
    const place = where.file === undefined ? '' : ` (${where.file}${where.offset === undefined ? '' : ` at byte ${where.offset}`})`;
    super('LOGDB_CORRUPT', `Corrupt Raft log${place}: ${message}`);
    this.file = where.file;
    this.offset = where.offset;
  }
}

/**
 * A write, fsync or file operation failed. The logdb refuses all later work: after a failed fsync the
 * kernel may have dropped the dirty pages, so retrying could acknowledge data that is not on disk.
 */
export class LogDBFailedError extends LogDBError {
  constructor(operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('LOGDB_FAILED', `Raft log storage failed during ${operation} and refuses further work: ${detail}`, { cause });
  }
}

/** The logdb was closed; no more reads or writes. */
export class LogDBClosedError extends LogDBError {
  constructor(what: string) {
    super('LOGDB_CLOSED', `Cannot ${what}: the Raft log storage is closed`);
  }
}

/** Another live process (or this one) has the WAL directory open. */
export class LogDBLockedError extends LogDBError {
  constructor(dir: string, pid: number) {
    super('LOGDB_LOCKED', `Cannot open the Raft log in ${dir}: it is in use by process ${pid} (remove the LOCK file only if no process uses the directory)`);
  }
}

/** Too many bytes wait for the disk; the update was not applied and may be retried once earlier saves resolve. */
export class LogDBOverloadedError extends LogDBError {
  constructor(pendingBytes: number, limit: number) {
    super('LOGDB_OVERLOADED', `Raft log storage is overloaded: ${pendingBytes} bytes wait for the disk, the limit is ${limit}`);
  }
}

/** An update the caller built is malformed (not a Raft condition): nothing of its batch was applied. */
export class InvalidUpdateError extends LogDBError {
  constructor(message: string) {
    super('LOGDB_INVALID_UPDATE', `Invalid logdb update: ${message}`);
  }
}
