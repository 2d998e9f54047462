/**
 * The WAL record format. Every record is
 *
 *   [body length u32 LE][checksum u32 LE][type u8][group id u64 LE][payload]
 *
 * and every write batch ends with a commit record counting the batch's records.
 * where the checksum is CRC-32 (zlib's, hardware-accelerated) of the four length bytes followed by the
 * body, so a torn or flipped length is caught like any other damage. Integers are little endian; u64
 * fields hold JavaScript safe integers. Payloads per type are described next to their encoders.
 */
import { crc32 } from 'node:zlib';
import type { ConfState, Entry, EntryType, HardState } from '../raft/index.js';
import { assertInvariant } from './invariant.js';
import { BODY_PREFIX_BYTES, CONF_MEMBERS_MAX, DESCRIPTOR_BYTES_MAX, RECORD_BODY_BYTES_MAX, RECORD_HEADER_BYTES } from './constants.js';

/** Record type codes (stored on disk: never renumber). */
export const RecordType = {
  segmentStart: 1,
  checkpoint: 2,
  entries: 3,
  hardState: 4,
  snapshot: 5,
  createSnapshot: 6,
  compact: 7,
  removeGroup: 8,
  commit: 9,
} as const;
export type RecordTypeName = keyof typeof RecordType;
const TYPE_NAMES: readonly (RecordTypeName | undefined)[] = [
  undefined, 'segmentStart', 'checkpoint', 'entries', 'hardState', 'snapshot', 'createSnapshot', 'compact', 'removeGroup', 'commit',
];

const TWO_32 = 2 ** 32;
const HI_MAX = 2 ** 21; // high word of a safe integer
const ENTRY_TYPE_CODES: Record<EntryType, number> = { normal: 0, confChange: 1 };
const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];
/** Bytes of one entry's header inside an entries payload: term u64, type u8, data length u32. */
export const ENTRY_HEADER_BYTES = 13;
/** Bytes before the first entry of an entries payload: first index u64, count u32. */
export const ENTRIES_PREFIX_BYTES = 12;

/** A body that passed its checksum but does not decode: a format bug or a foreign file, never a torn write. */
export class DecodeError extends Error {}

/** A snapshot as stored: Raft metadata plus the engine's descriptor. */
export interface StoredSnapshot {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
  readonly descriptor: Uint8Array;
}

/** The complete state of one group, written at the start of every segment. */
export interface GroupCheckpoint {
  readonly hardState: HardState;
  readonly snapshot: StoredSnapshot;
  /** Index and term of the last compacted entry (the log holds offset+1 … lastIndex). */
  readonly offset: number;
  readonly offsetTerm: number;
  readonly lastIndex: number;
}

/** A decoded record. Entries records decoded for replay carry only their terms, not their data. */
export type WalRecord =
  | { readonly kind: 'segmentStart'; readonly version: number; readonly segment: number; readonly groupCount: number }
  | { readonly kind: 'checkpoint'; readonly groupId: number; readonly checkpoint: GroupCheckpoint }
  | { readonly kind: 'entries'; readonly groupId: number; readonly firstIndex: number; readonly terms: number[] }
  | { readonly kind: 'hardState'; readonly groupId: number; readonly hardState: HardState }
  | { readonly kind: 'snapshot' | 'createSnapshot'; readonly groupId: number; readonly snapshot: StoredSnapshot }
  | { readonly kind: 'compact'; readonly groupId: number; readonly index: number; readonly term: number }
  | { readonly kind: 'removeGroup'; readonly groupId: number }
  | { readonly kind: 'commit'; readonly recordCount: number };

/** Appends fixed-size fields to a preallocated buffer. */
class BodyWriter {
  position = 0;
  constructor(readonly buffer: Buffer) {}

  u8(value: number): void {
    this.buffer[this.position++] = value;
  }

  u32(value: number): void {
    this.buffer.writeUInt32LE(value, this.position);
    this.position += 4;
  }

  u64(value: number): void {
    this.buffer.writeUInt32LE(value % TWO_32, this.position);
    this.buffer.writeUInt32LE(Math.floor(value / TWO_32), this.position + 4);
    this.position += 8;
  }

