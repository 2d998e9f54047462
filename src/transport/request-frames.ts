/**
 * Payloads of the request/response frames that share the Raft connection (used by the engine to forward proposals
 * to a group's leader and to ask peers for node information):
 *
 *   REQUEST   request id, then the request bytes (the rest of the payload)
 *   RESPONSE  request id, status byte (0 ok, 1 error), then the response bytes or a UTF-8 error reason
 *
 * Request ids are chosen by the dialer, per connection; the acceptor only echoes them.
 */
import { ByteReader } from "./byte-reader.js";
import { ByteWriter } from "./byte-writer.js";
import { TransportProtocolError } from "./errors.js";
import { truncateUtf8 } from "./handshake.js";
import { REASON_BYTES_MAX } from "./limits.js";

/** A decoded REQUEST. `body` is a view into the frame. */
export interface RequestFrame {
  readonly requestId: number;
  readonly body: Uint8Array;
}

/** A decoded RESPONSE. `body` is a view into the frame. */
export type ResponseFrame =
  | { readonly requestId: number; readonly ok: true; readonly body: Uint8Array }
  | { readonly requestId: number; readonly ok: false; readonly reason: string };

/** The id prefix of a REQUEST payload; the body is written after it without copying. */
export function encodeRequestPrefix(requestId: number): Buffer {
  const writer = new ByteWriter(16);
  writer.varint(requestId, "request id");
  return writer.copyOut();
}

/** Decodes a REQUEST payload. */
export function decodeRequest(payload: Uint8Array): RequestFrame {
  const reader = new ByteReader(payload);
  const requestId = reader.varint("request id");
  return { requestId, body: reader.rawView("request body", reader.remaining) };
}

/** Encodes a RESPONSE payload. */
export function encodeResponse(requestId: number, result: { ok: true; body: Uint8Array } | { ok: false; reason: string }): Buffer {
  const body = result.ok ? result.body : truncateUtf8(result.reason, REASON_BYTES_MAX);
  const writer = new ByteWriter(16 + body.length);
  writer.varint(requestId, "request id");
  writer.u8(result.ok ? 0 : 1);
  writer.raw(body);
  return writer.copyOut();
}

/** Decodes a RESPONSE payload. */
export function decodeResponse(payload: Uint8Array): ResponseFrame {
  const reader = new ByteReader(payload);
  const requestId = reader.varint("request id");
  const status = reader.u8("response status");
  const body = reader.rawView("response body", reader.remaining);
  if (status === 0) return { requestId, ok: true, body };
  if (status !== 1) throw new TransportProtocolError(`Invalid response status ${status}, expected 0 or 1`);
  if (body.length > REASON_BYTES_MAX) throw new TransportProtocolError(`Error reason of ${body.length} bytes, at most ${REASON_BYTES_MAX}`);
  return { requestId, ok: false, reason: Buffer.from(body.buffer, body.byteOffset, body.length).toString("utf8") };
}
