/**
 * RangeResponse encoded by hand, straight into a gRPC frame (framed-response.ts): the message every read
 * answers with, so the one worth encoding without protobufjs.
 *
 * The wire format is protobuf's, with the field numbers of proto/armada/v1/api.proto and mvcc.proto (the
 * same as Regatta's):
 *   RangeResponse: header = 1 (message), kvs = 3 (repeated message), more = 4 (bool), count = 5 (int64)
 *   ResponseHeader: shard_id = 1, replica_id = 2, revision = 3, raft_term = 4, raft_leader_id = 5 (uint64)
 *   KeyValue: key = 1 (bytes), value = 4 (bytes); a table never sets its revisions (spec §5.2)
 * Zero numbers, false and empty bytes are left out, as proto3 encoders do; any protobuf decoder reads them
 * back as the defaults. range-response.test.ts checks the bytes against protobufjs's decoder.
 */
import { varintSize, type ChunkSummary, type EntrySink, type TableKeyValue } from "../fsm/index.js";
import { FramedResponse, GRPC_FRAME_HEADER_BYTES } from "./framed-response.js";

/** The numbers of a ResponseHeader (non-negative safe integers). */
export interface ResponseHeaderValues {
  readonly shardId: number;
  readonly replicaId: number;
  readonly revision: number;
  readonly raftTerm: number;
  readonly raftLeaderId: number;
}

/** What a RangeResponse carries besides its header (the state machine's RangeResult). */
export interface RangeBody {
  readonly kvs: readonly TableKeyValue[];
  readonly count: number;
  readonly more: boolean;
}

/** Field tags: field number << 3 | wire type (0 varint, 2 length-delimited). */
const TAG = {
  responseHeader: (1 << 3) | 2,
  responseKvs: (3 << 3) | 2,
  responseMore: (4 << 3) | 0,
  responseCount: (5 << 3) | 0,
  headerShardId: (1 << 3) | 0,
  headerReplicaId: (2 << 3) | 0,
  headerRevision: (3 << 3) | 0,
  headerRaftTerm: (4 << 3) | 0,
  headerRaftLeaderId: (5 << 3) | 0,
  keyValueKey: (1 << 3) | 2,
  keyValueValue: (4 << 3) | 2,
} as const;
/** Every tag above is below 128: one byte. */
const TAG_BYTES = 1;
const VARINT_PAYLOAD = 0x80;

/**
 * The framed RangeResponse of `header` and `body`.
 * @throws Error when a number is not a non-negative safe integer (a bug upstream; nothing is sent).
 */
export function encodeRangeResponse(header: ResponseHeaderValues, body: RangeBody): FramedResponse {
  const headerBytes = headerSize(header);
  let size = TAG_BYTES + varintSize(headerBytes) + headerBytes;
  const kvs = body.kvs;
  for (let i = 0; i < kvs.length; i++) {
    const kvBytes = keyValueSize(kvs[i]!);
    size += TAG_BYTES + varintSize(kvBytes) + kvBytes;
  }
  if (body.more) size += TAG_BYTES + 1;
  if (body.count !== 0) size += TAG_BYTES + uintSize(body.count);

  const framed = FramedResponse.allocate(size);
  const out = framed.frame;
  let at = writeHeaderField(out, GRPC_FRAME_HEADER_BYTES, header, headerBytes);
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    out[at++] = TAG.responseKvs;
    at = writeVarint(out, at, keyValueSize(kv));
    at = writeBytesField(out, at, TAG.keyValueKey, kv.key);
    if (kv.value !== undefined) at = writeBytesField(out, at, TAG.keyValueValue, kv.value);
  }
  if (body.more) {
    out[at++] = TAG.responseMore;
    out[at++] = 1;
  }
  at = writeUintField(out, at, TAG.responseCount, body.count);
  if (at !== out.length) throw new Error(`RangeResponse encoding wrote ${at} of ${out.length} bytes`);
  return framed;
}

/**
 * Encodes one RangeResponse while its entries are read (an EntrySink), so that none of them is kept: the
 * header first, each entry as it comes, `more` and `count` at the end ({@link finish}). The same bytes as
 * {@link encodeRangeResponse}. They are written into pieces: the first of `firstBytes`, the next ones of
 * `pieceBytes` (or an entry's size, if larger); a response that fits in the first piece is one buffer.
 *
 * Why: IterateRange kept every entry of a 4 MiB response as objects until the response was encoded; they
 * outlived the young generation and were copied and marked by the garbage collector (docs/performance.md,
 * change 56). And a buffer of megabytes is fresh memory each time, whose page faults cost more than the
 * encoding; pieces of 64 KiB come from memory the allocator has had before (change 58).
 */
export class RangeResponseWriter implements EntrySink {
  readonly #pieceBytes: number;
  /** Pieces filled before the current one. */
  #filled: Buffer[] | null = null;
  #out: Buffer;
  #at: number;

