/**
 * Snappy framing encoder: turns a byte stream into Snappy-framed chunks (spec Appendix B).
 */
import { compressSync } from "snappy";
import { maskedCrc32c } from "./crc32c.js";
import {
  CHECKSUM_BYTES,
  CHUNK_DATA_BYTES_MAX,
  CHUNK_HEADER_BYTES,
  ChunkType,
  STREAM_IDENTIFIER_CHUNK,
  writeChunkHeader,
} from "./framing.js";

/**
 * A compressed chunk is only worth it when it saves at least 1/8 of the data (the rule of the reference
 * Go implementation); otherwise the data is stored as an uncompressed chunk, which is cheaper to decode.
 */
const MIN_SAVING_DIVISOR = 8;

/**
 * Incremental encoder. Feed data with {@link write}, finish with {@link end}; the framed stream is the
 * concatenation of every returned chunk, in order. Data is cut into blocks of at most 65,536 bytes, each
 * becoming one chunk. The stream identifier is emitted before the first data chunk, so encoding nothing
 * yields a zero-byte stream (which is what an empty backup file is).
 */
export class SnappyFrameEncoder {
  #block = new Uint8Array(CHUNK_DATA_BYTES_MAX);
  #blockLength = 0;
  #started = false;
  #ended = false;

  /** Buffers `data` and returns the chunks completed by it (possibly none). */
  write(data: Uint8Array): Uint8Array[] {
    if (this.#ended) throw new Error("SnappyFrameEncoder.write called after end()");
    const out: Uint8Array[] = [];
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(CHUNK_DATA_BYTES_MAX - this.#blockLength, data.length - offset);
      this.#block.set(data.subarray(offset, offset + take), this.#blockLength);
      this.#blockLength += take;
      offset += take;
      if (this.#blockLength === CHUNK_DATA_BYTES_MAX) this.#flush(out);
    }
    return out;
  }

  /** Flushes the last partial block and returns the remaining chunks. The encoder cannot be used afterwards. */
  end(): Uint8Array[] {
    if (this.#ended) return [];
    const out: Uint8Array[] = [];
    if (this.#blockLength > 0) this.#flush(out);
    this.#ended = true;
    return out;
  }

  #flush(out: Uint8Array[]): void {
    if (!this.#started) {
      out.push(STREAM_IDENTIFIER_CHUNK.slice());
      this.#started = true;
    }
    out.push(encodeDataChunk(this.#block.subarray(0, this.#blockLength)));
    this.#blockLength = 0;
  }
}

/** Encodes one block (≤ 65,536 bytes) as a compressed or uncompressed data chunk, header included. */
export function encodeDataChunk(data: Uint8Array): Uint8Array {
  if (data.length > CHUNK_DATA_BYTES_MAX) {
    throw new RangeError(`Snappy chunk data of ${data.length} bytes exceeds ${CHUNK_DATA_BYTES_MAX}`);
  }
  const checksum = maskedCrc32c(data);
  const compressed = compressSync(data);
  const useCompressed = compressed.length < data.length - Math.floor(data.length / MIN_SAVING_DIVISOR);
  const payload = useCompressed ? compressed : data;
  const bodyLength = CHECKSUM_BYTES + payload.length;
  const chunk = new Uint8Array(CHUNK_HEADER_BYTES + bodyLength);
  writeChunkHeader(chunk, 0, useCompressed ? ChunkType.COMPRESSED_DATA : ChunkType.UNCOMPRESSED_DATA, bodyLength);
  new DataView(chunk.buffer).setUint32(CHUNK_HEADER_BYTES, checksum, true);
  chunk.set(payload, CHUNK_HEADER_BYTES + CHECKSUM_BYTES);
  return chunk;
}

/** Frames a byte stream lazily: yields the Snappy-framed chunks as input arrives. */
export async function* encodeSnappyFrames(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const encoder = new SnappyFrameEncoder();
  for await (const data of source) yield* encoder.write(data);
  yield* encoder.end();
}
