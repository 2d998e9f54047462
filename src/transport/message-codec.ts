/**
 * Binary codec for Raft messages tagged with their group: `{ groupId, message }`.
 *
 * Layout of one message (all numbers are unsigned LEB128 varints, see byte-writer.ts):
 *
 *   groupId, typeTag (1 byte), from, to, term, then the type's own fields in declaration order;
 *   booleans are one byte (0/1), byte strings are varint length + bytes, optional byte strings are a presence
 *   byte then the string, lists are a varint count then the items.
 *
 * A batch (the payload of one RAFT_BATCH frame) is a codec version byte followed by messages back to back;
 * messages are self-delimiting, so the batch needs no count. Decoding validates every field and throws
 * TransportProtocolError on anything malformed; counts and lengths are checked against the bytes that remain
 * before anything is allocated.
 */
import type { ConfState, Entry, EntryType, Message, MessageOf, MessageType } from "../raft/index.js";
import { ByteReader } from "./byte-reader.js";
import { ByteWriter } from "./byte-writer.js";
import { TransportProtocolError } from "./errors.js";
import { CONF_STATE_MEMBERS_MAX, FRAME_PAYLOAD_BYTES_MAX } from "./limits.js";

/** Version of the message layout; bump it (and teach the decoder the old one) whenever the layout changes. */
export const MESSAGE_CODEC_VERSION = 1;

/** A Raft message addressed to one group. */
export interface GroupMessage {
  readonly groupId: number;
  readonly message: Message;
}

/** Wire tag of each message type. Tags are part of the protocol: never reuse or renumber one. */
const TYPE_TAGS: { readonly [K in MessageType]: number } = {
  append: 1,
  appendResponse: 2,
  vote: 3,
  preVote: 4,
  voteResponse: 5,
  preVoteResponse: 6,
  heartbeat: 7,
  heartbeatResponse: 8,
  snapshot: 9,
  timeoutNow: 10,
  readIndex: 11,
  readIndexResponse: 12,
};
const TAG_TYPES: ReadonlyMap<number, MessageType> = new Map(
  Object.entries(TYPE_TAGS).map(([type, tag]) => [tag, type as MessageType]),
);

const ENTRY_TYPE_TAGS: { readonly [K in EntryType]: number } = { normal: 0, confChange: 1 };
/** The smallest possible encoded entry (term, index, type and an empty data length: one byte each). */
const ENCODED_ENTRY_BYTES_MIN = 4;

/** Fields every message carries, decoded before the type-specific body. */
interface Envelope {
  readonly from: number;
  readonly to: number;
  readonly term: number;
}

type BodyEncoder<K extends MessageType> = (writer: ByteWriter, message: MessageOf<K>) => void;
type BodyDecoder = (reader: ByteReader, envelope: Envelope, type: MessageType) => Message;

const BODY_ENCODERS: { readonly [K in MessageType]: BodyEncoder<K> } = {
  append: (w, m) => {
    w.varint(m.index, "append.index");
    w.varint(m.logTerm, "append.logTerm");
    w.varint(m.commit, "append.commit");
    w.varint(m.entries.length, "append.entries count");
    for (const entry of m.entries) encodeEntry(w, entry);
  },
  appendResponse: (w, m) => {
    w.varint(m.index, "appendResponse.index");
    encodeBool(w, m.reject);
    w.varint(m.rejectHint, "appendResponse.rejectHint");
    w.varint(m.logTerm, "appendResponse.logTerm");
  },
  vote: (w, m) => encodeCampaign(w, m),
  preVote: (w, m) => encodeCampaign(w, m),
  voteResponse: (w, m) => encodeBool(w, m.reject),
  preVoteResponse: (w, m) => encodeBool(w, m.reject),
  heartbeat: (w, m) => {
    w.varint(m.commit, "heartbeat.commit");
    encodeOptionalBytes(w, m.context, "heartbeat.context");
  },
  heartbeatResponse: (w, m) => encodeOptionalBytes(w, m.context, "heartbeatResponse.context"),
  snapshot: (w, m) => {
    const { metadata, data } = m.snapshot;
    w.varint(metadata.index, "snapshot.metadata.index");
    w.varint(metadata.term, "snapshot.metadata.term");
    encodeMembers(w, metadata.confState.voters, "snapshot voters");
    encodeMembers(w, metadata.confState.learners, "snapshot learners");
    w.bytes(data, "snapshot.data");
  },
  timeoutNow: () => {},
  readIndex: (w, m) => w.bytes(m.context, "readIndex.context"),
  readIndexResponse: (w, m) => {
    w.varint(m.index, "readIndexResponse.index");
    w.bytes(m.context, "readIndexResponse.context");
  },
};