  constructor(header: ResponseHeaderValues, firstBytes: number, pieceBytes = firstBytes) {
    this.#pieceBytes = pieceBytes;
    const headerBytes = headerSize(header);
    this.#out = Buffer.allocUnsafe(Math.max(firstBytes, GRPC_FRAME_HEADER_BYTES + TAG_BYTES + varintSize(headerBytes) + headerBytes));
    this.#out[0] = 0;
    this.#at = writeHeaderField(this.#out, GRPC_FRAME_HEADER_BYTES, header, headerBytes);
  }

  entry(key: Uint8Array, value: Uint8Array | undefined): void {
    const kvBytes = bytesFieldSize(key) + (value === undefined ? 0 : bytesFieldSize(value));
    let at = this.#reserve(TAG_BYTES + varintSize(kvBytes) + kvBytes);
    const out = this.#out;
    out[at++] = TAG.responseKvs;
    at = writeVarint(out, at, kvBytes);
    at = writeBytesField(out, at, TAG.keyValueKey, key);
    if (value !== undefined) at = writeBytesField(out, at, TAG.keyValueValue, value);
    this.#at = at;
  }

  /** The response, framed, with `summary`'s `more` and `count`. */
  finish(summary: ChunkSummary): FramedResponse {
    let at = this.#reserve(RESPONSE_TAIL_BYTES_MAX);
    const out = this.#out;
    if (summary.more) {
      out[at++] = TAG.responseMore;
      out[at++] = 1;
    }
    at = writeUintField(out, at, TAG.responseCount, uintChecked(summary.count));
    const last = out.subarray(0, at);
    if (this.#filled === null) {
      last.writeUInt32BE(at - GRPC_FRAME_HEADER_BYTES, 1);
      return new FramedResponse(last);
    }
    const parts = [...this.#filled, last];
    const framed = new FramedResponse(parts);
    parts[0]!.writeUInt32BE(framed.length - GRPC_FRAME_HEADER_BYTES, 1);
    return framed;
  }

  /** Where `bytes` more can be written: in the current piece, or at the start of a new one. */
  #reserve(bytes: number): number {
    if (this.#at + bytes > this.#out.length) {
      (this.#filled ??= []).push(this.#out.subarray(0, this.#at));
      this.#out = Buffer.allocUnsafe(Math.max(bytes, this.#pieceBytes));
      this.#at = 0;
    }
    return this.#at;
  }
}

/** The most `more` and `count` take: two tags, a bool and a varint of up to 10 bytes. */
const RESPONSE_TAIL_BYTES_MAX = 2 * TAG_BYTES + 1 + 10;

/** Writes the RangeResponse's header field (tag, length, the ResponseHeader of `headerBytes`) at `at`. */
function writeHeaderField(out: Buffer, at: number, header: ResponseHeaderValues, headerBytes: number): number {
  out[at++] = TAG.responseHeader;
  at = writeVarint(out, at, headerBytes);
  at = writeUintField(out, at, TAG.headerShardId, header.shardId);
  at = writeUintField(out, at, TAG.headerReplicaId, header.replicaId);
  at = writeUintField(out, at, TAG.headerRevision, header.revision);
  at = writeUintField(out, at, TAG.headerRaftTerm, header.raftTerm);
  return writeUintField(out, at, TAG.headerRaftLeaderId, header.raftLeaderId);
}

function headerSize(header: ResponseHeaderValues): number {
  return (
    uintFieldSize(header.shardId) +
    uintFieldSize(header.replicaId) +
    uintFieldSize(header.revision) +
    uintFieldSize(header.raftTerm) +
    uintFieldSize(header.raftLeaderId)
  );
}

function keyValueSize(kv: TableKeyValue): number {
  return bytesFieldSize(kv.key) + (kv.value === undefined ? 0 : bytesFieldSize(kv.value));
}

function bytesFieldSize(bytes: Uint8Array): number {
  return bytes.length === 0 ? 0 : TAG_BYTES + varintSize(bytes.length) + bytes.length;
}

function uintFieldSize(value: number): number {
  return value === 0 ? 0 : TAG_BYTES + uintSize(value);
}

/** Bytes of `value` as a varint, after checking that protobuf's uint64/int64 carries it exactly. */
function uintSize(value: number): number {
  return varintSize(uintChecked(value));
}

/** `value`, checked to be one that protobuf's uint64/int64 carries exactly. */
function uintChecked(value: number): number {
  if (!(value >= 0 && Number.isSafeInteger(value))) throw new Error(`RangeResponse: ${value} is not a non-negative safe integer`);
  return value;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let rest = value;
  while (rest >= VARINT_PAYLOAD) {
    out[at++] = (rest % VARINT_PAYLOAD) | VARINT_PAYLOAD;
    rest = Math.floor(rest / VARINT_PAYLOAD);
  }
  out[at++] = rest;
  return at;
}

function writeUintField(out: Buffer, at: number, tag: number, value: number): number {
  if (value === 0) return at;
  out[at++] = tag;
  return writeVarint(out, at, value);
}

function writeBytesField(out: Buffer, at: number, tag: number, bytes: Uint8Array): number {
  if (bytes.length === 0) return at;
  out[at++] = tag;
  at = writeVarint(out, at, bytes.length);
  out.set(bytes, at);
  return at + bytes.length;
}
