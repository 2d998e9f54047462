/**
 * gzip and deflate (the zlib format, as gRPC means by `deflate`) on node:zlib. Compression uses the
 * fastest level, as the reference does for gzip: gRPC messages are small and latency matters more than
 * the last bytes saved.
 */
import { constants, deflate, deflateSync, gunzip, gzip, gzipSync, inflate, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";
import { CorruptCompressedDataError, DecompressedTooLargeError, type MessageCodec } from "./codec.js";

const FAST: ZlibOptions = { level: constants.Z_BEST_SPEED };

type AsyncZlib = (data: Uint8Array, options: ZlibOptions) => Promise<Buffer>;

function zlibCodec(name: string, compressSync: (data: Uint8Array, options: ZlibOptions) => Buffer, compress: AsyncZlib, decompress: AsyncZlib): MessageCodec {
  return {
    name,
    compressSync: (data) => compressSync(data, FAST),
    compress: (data) => compress(data, FAST),
    async decompress(data, maxBytes) {
      // maxOutputLength makes zlib stop (ERR_BUFFER_TOO_LARGE) once the output passes the limit.
      const options: ZlibOptions = Number.isFinite(maxBytes) ? { maxOutputLength: Math.max(1, maxBytes) } : {};
      let output: Buffer;
      try {
        output = await decompress(data, options);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new DecompressedTooLargeError(name, maxBytes);
        throw new CorruptCompressedDataError(name, (error as Error).message, { cause: error });
      }
      // maxOutputLength is at least 1, so a zero limit is enforced here.
      if (output.length > maxBytes) throw new DecompressedTooLargeError(name, maxBytes);
      return output;
    },
  };
}

export const gzipCodec = zlibCodec("gzip", gzipSync, promisify(gzip), promisify(gunzip));
export const deflateCodec = zlibCodec("deflate", deflateSync, promisify(deflate), promisify(inflate));