const BODY_DECODERS: { readonly [K in MessageType]: BodyDecoder } = {
  append: (r, env) => {
    const index = r.varint("append.index");
    const logTerm = r.varint("append.logTerm");
    const commit = r.varint("append.commit");
    const count = r.varintIn("append.entries count", 0, Math.floor(r.remaining / ENCODED_ENTRY_BYTES_MIN));
    // Grown by push, not preallocated: a lying count must not make us allocate before the entries are read.
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++) entries.push(decodeEntry(r));
    return { type: "append", ...env, index, logTerm, entries, commit };
  },
  appendResponse: (r, env) => {
    const index = r.varint("appendResponse.index");
    const reject = r.bool("appendResponse.reject");
    const rejectHint = r.varint("appendResponse.rejectHint");
    const logTerm = r.varint("appendResponse.logTerm");
    return { type: "appendResponse", ...env, index, reject, rejectHint, logTerm };
  },
  vote: decodeCampaign,
  preVote: decodeCampaign,
  voteResponse: decodeCampaignResponse,
  preVoteResponse: decodeCampaignResponse,
  heartbeat: (r, env) => {
    const commit = r.varint("heartbeat.commit");
    const context = decodeOptionalBytes(r, "heartbeat.context");
    return context === undefined ? { type: "heartbeat", ...env, commit } : { type: "heartbeat", ...env, commit, context };
  },
  heartbeatResponse: (r, env) => {
    const context = decodeOptionalBytes(r, "heartbeatResponse.context");
    return context === undefined ? { type: "heartbeatResponse", ...env } : { type: "heartbeatResponse", ...env, context };
  },
  snapshot: (r, env) => {
    const index = r.varint("snapshot.metadata.index");
    const term = r.varint("snapshot.metadata.term");
    const confState: ConfState = {
      voters: decodeMembers(r, "snapshot voters"),
      learners: decodeMembers(r, "snapshot learners"),
    };
    const data = r.bytes("snapshot.data", FRAME_PAYLOAD_BYTES_MAX);
    return { type: "snapshot", ...env, snapshot: { metadata: { index, term, confState }, data } };
  },
  timeoutNow: (_r, env) => ({ type: "timeoutNow", ...env }),
  readIndex: (r, env) => ({ type: "readIndex", ...env, context: r.bytes("readIndex.context", FRAME_PAYLOAD_BYTES_MAX) }),
  readIndexResponse: (r, env) => {
    const index = r.varint("readIndexResponse.index");
    const context = r.bytes("readIndexResponse.context", FRAME_PAYLOAD_BYTES_MAX);
    return { type: "readIndexResponse", ...env, index, context };
  },
};

/**
 * Appends one message to `writer`.
 * @throws TransportProtocolError when a field is out of range (a node id of 0, a non-integer term, an unknown type).
 */
export function encodeGroupMessage(writer: ByteWriter, item: GroupMessage): void {
  const { groupId, message } = item;
  const tag = TYPE_TAGS[message.type] as number | undefined;
  if (tag === undefined) throw new TransportProtocolError(`Cannot encode message type ${String(message.type)}`);
  requireNodeId(groupId, "groupId");
  requireNodeId(message.from, "from");
  requireNodeId(message.to, "to");
  writer.varint(groupId, "groupId");
  writer.u8(tag);
  writer.varint(message.from, "from");
  writer.varint(message.to, "to");
  writer.varint(message.term, "term");
  (BODY_ENCODERS[message.type] as BodyEncoder<MessageType>)(writer, message as MessageOf<MessageType>);
}

/**
 * Reads one message from `reader`.
 * @throws TransportProtocolError on malformed input.
 */
export function decodeGroupMessage(reader: ByteReader): GroupMessage {
  const groupId = reader.varintIn("groupId", 1, Number.MAX_SAFE_INTEGER);
  const tag = reader.u8("message type");
  const type = TAG_TYPES.get(tag);
  if (type === undefined) throw new TransportProtocolError(`Invalid message type tag ${tag}`);
  // Field names are constants: building them per message would cost more than decoding the message.
  const from = reader.varintIn("from", 1, Number.MAX_SAFE_INTEGER);
  const to = reader.varintIn("to", 1, Number.MAX_SAFE_INTEGER);
  const term = reader.varint("term");
  return { groupId, message: BODY_DECODERS[type](reader, { from, to, term }, type) };
}

