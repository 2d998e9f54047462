/**
 * Typed errors of the peer transport. Each has a stable `code` so callers can branch without parsing text.
 */

/** Stable machine-readable codes, one per error class. */
export type TransportErrorCode =
  | "PROTOCOL"
  | "HANDSHAKE_REJECTED"
  | "SNAPSHOT_TRANSFER"
  | "REQUEST_FAILED"
  | "CLOSED"
  | "INVALID_ARGUMENT";

/** Base class of every error this folder throws on purpose. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bytes from the network (or handed to the codec) do not follow the wire format: the connection must be dropped. */
export class TransportProtocolError extends TransportError {
  constructor(message: string) {
    super("PROTOCOL", message);
  }
}

/** The remote side refused our handshake (wrong cluster, unknown node id, unsupported version). */
export class HandshakeRejectedError extends TransportError {
  constructor(
    readonly peerAddress: string,
    readonly reason: string,
  ) {
    super("HANDSHAKE_REJECTED", `Peer at ${peerAddress} refused the handshake: ${reason}`);
  }
}

/** A snapshot transfer failed: connection lost, timed out, aborted by the sender or refused by the receiver. */
export class SnapshotTransferError extends TransportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SNAPSHOT_TRANSFER", message, options);
  }
}

/** Why a request to a peer failed. Only `remoteError` means the peer's handler ran and refused. */
export type RequestFailureReason = "notConnected" | "timeout" | "connectionLost" | "tooManyRequests" | "remoteError";

/**
 * A request to a peer got no answer, or the peer's handler failed. After `timeout` or `connectionLost` the peer
 * may or may not have acted on the request; after `notConnected` or `tooManyRequests` it was never sent.
 */
export class RequestFailedError extends TransportError {
  constructor(
    readonly peerId: number,
    readonly reason: RequestFailureReason,
    detail: string,
  ) {
    super("REQUEST_FAILED", `Request to node ${peerId} failed (${reason}): ${detail}`);
  }
}

/** The transport is closed (or was never started) and cannot do what was asked. */
export class TransportClosedError extends TransportError {
  constructor(what: string) {
    super("CLOSED", `Cannot ${what}: the peer transport is closed`);
  }
}

/** A caller passed an option or argument outside its allowed range. */
export class TransportArgumentError extends TransportError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}
