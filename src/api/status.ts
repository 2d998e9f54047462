/**
 * gRPC statuses: the error type handlers throw, and the one table that maps engine errors to codes
 * (spec §4.1, §8.8): table not found → NOT_FOUND, transient → UNAVAILABLE, the rest → FAILED_PRECONDITION.
 */
import { status as Code } from "@grpc/grpc-js";
import { AbortedError, EngineError, TableNotFoundError, TransientError } from "../engine/errors.js";

export { Code };

/** An error that carries the exact gRPC status to answer with. */
export class StatusError extends Error {
  constructor(readonly code: Code, readonly details: string) {
    super(details);
    this.name = "StatusError";
  }
}

export const invalidArgument = (details: string) => new StatusError(Code.INVALID_ARGUMENT, details);
export const failedPrecondition = (details: string) => new StatusError(Code.FAILED_PRECONDITION, details);

/** Maps anything a handler threw to the status the client receives. */
export function toStatusError(error: unknown): StatusError {
  if (error instanceof StatusError) return error;
  if (error instanceof TableNotFoundError) return new StatusError(Code.NOT_FOUND, "table not found");
  if (error instanceof AbortedError) {
    return new StatusError(error.kind === "deadline" ? Code.DEADLINE_EXCEEDED : Code.CANCELLED, error.message);
  }
  if (error instanceof TransientError) return new StatusError(Code.UNAVAILABLE, error.message);
  if (error instanceof EngineError) return new StatusError(Code.FAILED_PRECONDITION, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new StatusError(Code.FAILED_PRECONDITION, message);
}

/** True when the error is not an expected condition but a fault worth logging. */
export function isUnexpected(error: unknown): boolean {
  return !(error instanceof StatusError) && !(error instanceof EngineError);
}
