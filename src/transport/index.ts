/**
 * Armada's peer transport: Raft messages of all groups between the nodes of a cluster over one outbound TCP
 * connection per peer, small request/response exchanges on the same connection, and snapshot streaming on separate
 * connections. See README.md for the wire format.
 */
export { PeerTransport, type PeerTransportOptions, type PeerStatus } from "./peer-transport.js";
export type { MessageHandler } from "./receive-dispatcher.js";
export type { SnapshotHandler } from "./snapshot-receiver.js";
export type { RequestHandler } from "./raft-channel.js";
export type { TransportLog, LogFields } from "./log.js";
export {
  encodeGroupMessage,
  decodeGroupMessage,
  encodeGroupMessages,
  decodeGroupMessages,
  MESSAGE_CODEC_VERSION,
  type GroupMessage,
} from "./message-codec.js";
export { PROTOCOL_VERSION } from "./handshake.js";
export * from "./errors.js";
export * from "./limits.js";
