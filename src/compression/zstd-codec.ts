/**
 * `zstd` on Node 20, whose node:zlib has no Zstandard (it arrives in Node 22.15):
 * - compression: @toondepauw/node-zstd, the zstd C library behind N-API; its binaries come as npm
 *   packages per platform (no download at install time) and its async encode runs on the libuv pool;
 * - decompression: fzstd, pure JavaScript with a streaming decoder that hands over at most one block
 *   (128 KiB) at a time, so the output limit is checked while decoding. The native decoder has no
 *   output bound and would inflate a zip bomb whole before any check.
 * Level 3 is zstd's default, the level the reference's encoder uses by default.
 */
import { Encoder } from "@toondepauw/node-zstd";
import { Decompress } from "fzstd";
import { BoundedOutput, CorruptCompressedDataError, DecompressedTooLargeError, type MessageCodec } from "./codec.js";

const LEVEL = 3;

/** Synchronous calls never overlap, so they share one encoder (and its zstd context). */
let sharedEncoder: Encoder | null = null;

function decompressSync(data: Uint8Array, maxBytes: number): Buffer {
  const output = new BoundedOutput("zstd", maxBytes);
  // A DecompressedTooLargeError thrown by add() leaves push() at once, stopping the decoding.
  const decoder = new Decompress((piece) => output.add(piece));
  try {
    if (data.length === 0) throw new Error("empty input");
    decoder.push(data, true);
  } catch (error) {
    if (error instanceof DecompressedTooLargeError) throw error;
    throw new CorruptCompressedDataError("zstd", (error as Error).message, { cause: error });
  }
  return output.toBuffer();
}

export const zstdCodec: MessageCodec = {
  name: "zstd",
  compressSync: (data) => (sharedEncoder ??= new Encoder(LEVEL)).encodeSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
  compress: (data) => new Encoder(LEVEL).encode(Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
  decompress: async (data, maxBytes) => decompressSync(data, maxBytes),
};
