/**
 * Streaming Snappy framing decoder with checksum verification (spec Appendix B).
 */
import { uncompressSync } from "snappy";
import { ByteQueue } from "./byte-queue.js";
import { maskedCrc32c } from "./crc32c.js";
import { InvalidSnapshotStreamError } from "./errors.js";
import {
  CHECKSUM_BYTES,
  CHUNK_DATA_BYTES_MAX,
  CHUNK_HEADER_BYTES,
  ChunkType,
  DATA_CHUNK_BODY_BYTES_MAX,
  SKIPPABLE_CHUNK_TYPE_MIN,
  STREAM_IDENTIFIER_BODY,
  UNSKIPPABLE_CHUNK_TYPE_MAX,
} from "./framing.js";

/** A 32-bit varint (the uncompressed length of a Snappy block) takes at most this many bytes. */
const VARINT32_BYTES_MAX = 5;

interface ChunkHeader {
  type: number;
  bodyLength: number;
}

/**
 * Incremental decoder. Feed framed bytes in pieces of any size with {@link write}; it returns the
 * decompressed data completed so far. Call {@link end} at end of input to detect truncation.
 * A zero-byte input is a valid, empty stream. Every failure is an {@link InvalidSnapshotStreamError}
 * naming the byte offset of the offending chunk; after one, the decoder refuses further input.
 */
export class SnappyFrameDecoder {
  #queue = new ByteQueue();
  /** Offset, in the framed stream, of the next unread chunk header. */
  #offset = 0;
  #sawStreamIdentifier = false;
  /** Body bytes of a skippable chunk still to discard (bodies are skipped without being buffered). */
  #skipRemaining = 0;
  #error: InvalidSnapshotStreamError | null = null;

