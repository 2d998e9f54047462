/**
 * The record layer of snapshot and backup streams (spec §9.4): a sequence of
 * `[8-byte little-endian length N][N bytes of an encoded mvcc.v1.Command]`.
 */
import { pb, type armada } from "../proto/index.js";
import { ByteQueue } from "./byte-queue.js";
import { InvalidSnapshotStreamError } from "./errors.js";

/** Bytes of the length prefix of every record. */
export const RECORD_HEADER_BYTES = 8;
/**
 * Largest record body accepted by the decoder. A valid record holds one key (≤ 1 KiB) and one value
 * (≤ 2 MiB) plus framing; anything near this bound means a corrupt length, which must not make us
 * buffer gigabytes before noticing.
 */
export const RECORD_BYTES_MAX = 64 * 1024 * 1024;
const UINT32_RANGE = 2 ** 32;

/** One decoded record: the Command bytes and where the record starts in the decompressed stream. */
export interface SnapshotRecord {
  offset: number;
  body: Uint8Array;
}

/** Prefixes `body` (an encoded Command) with its 8-byte little-endian length. */
export function encodeRecord(body: Uint8Array): Uint8Array {
  const record = new Uint8Array(RECORD_HEADER_BYTES + body.length);
  const view = new DataView(record.buffer);
  view.setUint32(0, body.length % UINT32_RANGE, true);
  view.setUint32(4, Math.floor(body.length / UINT32_RANGE), true);
  record.set(body, RECORD_HEADER_BYTES);
  return record;
}

/** Encodes `command` as one record. */
export function encodeCommandRecord(command: armada.v1.ICommand): Uint8Array {
  return encodeRecord(pb.Command.encode(command).finish());
}

/**
 * Incremental record splitter: records may straddle input pieces in any way. Call {@link end} at end of
 * input to detect a truncated last record. After a failure the decoder refuses further input.
 */
export class RecordDecoder {
  #queue = new ByteQueue();
  /** Offset, in the decompressed stream, of the next unread record. */
  #offset = 0;
  #error: InvalidSnapshotStreamError | null = null;

  /** Consumes `data` and returns every record it completes. */
  write(data: Uint8Array): SnapshotRecord[] {
    if (this.#error) throw this.#error;
    this.#queue.push(data);
    const records: SnapshotRecord[] = [];
    for (;;) {
      const length = this.#peekLength();
      if (length === null) break;
      const record = this.#queue.read(RECORD_HEADER_BYTES + length);
      if (record === null) break;
      records.push({ offset: this.#offset, body: record.subarray(RECORD_HEADER_BYTES) });
      this.#offset += record.length;
    }
    return records;
  }

  /** Signals end of input; throws when the input stops inside a record. */
  end(): void {
    if (this.#error) throw this.#error;
    const buffered = this.#queue.length;
    if (buffered === 0) return;
    const length = this.#peekLength();
    const expected = length === null ? `a ${RECORD_HEADER_BYTES}-byte length` : `${RECORD_HEADER_BYTES + length} bytes`;
    throw this.#fail(`truncated record at offset ${this.#offset}: expected ${expected}, got ${buffered} bytes`);
  }

  #peekLength(): number | null {
    const header = this.#queue.peek(RECORD_HEADER_BYTES);
    if (header === null) return null;
    const view = new DataView(header.buffer, header.byteOffset, RECORD_HEADER_BYTES);
    const length = view.getUint32(0, true) + view.getUint32(4, true) * UINT32_RANGE;
    if (length > RECORD_BYTES_MAX) {
      throw this.#fail(`record at offset ${this.#offset} declares ${length} bytes, more than the limit of ${RECORD_BYTES_MAX}`);
    }
    return length;
  }

  #fail(detail: string): InvalidSnapshotStreamError {
    this.#error = new InvalidSnapshotStreamError(detail, { offset: this.#offset });
    return this.#error;
  }
}

/** Splits a decompressed byte stream into records lazily. */
export async function* decodeRecords(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<SnapshotRecord, void, undefined> {
  const decoder = new RecordDecoder();
  for await (const data of source) yield* decoder.write(data);
  decoder.end();
}

/** Decodes a record body as a Command, turning protobuf errors into {@link InvalidSnapshotStreamError}. */
export function decodeCommandRecord(record: SnapshotRecord): armada.v1.Command {
  try {
    return pb.Command.decode(record.body);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InvalidSnapshotStreamError(`record at offset ${record.offset} is not a valid Command: ${reason}`, {
      offset: record.offset,
      cause,
    });
  }
}
