/**
 * The handshake that opens every connection. The dialer sends MAGIC and a HELLO frame; the acceptor checks it
 * and answers MAGIC plus ACCEPT, or MAGIC plus REJECT with a reason and closes the connection.
 *
 * HELLO payload: protocol version, channel (1 = Raft messages, 2 = one snapshot transfer), cluster name,
 * sender node id, intended receiver node id. The version comes first so that a future version can change
 * everything after it and still be refused with a clear reason.
 * ACCEPT payload: the acceptor's node id. REJECT payload: a UTF-8 reason.
 */
import { ByteReader } from "./byte-reader.js";
import { ByteWriter } from "./byte-writer.js";
import { TransportProtocolError } from "./errors.js";
import { CLUSTER_NAME_BYTES_MAX, REASON_BYTES_MAX } from "./limits.js";

/** Version of the transport protocol (framing, handshake, message codec). */
export const PROTOCOL_VERSION = 1;

/** What a connection carries. */
export type Channel = "raft" | "snapshot";
const CHANNEL_TAGS: { readonly [K in Channel]: number } = { raft: 1, snapshot: 2 };

/** The dialer's introduction. */
export interface Hello {
  readonly protocolVersion: number;
  readonly channel: Channel;
  readonly clusterName: string;
  readonly from: number;
  readonly to: number;
}

/** What the acceptor checks a HELLO against. */
export interface LocalIdentity {
  readonly nodeId: number;
  readonly clusterName: string;
  isKnownPeer(nodeId: number): boolean;
}

/** Encodes a HELLO payload. */
export function encodeHello(hello: Hello): Buffer {
  const writer = new ByteWriter(64);
  writer.varint(hello.protocolVersion, "protocol version");
  writer.u8(CHANNEL_TAGS[hello.channel]);
  writer.bytes(Buffer.from(hello.clusterName, "utf8"), "cluster name");
  writer.varint(hello.from, "sender node id");
  writer.varint(hello.to, "receiver node id");
  return writer.copyOut();
}

/** The acceptor's verdict on a HELLO. */
export type HelloVerdict = { readonly ok: true; readonly hello: Hello } | { readonly ok: false; readonly reason: string };

/** Decodes and checks a HELLO payload; every way it can fail becomes a reason sent back to the dialer and logged. */
export function checkHello(payload: Uint8Array, local: LocalIdentity): HelloVerdict {
  let hello: Hello;
  try {
    const reader = new ByteReader(payload);
    const protocolVersion = reader.varint("protocol version");
    if (protocolVersion !== PROTOCOL_VERSION) {
      return refuse(`unsupported protocol version ${protocolVersion}, this node speaks version ${PROTOCOL_VERSION}`);
    }
    const channelTag = reader.u8("channel");
    const channel = channelTag === CHANNEL_TAGS.raft ? "raft" : channelTag === CHANNEL_TAGS.snapshot ? "snapshot" : undefined;
    if (channel === undefined) return refuse(`unknown channel ${channelTag}`);
    const clusterName = reader.string("cluster name", CLUSTER_NAME_BYTES_MAX);
    const from = reader.varint("sender node id");
    const to = reader.varint("receiver node id");
    reader.end("handshake");
    hello = { protocolVersion, channel, clusterName, from, to };
  } catch (error) {
    if (error instanceof TransportProtocolError) return refuse(`malformed handshake: ${error.message}`);
    throw error;
  }
  if (hello.clusterName !== local.clusterName) {
    return refuse(`cluster name is "${hello.clusterName}", this node belongs to cluster "${local.clusterName}"`);
  }
  if (hello.to !== local.nodeId) return refuse(`addressed to node ${hello.to}, this is node ${local.nodeId}`);
  if (hello.from === local.nodeId || !local.isKnownPeer(hello.from)) {
    return refuse(`sender node id ${hello.from} is not a member of this cluster`);
  }
  return { ok: true, hello };
}

/** Encodes an ACCEPT payload. */
export function encodeAccept(nodeId: number): Buffer {
  const writer = new ByteWriter(16);
  writer.varint(nodeId, "acceptor node id");
  return writer.copyOut();
}

/** Decodes an ACCEPT payload and checks it came from the node we meant to reach. */
export function decodeAccept(payload: Uint8Array, expectedNodeId: number): void {
  const reader = new ByteReader(payload);
  const nodeId = reader.varint("acceptor node id");
  reader.end("handshake acceptance");
  if (nodeId !== expectedNodeId) {
    throw new TransportProtocolError(`Handshake accepted by node ${nodeId}, expected node ${expectedNodeId}`);
  }
}

/** Encodes a human-readable reason (REJECT, SNAPSHOT_ABORT), truncated to REASON_BYTES_MAX. */
export function encodeReason(reason: string): Buffer {
  const writer = new ByteWriter(128);
  writer.bytes(truncateUtf8(reason, REASON_BYTES_MAX), "reason");
  return writer.copyOut();
}

/** Decodes a reason written by encodeReason. */
export function decodeReason(payload: Uint8Array): string {
  const reader = new ByteReader(payload);
  const reason = reader.string("reason", REASON_BYTES_MAX);
  reader.end("reason");
  return reason;
}

/** The UTF-8 bytes of `text`, cut to at most `maxBytes` (possibly mid-character: the decoder replaces the stub). */
export function truncateUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return bytes.length <= maxBytes ? bytes : bytes.subarray(0, maxBytes);
}

function refuse(reason: string): HelloVerdict {
  return { ok: false, reason };
}
