/**
 * Typed exceptions for the client: one class per gRPC status code a caller is likely to handle.
 */
import { status as Code } from "@grpc/grpc-js";

/** Any failed call: `code` is the gRPC status code, `details` the server's message. */
export class ArmadaError extends Error {
  constructor(readonly code: number, readonly details: string) {
    super(`${Code[code] ?? code}: ${details}`);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends ArmadaError {}
export class NotFoundError extends ArmadaError {}
export class FailedPreconditionError extends ArmadaError {}
/** Retryable; for writes the outcome is unknown. */
export class UnavailableError extends ArmadaError {}
/** For writes the outcome is unknown. */
export class DeadlineExceededError extends ArmadaError {}
export class UnauthenticatedError extends ArmadaError {}
export class PermissionDeniedError extends ArmadaError {}
export class UnimplementedError extends ArmadaError {}
export class ResourceExhaustedError extends ArmadaError {}
export class CancelledError extends ArmadaError {}

const BY_CODE: Record<number, new (code: number, details: string) => ArmadaError> = {
  [Code.INVALID_ARGUMENT]: InvalidArgumentError,
  [Code.NOT_FOUND]: NotFoundError,
  [Code.FAILED_PRECONDITION]: FailedPreconditionError,
  [Code.UNAVAILABLE]: UnavailableError,
  [Code.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [Code.UNAUTHENTICATED]: UnauthenticatedError,
  [Code.PERMISSION_DENIED]: PermissionDeniedError,
  [Code.UNIMPLEMENTED]: UnimplementedError,
  [Code.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [Code.CANCELLED]: CancelledError,
};

/** Turns a grpc-js error (or anything else) into the matching ArmadaError subclass. */
export function fromGrpcError(error: unknown): ArmadaError {
  if (error instanceof ArmadaError) return error;
  const { code, details, message } = (error ?? {}) as { code?: number; details?: string; message?: string };
  const numeric = typeof code === "number" ? code : Code.UNKNOWN;
  const Type = BY_CODE[numeric] ?? ArmadaError;
  return new Type(numeric, details ?? message ?? String(error));
}
