/**
 * `snappy` as the reference registers it: the Snappy framing format (stream identifier, then chunks of at
 * most 64 KiB with masked CRC-32C), not raw Snappy blocks. The framing code is the one snapshots and
 * backups use (src/snapshot). Snappy is fast enough that both directions run on the calling thread.
 */
import { InvalidSnapshotStreamError, SnappyFrameDecoder, SnappyFrameEncoder } from "../snapshot/index.js";
import { BoundedOutput, CorruptCompressedDataError, type MessageCodec } from "./codec.js";

/**
 * The framed input is fed to the decoder in slices of this size, so the output is checked against the
 * limit every few chunks: a slice of highly compressed chunks decodes to at most a few MiB.
 */
const INPUT_SLICE_BYTES = 16 * 1024;

function compressSync(data: Uint8Array): Buffer {
  const encoder = new SnappyFrameEncoder();
  return Buffer.concat([...encoder.write(data), ...encoder.end()]);
}

function decompressSync(data: Uint8Array, maxBytes: number): Buffer {
  const decoder = new SnappyFrameDecoder();
  const output = new BoundedOutput("snappy", maxBytes);
  try {
    for (let at = 0; at < data.length; at += INPUT_SLICE_BYTES) {
      for (const piece of decoder.write(data.subarray(at, at + INPUT_SLICE_BYTES))) output.add(piece);
    }
    decoder.end();
  } catch (error) {
    if (error instanceof InvalidSnapshotStreamError) throw new CorruptCompressedDataError("snappy", error.detail, { cause: error });
    throw error;
  }
  return output.toBuffer();
}

export const snappyCodec: MessageCodec = {
  name: "snappy",
  compressSync,
  compress: async (data) => compressSync(data),
  decompress: async (data, maxBytes) => decompressSync(data, maxBytes),
};
