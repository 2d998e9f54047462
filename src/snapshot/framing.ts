/**
 * Constants of the Snappy framing format (https://github.com/google/snappy/blob/main/framing_format.txt),
 * the outer layer of snapshot and backup streams (spec Appendix B).
 */

/** Chunk types with a meaning of their own; 0x02–0x7F are reserved unskippable, 0x80–0xFD reserved skippable. */
export const ChunkType = {
  COMPRESSED_DATA: 0x00,
  UNCOMPRESSED_DATA: 0x01,
  PADDING: 0xfe,
  STREAM_IDENTIFIER: 0xff,
} as const;

/** First reserved chunk type that decoders must skip (up to and including 0xFD). */
export const SKIPPABLE_CHUNK_TYPE_MIN = 0x80;
/** Last reserved chunk type that decoders must refuse (from 0x02). */
export const UNSKIPPABLE_CHUNK_TYPE_MAX = 0x7f;

/** Bytes of a chunk header: 1 type byte plus a 3-byte little-endian body length. */
export const CHUNK_HEADER_BYTES = 4;
/** Bytes of the masked CRC-32C at the start of every data chunk body. */
export const CHECKSUM_BYTES = 4;
/** Maximum uncompressed bytes carried by one data chunk. */
export const CHUNK_DATA_BYTES_MAX = 65_536;
/**
 * Largest body a valid data chunk can have: checksum plus the worst-case Snappy block encoding of
 * 65,536 bytes (32 + n + n/6 = 76,490). Larger bodies are refused before they are buffered.
 */
export const DATA_CHUNK_BODY_BYTES_MAX = CHECKSUM_BYTES + 76_490;

/** The stream identifier body, ASCII `sNaPpY`. */
export const STREAM_IDENTIFIER_BODY = Uint8Array.of(0x73, 0x4e, 0x61, 0x50, 0x70, 0x59);
/** The complete stream identifier chunk that starts every non-empty stream: `FF 06 00 00 73 4E 61 50 70 59`. */
export const STREAM_IDENTIFIER_CHUNK = Uint8Array.of(
  ChunkType.STREAM_IDENTIFIER,
  STREAM_IDENTIFIER_BODY.length,
  0,
  0,
  ...STREAM_IDENTIFIER_BODY,
);

/** Writes a chunk header for `type` and `bodyLength` into `target` at `offset`. */
export function writeChunkHeader(target: Uint8Array, offset: number, type: number, bodyLength: number): void {
  target[offset] = type;
  target[offset + 1] = bodyLength & 0xff;
  target[offset + 2] = (bodyLength >>> 8) & 0xff;
  target[offset + 3] = (bodyLength >>> 16) & 0xff;
}