  /** Number of framed bytes fully consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Consumes `data` and returns the decompressed bytes of every chunk it completes. */
  write(data: Uint8Array): Uint8Array[] {
    if (this.#error) throw this.#error;
    this.#queue.push(data);
    const out: Uint8Array[] = [];
    try {
      while (this.#step(out));
    } catch (error) {
      if (error instanceof InvalidSnapshotStreamError) this.#error = error;
      throw error;
    }
    return out;
  }

  /** Signals end of input; throws when the stream stops in the middle of a chunk. */
  end(): void {
    if (this.#error) throw this.#error;
    if (this.#queue.length > 0 || this.#skipRemaining > 0) {
      this.#error = new InvalidSnapshotStreamError(`truncated chunk at offset ${this.#offset}`, {
        offset: this.#offset,
      });
      throw this.#error;
    }
  }

  /** Processes at most one chunk; returns false when more input is needed. */
  #step(out: Uint8Array[]): boolean {
    if (this.#skipRemaining > 0) {
      const skipped = this.#queue.skip(this.#skipRemaining);
      this.#skipRemaining -= skipped;
      this.#offset += skipped;
      return this.#skipRemaining === 0;
    }
    const header = this.#peekHeader();
    if (header === null) return false;
    this.#checkHeader(header);
    if (isSkippable(header.type)) {
      this.#queue.skip(CHUNK_HEADER_BYTES);
      this.#offset += CHUNK_HEADER_BYTES;
      this.#skipRemaining = header.bodyLength;
      return true;
    }
    const chunk = this.#queue.read(CHUNK_HEADER_BYTES + header.bodyLength);
    if (chunk === null) return false;
    const body = chunk.subarray(CHUNK_HEADER_BYTES);
    if (header.type === ChunkType.STREAM_IDENTIFIER) this.#readStreamIdentifier(body);
    else out.push(this.#readData(header.type, body));
    this.#offset += chunk.length;
    return true;
  }

  #peekHeader(): ChunkHeader | null {
    const bytes = this.#queue.peek(CHUNK_HEADER_BYTES);
    if (bytes === null) return null;
    return { type: bytes[0]!, bodyLength: bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) };
  }

  /** Refuses a chunk as soon as its header is known, before its body is buffered. */
  #checkHeader({ type, bodyLength }: ChunkHeader): void {
    const at = `chunk at offset ${this.#offset}`;
    if (!this.#sawStreamIdentifier && type !== ChunkType.STREAM_IDENTIFIER) {
      throw this.#fail(`missing stream identifier: first ${at} has type 0x${hex(type)}`);
    }
    if (type === ChunkType.COMPRESSED_DATA || type === ChunkType.UNCOMPRESSED_DATA) {
      if (bodyLength < CHECKSUM_BYTES) throw this.#fail(`data ${at} is too short (${bodyLength} bytes)`);
      if (bodyLength > DATA_CHUNK_BODY_BYTES_MAX) {
        throw this.#fail(`data ${at} is too large (${bodyLength} bytes, at most ${DATA_CHUNK_BODY_BYTES_MAX})`);
      }
    } else if (type === ChunkType.STREAM_IDENTIFIER) {
      if (bodyLength !== STREAM_IDENTIFIER_BODY.length) {
        throw this.#fail(`stream identifier ${at} has length ${bodyLength}, expected ${STREAM_IDENTIFIER_BODY.length}`);
      }
    } else if (type <= UNSKIPPABLE_CHUNK_TYPE_MAX) {
      throw this.#fail(`reserved unskippable chunk type 0x${hex(type)} in ${at}`);
    }
  }

  #readStreamIdentifier(body: Uint8Array): void {
    if (!STREAM_IDENTIFIER_BODY.every((byte, i) => body[i] === byte)) {
      throw this.#fail(`bad stream identifier in chunk at offset ${this.#offset}`);
    }
    this.#sawStreamIdentifier = true;
  }

  #readData(type: number, body: Uint8Array): Uint8Array {
    const expected = new DataView(body.buffer, body.byteOffset, CHECKSUM_BYTES).getUint32(0, true);
    const payload = body.subarray(CHECKSUM_BYTES);
    const data = type === ChunkType.COMPRESSED_DATA ? this.#uncompress(payload) : payload;
    if (data.length > CHUNK_DATA_BYTES_MAX) {
      throw this.#fail(`chunk at offset ${this.#offset} carries ${data.length} bytes, at most ${CHUNK_DATA_BYTES_MAX}`);
    }
    if (maskedCrc32c(data) !== expected) throw this.#fail(`checksum mismatch in chunk at offset ${this.#offset}`);
    return data;
  }

  #uncompress(payload: Uint8Array): Uint8Array {
    // The block announces its decoded length first; refuse oversized blocks before allocating for them.
    const announced = readVarint32(payload);
    if (announced === null || announced > CHUNK_DATA_BYTES_MAX) {
      throw this.#fail(`bad compressed block length in chunk at offset ${this.#offset}`);
    }
    try {
      return uncompressSync(payload, { asBuffer: true }) as Buffer;
    } catch (cause) {
      throw this.#fail(`corrupt compressed data in chunk at offset ${this.#offset}`, cause);
    }
  }

  #fail(detail: string, cause?: unknown): InvalidSnapshotStreamError {
    return new InvalidSnapshotStreamError(detail, { offset: this.#offset, cause });
  }
}

/** Padding (0xFE) and the reserved skippable types (0x80–0xFD) are ignored by decoders. */
function isSkippable(type: number): boolean {
  return type >= SKIPPABLE_CHUNK_TYPE_MIN && type <= ChunkType.PADDING;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0").toUpperCase();
}

/** Reads the little-endian base-128 varint at the start of `bytes`; null when malformed or over 32 bits. */
function readVarint32(bytes: Uint8Array): number | null {
  let value = 0;
  for (let i = 0; i < Math.min(bytes.length, VARINT32_BYTES_MAX); i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value > 0xffffffff ? null : value;
  }
  return null;
}

/** Decodes a Snappy-framed stream lazily: yields decompressed data as framed input arrives. */
export async function* decodeSnappyFrames(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const decoder = new SnappyFrameDecoder();
  for await (const framed of source) yield* decoder.write(framed);
  decoder.end();
}
