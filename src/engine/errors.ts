/**
 * Expected conditions of the engine as typed errors. The API layer maps them to gRPC codes in one place
 * (src/api/status.ts): not found → NOT_FOUND, transient → UNAVAILABLE, anything else → FAILED_PRECONDITION.
 */

/** Base class: `transient` errors may be retried by the client (the write's outcome may be unknown). */
export class EngineError extends Error {
  readonly transient: boolean = false;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The table is not in this node's registry. */
export class TableNotFoundError extends EngineError {
  constructor(readonly table: string) {
    super("table not found");
  }
}

/** A table of that name is already registered. */
export class TableExistsError extends EngineError {
  constructor(readonly table: string) {
    super("table already exists");
  }
}

/** The table name breaks the naming rules (spec §5.4). */
export class InvalidTableNameError extends EngineError {
  constructor(readonly table: string, readonly reason: string) {
    super("invalid table name");
  }
}

/** Retry-safe condition: shard not ready, no leader, node closing, in-memory log full, timeouts. */
export class TransientError extends EngineError {
  override readonly transient = true;
}

/** The engine is shutting down and takes no more work. */
export class EngineClosedError extends TransientError {
  constructor() {
    super("node is shutting down");
  }
}

/** The caller's deadline passed or the call was cancelled before the engine answered. */
export class AbortedError extends TransientError {
  constructor(readonly kind: "deadline" | "cancelled", message = kind === "deadline" ? "deadline exceeded" : "request cancelled") {
    super(message);
  }
}

/** Log entries asked for were compacted away (covered by a snapshot): the reader must take a snapshot. */
export class LogCompactedError extends EngineError {
  constructor(readonly index: number, readonly firstIndex: number) {
    super(`log entry ${index} was compacted; the log starts at ${firstIndex}`);
    this.name = "LogCompactedError";
  }
}
