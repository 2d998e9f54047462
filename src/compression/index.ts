/**
 * The gRPC message encodings Armada serves (spec §15, issue 8), as the reference registers them:
 * gzip, snappy (framed) and zstd, plus deflate, which grpc-js always accepted. `identity` is not a codec:
 * it means "not compressed".
 */
import type { MessageCodec } from "./codec.js";
import { snappyCodec } from "./snappy-codec.js";
import { deflateCodec, gzipCodec } from "./zlib-codecs.js";
import { zstdCodec } from "./zstd-codec.js";

export { BoundedOutput, CorruptCompressedDataError, DecompressedTooLargeError, type MessageCodec } from "./codec.js";

export const IDENTITY = "identity";

/** Codecs by `grpc-encoding` name. */
export const MESSAGE_CODECS: ReadonlyMap<string, MessageCodec> = new Map(
  [deflateCodec, gzipCodec, snappyCodec, zstdCodec].map((codec) => [codec.name, codec]),
);

/** The `grpc-accept-encoding` value a receiver advertises: identity first, then every codec. */
export const ACCEPTED_ENCODINGS = [IDENTITY, ...MESSAGE_CODECS.keys()].join(",");
