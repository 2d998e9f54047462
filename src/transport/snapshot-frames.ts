/**
 * Payloads of the snapshot channel's frames:
 *
 *   SNAPSHOT_BEGIN  groupId, header bytes
 *   SNAPSHOT_CHUNK  raw snapshot bytes (no encoding: the frame length says how many)
 *   SNAPSHOT_END    total number of chunk bytes sent, checked by the receiver
 *   SNAPSHOT_ABORT  reason (the sender's source failed)
 *   SNAPSHOT_RESULT ok byte, reason (empty on success)
 */
import { ByteReader } from "./byte-reader.js";
import { ByteWriter } from "./byte-writer.js";
import { truncateUtf8 } from "./handshake.js";
import { REASON_BYTES_MAX, SNAPSHOT_HEADER_BYTES_MAX } from "./limits.js";

/** A decoded SNAPSHOT_BEGIN. */
export interface SnapshotBegin {
  readonly groupId: number;
  readonly header: Uint8Array;
}

/** A decoded SNAPSHOT_RESULT. */
export type SnapshotResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Encodes a SNAPSHOT_BEGIN payload. */
export function encodeSnapshotBegin(begin: SnapshotBegin): Buffer {
  const writer = new ByteWriter(16 + begin.header.length);
  writer.varint(begin.groupId, "snapshot groupId");
  writer.bytes(begin.header, "snapshot header");
  return writer.copyOut();
}

/** Decodes a SNAPSHOT_BEGIN payload. */
export function decodeSnapshotBegin(payload: Uint8Array): SnapshotBegin {
  const reader = new ByteReader(payload);
  const groupId = reader.varintIn("snapshot groupId", 1, Number.MAX_SAFE_INTEGER);
  const header = reader.bytes("snapshot header", SNAPSHOT_HEADER_BYTES_MAX);
  reader.end("snapshot begin");
  return { groupId, header };
}

/** Encodes a SNAPSHOT_END payload. */
export function encodeSnapshotEnd(totalBytes: number): Buffer {
  const writer = new ByteWriter(16);
  writer.varint(totalBytes, "snapshot total bytes");
  return writer.copyOut();
}

/** Decodes a SNAPSHOT_END payload: the total bytes the sender sent. */
export function decodeSnapshotEnd(payload: Uint8Array): number {
  const reader = new ByteReader(payload);
  const total = reader.varint("snapshot total bytes");
  reader.end("snapshot end");
  return total;
}

/** Encodes a SNAPSHOT_RESULT payload. */
export function encodeSnapshotResult(result: SnapshotResult): Buffer {
  const writer = new ByteWriter(64);
  writer.u8(result.ok ? 1 : 0);
  writer.bytes(result.ok ? new Uint8Array(0) : truncateUtf8(result.reason, REASON_BYTES_MAX), "snapshot result reason");
  return writer.copyOut();
}

/** Decodes a SNAPSHOT_RESULT payload. */
export function decodeSnapshotResult(payload: Uint8Array): SnapshotResult {
  const reader = new ByteReader(payload);
  const ok = reader.bool("snapshot result");
  const reason = reader.string("snapshot result reason", REASON_BYTES_MAX);
  reader.end("snapshot result");
  return ok ? { ok } : { ok, reason };
}
