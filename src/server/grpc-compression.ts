/**
 * gzip, deflate, snappy and zstd for every gRPC listener, in both directions (spec §15, issue 8).
 *
 * Why a patch: grpc-js 1.14's server decompresses only deflate and gzip (a fixed switch in
 * `BaseServerInterceptingCall.decompressMessage`), never compresses a response (`serializeMessage` writes
 * the compressed flag 0) and always sends `grpc-encoding: identity` with
 * `grpc-accept-encoding: identity,deflate,gzip`. It has no codec registry (grpc/grpc-node#1823), and
 * a proxy in front of it would double the HTTP/2 work of every call. So this module replaces those few
 * methods of the server call class, keeping the rest of grpc-js as is:
 *
 * - `decompressMessage`: every encoding of src/compression, bounded by the call's receive limit
 *   (RESOURCE_EXHAUSTED beyond, INTERNAL for corrupt data, UNIMPLEMENTED for an unknown encoding, the
 *   codes grpc-js and grpc-go give);
 * - `sendMessage` / `serializeMessage`: responses are compressed with the request's `grpc-encoding`, as
 *   grpc-go does, unless the client's `grpc-accept-encoding` leaves that encoding out; small messages are
 *   compressed in place, larger ones off the event loop where the codec can;
 * - `sendMetadata`: the response headers name the encoding used and every encoding accepted;
 * - `getServerInterceptingCall` (the module export grpc-js's server calls for each stream): wrapped only
 *   to read `grpc-accept-encoding`, which grpc-js drops from the call's metadata.
 *
 * The patch is global to the process and installed once, by {@link installGrpcCompression}, which every
 * listener's options pass through (server/listen.ts). It refuses any grpc-js other than 1.14.x, or one
 * missing a patched method, so an upgrade fails at startup and in the tests instead of silently losing
 * compression; the integration test (compression.integration.test.ts) checks the behaviour end to end.
 */
import { createRequire } from "node:module";
import type { ServerHttp2Stream } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { ACCEPTED_ENCODINGS, CorruptCompressedDataError, DecompressedTooLargeError, IDENTITY, MESSAGE_CODECS, type MessageCodec } from "../compression/index.js";
import { FramedResponse } from "../api/framed-response.js";

/** The grpc-js minor release whose internals this patch was written against. */
export const PATCHED_GRPC_JS_VERSION = /^1\.14\./;

/** Responses up to this size are compressed on the event loop: below it the thread hop costs more. */
const SYNC_COMPRESSION_BYTES_MAX = 64 * 1024;

const require = createRequire(import.meta.url);

/** The internals of grpc-js's BaseServerInterceptingCall that the patch uses (grpc-js 1.14). */
interface ServerCallInternals {
  readonly stream: ServerHttp2Stream;
  readonly incomingEncoding: string;
  readonly maxReceiveMessageSize: number;
  readonly handler: { serialize(value: unknown): Buffer };
  sendStatus(status: { code: grpc.status; details: string; metadata?: grpc.Metadata | null }): void;
}

type DecompressMessage = (this: ServerCallInternals, message: Buffer, encoding: string) => Buffer | Promise<Buffer>;
type SerializeMessage = (this: ServerCallInternals, value: unknown) => Buffer;
type SendMessage = (this: ServerCallInternals, message: unknown, callback: () => void) => void;
type SendMetadata = (this: ServerCallInternals, metadata: grpc.Metadata | null | undefined) => void;

interface ServerCallPrototype {
  decompressMessage: DecompressMessage;
  serializeMessage: SerializeMessage;
  sendMessage: SendMessage;
  sendMetadata: SendMetadata;
}

const PATCHED_METHODS = ["decompressMessage", "serializeMessage", "sendMessage", "sendMetadata"] as const;

export interface ServerInterceptorsModule {
  BaseServerInterceptingCall: { prototype: ServerCallPrototype };
  getServerInterceptingCall: (interceptors: unknown, stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>, ...rest: unknown[]) => unknown;
}

/** The client's `grpc-accept-encoding`, by request stream; absent when the client sent none. */
const acceptEncodingByStream = new WeakMap<ServerHttp2Stream, string>();

let installed = false;

/**
 * Installs the patch (idempotent).
 * @throws Error when grpc-js is not 1.14.x or lacks a method the patch replaces.
 */
export function installGrpcCompression(): void {
  if (installed) return;
  const version = (require("@grpc/grpc-js/package.json") as { version: string }).version;
  const internals = require("@grpc/grpc-js/build/src/server-interceptors.js") as Partial<ServerInterceptorsModule>;
  assertPatchable(version, internals);
  const prototype = internals.BaseServerInterceptingCall.prototype;
  patchCall(prototype);
  const getServerInterceptingCall = internals.getServerInterceptingCall;
  internals.getServerInterceptingCall = function (interceptors, stream, headers, ...rest) {
    // Only a compressed request gets a compressed answer, so only then does the client's list matter.
    const encoding = headers["grpc-encoding"];
    const accept = headers["grpc-accept-encoding"];
    if (accept !== undefined && typeof encoding === "string" && MESSAGE_CODECS.has(encoding.toLowerCase())) {
      acceptEncodingByStream.set(stream, Array.isArray(accept) ? accept.join(",") : accept);
    }
    return getServerInterceptingCall(interceptors, stream, headers, ...rest);
  };
  installed = true;
}