/** Encodes a whole batch as one buffer: the codec version byte, then every message. */
export function encodeGroupMessages(batch: readonly GroupMessage[]): Buffer {
  const writer = new ByteWriter();
  writer.u8(MESSAGE_CODEC_VERSION);
  for (const item of batch) encodeGroupMessage(writer, item);
  return writer.copyOut();
}

/**
 * Decodes a batch produced by encodeGroupMessages (or a RAFT_BATCH frame payload).
 * @throws TransportProtocolError on an unknown codec version or malformed input.
 */
export function decodeGroupMessages(payload: Uint8Array): GroupMessage[] {
  const reader = new ByteReader(payload);
  const version = reader.u8("codec version");
  if (version !== MESSAGE_CODEC_VERSION) {
    throw new TransportProtocolError(`Unsupported message codec version ${version}, expected ${MESSAGE_CODEC_VERSION}`);
  }
  const batch: GroupMessage[] = [];
  while (reader.remaining > 0) batch.push(decodeGroupMessage(reader));
  return batch;
}

function requireNodeId(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TransportProtocolError(`Cannot encode ${field} = ${String(value)}: expected a safe integer >= 1`);
  }
}

function encodeBool(writer: ByteWriter, value: boolean): void {
  writer.u8(value ? 1 : 0);
}

function encodeEntry(writer: ByteWriter, entry: Entry): void {
  const typeTag = ENTRY_TYPE_TAGS[entry.type] as number | undefined;
  if (typeTag === undefined) throw new TransportProtocolError(`Cannot encode entry type ${String(entry.type)}`);
  writer.varint(entry.term, "entry.term");
  writer.varint(entry.index, "entry.index");
  writer.u8(typeTag);
  writer.bytes(entry.data, "entry.data");
}

function decodeEntry(reader: ByteReader): Entry {
  const term = reader.varint("entry.term");
  const index = reader.varint("entry.index");
  const typeTag = reader.u8("entry.type");
  if (typeTag > 1) throw new TransportProtocolError(`Invalid entry.type ${typeTag}, expected 0 (normal) or 1 (confChange)`);
  const data = reader.bytes("entry.data", FRAME_PAYLOAD_BYTES_MAX);
  return { term, index, type: typeTag === 0 ? "normal" : "confChange", data };
}

function encodeCampaign(writer: ByteWriter, message: MessageOf<"vote" | "preVote">): void {
  writer.varint(message.index, "campaign.index");
  writer.varint(message.logTerm, "campaign.logTerm");
  encodeBool(writer, message.transfer);
}

function decodeCampaign(reader: ByteReader, envelope: Envelope, type: MessageType): Message {
  const index = reader.varint("campaign.index");
  const logTerm = reader.varint("campaign.logTerm");
  const transfer = reader.bool("campaign.transfer");
  return { type: type as "vote" | "preVote", ...envelope, index, logTerm, transfer };
}

function decodeCampaignResponse(reader: ByteReader, envelope: Envelope, type: MessageType): Message {
  const reject = reader.bool("campaign response reject");
  return { type: type as "voteResponse" | "preVoteResponse", ...envelope, reject };
}

function encodeOptionalBytes(writer: ByteWriter, value: Uint8Array | undefined, field: string): void {
  if (value === undefined) {
    writer.u8(0);
  } else {
    writer.u8(1);
    writer.bytes(value, field);
  }
}

function decodeOptionalBytes(reader: ByteReader, field: string): Uint8Array | undefined {
  return reader.bool(field) ? reader.bytes(field, FRAME_PAYLOAD_BYTES_MAX) : undefined;
}

function encodeMembers(writer: ByteWriter, members: readonly number[], field: string): void {
  if (members.length > CONF_STATE_MEMBERS_MAX) {
    throw new TransportProtocolError(`Cannot encode ${field}: ${members.length} members, at most ${CONF_STATE_MEMBERS_MAX}`);
  }
  writer.varint(members.length, `${field} count`);
  for (const id of members) {
    requireNodeId(id, field);
    writer.varint(id, field);
  }
}

function decodeMembers(reader: ByteReader, field: string): number[] {
  const count = reader.varintIn(`${field} count`, 0, Math.min(CONF_STATE_MEMBERS_MAX, reader.remaining));
  const members: number[] = [];
  for (let i = 0; i < count; i++) members.push(reader.varintIn(field, 1, Number.MAX_SAFE_INTEGER));
  return members;
}
