/**
 * Typed errors of the table state machine. The API layer maps them to gRPC codes in one table.
 */
export { InvalidSnapshotStreamError } from "../snapshot/errors.js";

/** Base class: every error this folder throws on purpose. */
export class StateMachineError extends Error {
  override readonly name: string = "StateMachineError";
  /** Stable machine-readable code. */
  readonly code: string = "STATE_MACHINE_ERROR";
}

/**
 * A committed entry could not be applied (unknown command type, a key LMDB cannot store, a storage failure).
 * Fatal for the table: skipping the entry would make replicas diverge, so the state machine refuses
 * every later apply until it is reopened.
 */
export class FatalApplyError extends StateMachineError {
  override readonly name: string = "FatalApplyError";
  override readonly code: string = "FATAL_APPLY";
  /** Raft index of the entry that failed, when known. */
  readonly index: number | undefined;

  constructor(message: string, options: { index?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.index = options.index;
  }
}

/** A command's `type` is not one of the seven known types (spec §8.4: fatal, never skipped). */
export class UnknownCommandTypeError extends FatalApplyError {
  override readonly name = "UnknownCommandTypeError";
  override readonly code = "UNKNOWN_COMMAND_TYPE";

  constructor(type: unknown, index: number) {
    super(`Cannot apply entry ${index}: unknown command type ${String(type)} (expected 0..6)`, { index });
  }
}

/** A write names a key longer than LMDB can store (only possible through unvalidated replicated commands). */
export class StorageKeyTooLargeError extends StateMachineError {
  override readonly name = "StorageKeyTooLargeError";
  override readonly code = "STORAGE_KEY_TOO_LARGE";

  constructor(length: number, limit: number) {
    super(`Cannot store a key of ${length} bytes: the storage engine accepts at most ${limit}`);
  }
}

/** A read-only evaluation was given a transaction with a put or delete op. */
export class NotReadOnlyTxnError extends StateMachineError {
  override readonly name = "NotReadOnlyTxnError";
  override readonly code = "NOT_READ_ONLY_TXN";

  constructor(op: string) {
    super(`Cannot evaluate a transaction read-only: it contains a ${op} op`);
  }
}

/** The state machine was closed, or a previous fatal apply error stopped it. */
export class StateMachineClosedError extends StateMachineError {
  override readonly name = "StateMachineClosedError";
  override readonly code = "STATE_MACHINE_CLOSED";
}

/** An internal invariant does not hold: a bug, never an input problem. */
export class InvariantError extends StateMachineError {
  override readonly name = "InvariantError";
  override readonly code = "INVARIANT";
}

/** Throws an {@link InvariantError} naming the table when `condition` is false. */
export function assert(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new InvariantError(message());
}
