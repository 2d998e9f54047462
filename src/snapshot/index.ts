/**
 * The snapshot/backup byte format (spec §9.4, §11.5, Appendix B): Snappy framing with CRC-32C over a
 * stream of length-prefixed `mvcc.v1.Command` records, plus the re-chunking used for `SnapshotChunk`.
 */
import type { armada } from "../proto/index.js";
import { decodeCommandRecord, decodeRecords } from "./records.js";
import { decodeSnappyFrames } from "./snappy-frame-decoder.js";

export { crc32c, maskCrc, maskedCrc32c } from "./crc32c.js";
export { InvalidSnapshotStreamError } from "./errors.js";
export { CHUNK_DATA_BYTES_MAX, STREAM_IDENTIFIER_CHUNK } from "./framing.js";
export { SnappyFrameEncoder, encodeSnappyFrames, encodeDataChunk } from "./snappy-frame-encoder.js";
export { SnappyFrameDecoder, decodeSnappyFrames } from "./snappy-frame-decoder.js";
export {
  RECORD_BYTES_MAX,
  RECORD_HEADER_BYTES,
  RecordDecoder,
  decodeCommandRecord,
  decodeRecords,
  encodeCommandRecord,
  encodeRecord,
  type SnapshotRecord,
} from "./records.js";
export { SNAPSHOT_CHUNK_BYTES_MAX, chunkBytes } from "./chunker.js";

/**
 * Reads a Snappy-framed record stream (snapshot or backup) lazily and yields its Commands in order.
 * Any corruption (checksum, truncation, absurd length, undecodable protobuf) rejects with an
 * InvalidSnapshotStreamError; Commands before the corruption have already been yielded.
 */
export async function* readCommandStream(
  framed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<armada.v1.Command, void, undefined> {
  for await (const record of decodeRecords(decodeSnappyFrames(framed))) yield decodeCommandRecord(record);
}