/**
 * Refuses a grpc-js this patch was not written for: another minor release, or one without a method the
 * patch replaces.
 */
export function assertPatchable(version: string, internals: Partial<ServerInterceptorsModule>): asserts internals is ServerInterceptorsModule {
  if (!PATCHED_GRPC_JS_VERSION.test(version)) {
    throw new Error(`grpc-compression: written for @grpc/grpc-js 1.14.x, found ${version}; review src/server/grpc-compression.ts against its server-interceptors.js`);
  }
  const prototype = internals.BaseServerInterceptingCall?.prototype as Partial<ServerCallPrototype> | undefined;
  const missing = [
    ...PATCHED_METHODS.filter((name) => typeof prototype?.[name] !== "function"),
    ...(typeof internals.getServerInterceptingCall === "function" ? [] : ["getServerInterceptingCall"]),
  ];
  if (missing.length > 0) throw new Error(`grpc-compression: @grpc/grpc-js ${version} lacks ${missing.join(", ")}`);
}

/**
 * The codec for the responses of a call: the request's encoding when Armada has it and the client
 * accepts it (grpc-go answers with the request's compressor); null for identity.
 */
export function responseCodec(requestEncoding: string, acceptEncoding: string | undefined): MessageCodec | null {
  const codec = MESSAGE_CODECS.get(requestEncoding.toLowerCase());
  if (!codec) return null;
  if (acceptEncoding !== undefined && !acceptEncoding.split(",").some((name) => name.trim().toLowerCase() === codec.name)) return null;
  return codec;
}

function codecOf(call: ServerCallInternals): MessageCodec | null {
  return responseCodec(call.incomingEncoding, acceptEncodingByStream.get(call.stream));
}

function patchCall(prototype: ServerCallPrototype): void {
  const { decompressMessage, serializeMessage, sendMessage, sendMetadata } = prototype;

  prototype.decompressMessage = function (message, encoding) {
    // identity (and a message whose compressed flag is 0) keeps grpc-js's own handling.
    if (encoding === IDENTITY) return decompressMessage.call(this, message, encoding);
    const codec = MESSAGE_CODECS.get(encoding.toLowerCase());
    if (!codec) {
      return Promise.reject({ code: grpc.status.UNIMPLEMENTED, details: `Received message compressed with unsupported encoding "${encoding}" (this server accepts ${ACCEPTED_ENCODINGS})` });
    }
    const maxBytes = this.maxReceiveMessageSize === -1 ? Infinity : this.maxReceiveMessageSize;
    return codec.decompress(message.subarray(5), maxBytes).catch((error: unknown) => {
      if (error instanceof DecompressedTooLargeError) {
        throw { code: grpc.status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${this.maxReceiveMessageSize}` };
      }
      const detail = error instanceof CorruptCompressedDataError ? error.message : String(error);
      throw { code: grpc.status.INTERNAL, details: `Failed to decompress message: ${detail}` };
    });
  };

  prototype.serializeMessage = function (value) {
    // Already framed: compressed by `sendMessage` below, or encoded into its frame by a handler
    // (api/framed-response.ts; an uncompressed call's message is sent without another copy).
    return value instanceof FramedResponse ? value.frame : serializeMessage.call(this, value);
  };

  prototype.sendMessage = function (message, callback) {
    const codec = codecOf(this);
    if (!codec) return sendMessage.call(this, message, callback);
    let serialized: Buffer;
    try {
      serialized = this.handler.serialize(message);
    } catch {
      // grpc-js reports serialization errors its own way; let it.
      return sendMessage.call(this, message, callback);
    }
    if (serialized.length <= SYNC_COMPRESSION_BYTES_MAX) {
      return sendMessage.call(this, FramedResponse.of(codec.compressSync(serialized), true), callback);
    }
    // Writes of one call are sequential (the next waits for `callback`) and the status follows the last
    // write's callback, so finishing later keeps the order. A call ended meanwhile drops the message.
    codec.compress(serialized).then(
      (compressed) => {
        if (this.stream.writableEnded || this.stream.destroyed) return;
        sendMessage.call(this, FramedResponse.of(compressed, true), callback);
      },
      (error: unknown) => this.sendStatus({ code: grpc.status.INTERNAL, details: `Failed to compress response: ${String(error)}`, metadata: null }),
    );
  };

  prototype.sendMetadata = function (metadata) {
    const headers = metadata ? metadata.clone() : new grpc.Metadata();
    headers.set("grpc-encoding", codecOf(this)?.name ?? IDENTITY);
    headers.set("grpc-accept-encoding", ACCEPTED_ENCODINGS);
    return sendMetadata.call(this, headers);
  };
}