  raw(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.position);
    this.position += bytes.byteLength;
  }
}

/** Reads fields from a payload, throwing DecodeError instead of reading past its end. */
class BodyReader {
  private position = 0;
  constructor(private readonly buffer: Buffer) {}

  private need(bytes: number, what: string): void {
    if (this.position + bytes > this.buffer.length) throw new DecodeError(`payload ends inside ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buffer[this.position++]!;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  u64(what: string): number {
    this.need(8, what);
    const lo = this.buffer.readUInt32LE(this.position);
    const hi = this.buffer.readUInt32LE(this.position + 4);
    if (hi >= HI_MAX) throw new DecodeError(`${what} exceeds the safe integer range`);
    this.position += 8;
    return hi * TWO_32 + lo;
  }

  /** A view of the next `length` bytes as a plain Uint8Array (not a Buffer), sharing memory. */
  bytes(length: number, what: string): Uint8Array {
    this.need(length, what);
    const start = this.buffer.byteOffset + this.position;
    this.position += length;
    return new Uint8Array(this.buffer.buffer, start, length);
  }

  end(what: string): void {
    if (this.position !== this.buffer.length) throw new DecodeError(`${this.buffer.length - this.position} unexpected bytes after ${what}`);
  }
}

/** Frames a record: allocates header + body, lets `writePayload` fill exactly `payloadBytes`, adds the checksum. */
function frame(type: RecordTypeName, groupId: number, payloadBytes: number, writePayload: (w: BodyWriter) => void): Buffer {
  const bodyBytes = BODY_PREFIX_BYTES + payloadBytes;
  assertInvariant(bodyBytes <= RECORD_BODY_BYTES_MAX, () => `${type} record of ${bodyBytes} bytes exceeds RECORD_BODY_BYTES_MAX (${RECORD_BODY_BYTES_MAX})`);
  const buffer = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyBytes);
  const writer = new BodyWriter(buffer);
  writer.u32(bodyBytes);
  writer.u32(0);
  writer.u8(RecordType[type]);
  writer.u64(groupId);
  writePayload(writer);
  assertInvariant(writer.position === buffer.length, () => `${type} record: wrote ${writer.position} of ${buffer.length} bytes`);
  buffer.writeUInt32LE(checksum(buffer), 4);
  return buffer;
}

/** CRC-32 of the length word and the body of a framed record (everything but the checksum field). */
function checksum(record: Buffer): number {
  return crc32(record.subarray(RECORD_HEADER_BYTES), crc32(record.subarray(0, 4)));
}

/** A frame found in a buffer, or why there is none at that position. */
export type FrameResult =
  | { readonly ok: true; readonly type: RecordTypeName; readonly groupId: number; readonly payload: Buffer; readonly totalBytes: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks the record starting at `position`: enough bytes for the header, a plausible length, enough bytes
 * for the body, a matching checksum. Returns the reason on failure (the caller decides: torn tail or corruption).
 * A record with a good checksum but an unknown type is a DecodeError, not a torn write.
 */
export function parseFrame(buffer: Buffer, position: number): FrameResult {
  const available = buffer.length - position;
  if (available < RECORD_HEADER_BYTES) return { ok: false, reason: `truncated record header (${available} of ${RECORD_HEADER_BYTES} bytes)` };
  const bodyBytes = buffer.readUInt32LE(position);
  if (bodyBytes < BODY_PREFIX_BYTES || bodyBytes > RECORD_BODY_BYTES_MAX) return { ok: false, reason: `bad record length ${bodyBytes}` };
  const totalBytes = RECORD_HEADER_BYTES + bodyBytes;
  if (available < totalBytes) return { ok: false, reason: `truncated record (${available} of ${totalBytes} bytes)` };
  const record = buffer.subarray(position, position + totalBytes);
  if (checksum(record) !== record.readUInt32LE(4)) return { ok: false, reason: 'checksum mismatch' };
  const type = TYPE_NAMES[record[RECORD_HEADER_BYTES]!];
  if (type === undefined) throw new DecodeError(`unknown record type ${record[RECORD_HEADER_BYTES]}`);
  const reader = new BodyReader(record.subarray(RECORD_HEADER_BYTES + 1, RECORD_HEADER_BYTES + BODY_PREFIX_BYTES));
  const groupId = reader.u64('group id');
  return { ok: true, type, groupId, payload: record.subarray(RECORD_HEADER_BYTES + BODY_PREFIX_BYTES), totalBytes };
}

// ---- payload sizes --------------------------------------------------------------------------------

function confStateBytes(conf: ConfState): number {
  return 8 + 8 * (conf.voters.length + conf.learners.length);
}

function snapshotBytes(snapshot: StoredSnapshot): number {
  return 16 + confStateBytes(snapshot.confState) + 4 + snapshot.descriptor.byteLength;
}

/** Payload bytes an entry takes in an entries record. */
export function entryRecordBytes(entry: Entry): number {
  return ENTRY_HEADER_BYTES + entry.data.byteLength;
}

// ---- encoders ---------------------------------------------------------------------------------------

/** segmentStart: format version u32, segment number u64, number of checkpoint records that follow u32. */
export function encodeSegmentStart(version: number, segment: number, groupCount: number): Buffer {
  return frame('segmentStart', 0, 16, (w) => {
    w.u32(version);
    w.u64(segment);
    w.u32(groupCount);
  });
}

function writeHardState(w: BodyWriter, hs: HardState): void {
  w.u64(hs.term);
  w.u64(hs.vote);
  w.u64(hs.commit);
}

function writeSnapshot(w: BodyWriter, s: StoredSnapshot): void {
  w.u64(s.index);
  w.u64(s.term);
  w.u32(s.confState.voters.length);
  for (const id of s.confState.voters) w.u64(id);
  w.u32(s.confState.learners.length);
  for (const id of s.confState.learners) w.u64(id);
  w.u32(s.descriptor.byteLength);
  w.raw(s.descriptor);
}

/** checkpoint: hard state (term, vote, commit), offset, offset term, last index, snapshot. */
export function encodeCheckpoint(groupId: number, c: GroupCheckpoint): Buffer {
  return frame('checkpoint', groupId, 48 + snapshotBytes(c.snapshot), (w) => {
    writeHardState(w, c.hardState);
    w.u64(c.offset);
    w.u64(c.offsetTerm);
    w.u64(c.lastIndex);
    writeSnapshot(w, c.snapshot);
  });
}

/** entries: first index u64, count u32, then per entry term u64, type u8, data length u32, data. */
export function encodeEntries(groupId: number, entries: readonly Entry[]): Buffer {
  let payloadBytes = ENTRIES_PREFIX_BYTES;
  for (const e of entries) payloadBytes += entryRecordBytes(e);
  return frame('entries', groupId, payloadBytes, (w) => {
    w.u64(entries[0]!.index);
    w.u32(entries.length);
    for (const e of entries) {
      w.u64(e.term);
      w.u8(ENTRY_TYPE_CODES[e.type]);
      w.u32(e.data.byteLength);
      w.raw(e.data);
    }
  });
}

/** hardState: term, vote, commit. */
export function encodeHardState(groupId: number, hardState: HardState): Buffer {
  return frame('hardState', groupId, 24, (w) => writeHardState(w, hardState));
}

/** snapshot (replaces the log) or createSnapshot (keeps it): index, term, voters, learners, descriptor. */
export function encodeSnapshot(kind: 'snapshot' | 'createSnapshot', groupId: number, snapshot: StoredSnapshot): Buffer {
  return frame(kind, groupId, snapshotBytes(snapshot), (w) => writeSnapshot(w, snapshot));
}

/** compact: index and term of the new last compacted entry (the term is stored so replay never needs the dropped entry). */
export function encodeCompact(groupId: number, index: number, term: number): Buffer {
  return frame('compact', groupId, 16, (w) => {
    w.u64(index);
    w.u64(term);
  });
}

/**
 * commit: the number of records since the previous commit record (u32). Closes a write batch: replay
 * applies a batch only when its commit record is intact, so a save is recovered whole or not at all.
 */
export function encodeCommit(recordCount: number): Buffer {
  return frame('commit', 0, 4, (w) => w.u32(recordCount));
}

/** removeGroup: no payload. */
export function encodeRemoveGroup(groupId: number): Buffer {
  return frame('removeGroup', groupId, 0, () => undefined);
}

// ---- decoders ---------------------------------------------------------------------------------------

function readHardState(r: BodyReader): HardState {
  return { term: r.u64('hard state term'), vote: r.u64('hard state vote'), commit: r.u64('hard state commit') };
}

function readMembers(r: BodyReader, what: string): number[] {
  const count = r.u32(`${what} count`);
  if (count > CONF_MEMBERS_MAX) throw new DecodeError(`${count} ${what} exceed CONF_MEMBERS_MAX`);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(r.u64(what));
  return ids;
}

function readSnapshot(r: BodyReader): StoredSnapshot {
  const index = r.u64('snapshot index');
  const term = r.u64('snapshot term');
  const voters = readMembers(r, 'voters');
  const learners = readMembers(r, 'learners');
  const length = r.u32('descriptor length');
  if (length > DESCRIPTOR_BYTES_MAX) throw new DecodeError(`descriptor of ${length} bytes exceeds DESCRIPTOR_BYTES_MAX`);
  const descriptor = Uint8Array.from(r.bytes(length, 'descriptor'));
  return { index, term, confState: { voters, learners }, descriptor };
}

/** Decodes the payload of a checked frame. Entries records yield their terms only (replay needs no data). */
export function decodeRecord(type: RecordTypeName, groupId: number, payload: Buffer): WalRecord {
  const r = new BodyReader(payload);
  let record: WalRecord;
  switch (type) {
    case 'segmentStart':
      record = { kind: type, version: r.u32('version'), segment: r.u64('segment number'), groupCount: r.u32('group count') };
      break;
    case 'checkpoint': {
      const hardState = readHardState(r);
      const offset = r.u64('offset');
      const offsetTerm = r.u64('offset term');
      const lastIndex = r.u64('last index');
      record = { kind: type, groupId, checkpoint: { hardState, offset, offsetTerm, lastIndex, snapshot: readSnapshot(r) } };
      break;
    }
    case 'entries':
      return { kind: type, groupId, ...decodeEntryTerms(payload) };
    case 'hardState':
      record = { kind: type, groupId, hardState: readHardState(r) };
      break;
    case 'snapshot':
    case 'createSnapshot':
      record = { kind: type, groupId, snapshot: readSnapshot(r) };
      break;
    case 'compact':
      record = { kind: type, groupId, index: r.u64('compact index'), term: r.u64('compact term') };
      break;
    case 'removeGroup':
      record = { kind: type, groupId };
      break;
    case 'commit':
      record = { kind: type, recordCount: r.u32('record count') };
      break;
  }
  r.end(type);
  return record;
}

/** Walks an entries payload, calling `visit` with each entry's fields; returns the first index. */
function walkEntries(payload: Buffer, visit: (index: number, term: number, type: EntryType, r: BodyReader, dataBytes: number) => void): number {
  const r = new BodyReader(payload);
  const firstIndex = r.u64('first index');
  const count = r.u32('entry count');
  if (count === 0) throw new DecodeError('entries record without entries');
  for (let i = 0; i < count; i++) {
    const term = r.u64('entry term');
    const type = ENTRY_TYPES[r.u8('entry type')];
    if (type === undefined) throw new DecodeError(`unknown entry type at entry ${i}`);
    visit(firstIndex + i, term, type, r, r.u32('entry data length'));
  }
  r.end('entries');
  return firstIndex;
}

/** The first index and the terms of an entries payload, skipping the data. */
export function decodeEntryTerms(payload: Buffer): { firstIndex: number; terms: number[] } {
  const terms: number[] = [];
  const firstIndex = walkEntries(payload, (_index, term, _type, r, dataBytes) => {
    terms.push(term);
    r.bytes(dataBytes, 'entry data');
  });
  return { firstIndex, terms };
}

/** The entries of an entries payload; their data views share the payload's memory. */
export function decodeEntries(payload: Buffer): Entry[] {
  const entries: Entry[] = [];
  walkEntries(payload, (index, term, type, r, dataBytes) => {
    entries.push({ term, index, type, data: r.bytes(dataBytes, 'entry data') });
  });
  return entries;
}
