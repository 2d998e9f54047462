/**
 * A shorter server path for plain unary calls: the request is read from the HTTP/2 stream, handed to the
 * handler and answered here, without grpc-js's per-call machinery (its intercepting call object, listener
 * chain, stream decoder, metadata copy and deadline timer).
 *
 * Why: on the KV hot paths that machinery cost about as much as the work itself. A no-op unary server on
 * grpc-js answered 16,000 calls/s on one core of the benchmark machine, the same on bare node:http2 28,000–
 * 30,000 (docs/performance.md, change 20).
 *
 * What takes this path: a unary method registered with {@link registerFastUnary}, called with a gRPC
 * content type and an uncompressed request (no `grpc-encoding`, or `identity`), on a server without
 * grpc-js interceptors. Everything else (compressed requests, streams, unknown methods, bad content types)
 * goes to grpc-js as before. The answers are those grpc-js gives: the same status codes and details for a
 * missing or second request message, a message over the receive limit, an invalid `grpc-timeout`, a
 * passed deadline; the same response headers (with the encodings server/grpc-compression.ts accepts).
 *
 * How: grpc-js 1.14 hands every stream of its HTTP/2 servers to `Server.prototype._streamHandler` (bound
 * when a port is bound). {@link installFastUnary} wraps that method once per process; it refuses any other
 * grpc-js minor release, so an upgrade fails in the tests instead of silently changing behaviour.
 */
import { createRequire } from "node:module";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { ACCEPTED_ENCODINGS, IDENTITY } from "../compression/index.js";
import { GRPC_FRAME_HEADER_BYTES as FRAME_HEADER_BYTES } from "./framed-response.js";
import { watchHttp2Session } from "../runtime/fresh-tables.js";
import { answerWithTrailers, prepareHeaders } from "./direct-response.js";

/** The grpc-js minor release whose internals this module was written against. */
const PATCHED_GRPC_JS_VERSION = /^1\.14\./;
/** grpc-js's receive limit when a server sets none. */
const DEFAULT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;
/** grpc-js's format of `grpc-timeout` (a number of units: hours, minutes, seconds, ms, µs, ns). */
const TIMEOUT_HEADER = /(\d{1,8})\s*([HMSmun])/;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
/** The headers and trailers of every successful answer (grpc-js sends the same). */
const OK_HEADERS = prepareHeaders({ ":status": "200", "content-type": "application/grpc+proto", "grpc-accept-encoding": ACCEPTED_ENCODINGS, "grpc-encoding": IDENTITY });
const OK_TRAILERS = prepareHeaders({ "grpc-status": "0", "grpc-message": "OK" });
/** Request headers grpc-js keeps out of the metadata a handler sees. */
const TRANSPORT_HEADERS = ["grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "accept-encoding", "te", "content-type"];

/** Runs one call whose request message (unprefixed bytes) has arrived; answers through `call`. */
export type FastUnaryRunner = (call: FastUnaryCall, request: Buffer) => void;

/** The internals of grpc-js's Server that this module uses (grpc-js 1.14). */
interface ServerInternals {
  readonly options: grpc.ServerOptions;
  readonly interceptors: readonly unknown[];
  onStreamOpened(stream: ServerHttp2Stream): void;
  _streamHandler(extraInterceptors: readonly unknown[], stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

/** The fast methods of each server, by path. */
const fastMethods = new WeakMap<grpc.Server, Map<string, FastUnaryRunner>>();
let installed = false;
/** Calls that took the fast path in this process (tests check which path a call took). */
let fastCalls = 0;

export function fastUnaryCallCount(): number {
  return fastCalls;
}

/** Makes `path` on `server` take the fast path (when its calls qualify, see the module comment). */
export function registerFastUnary(server: grpc.Server, path: string, runner: FastUnaryRunner): void {
  installFastUnary();
  let methods = fastMethods.get(server);
  if (!methods) fastMethods.set(server, (methods = new Map()));
  methods.set(path, runner);
}

/**
 * Wraps grpc-js's stream handler (idempotent).
 * @throws Error when grpc-js is not 1.14.x or lacks the method wrapped.
 */
export function installFastUnary(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const version = (require("@grpc/grpc-js/package.json") as { version: string }).version;
  const prototype = grpc.Server.prototype as unknown as Partial<ServerInternals>;
  if (!PATCHED_GRPC_JS_VERSION.test(version)) {
    throw new Error(`fast-unary: written for @grpc/grpc-js 1.14.x, found ${version}; review src/api/fast-unary.ts against its server.js`);
  }
  const original = prototype._streamHandler;
  if (typeof original !== "function" || typeof prototype.onStreamOpened !== "function") {
    throw new Error(`fast-unary: @grpc/grpc-js ${version} lacks Server._streamHandler or onStreamOpened`);
  }
  prototype._streamHandler = function (this: ServerInternals, extraInterceptors, stream, headers) {
    // The connection's table of open streams must not chain promotions (runtime/fresh-tables.ts).
    watchHttp2Session(stream.session);
    const runner = fastMethods.get(this as unknown as grpc.Server)?.get(headers[":path"] ?? "");
    if (runner === undefined || !qualifies(headers) || extraInterceptors.length > 0 || this.interceptors.length > 0) {
      original.call(this, extraInterceptors, stream, headers);
      return;
    }
    // What grpc-js does for every stream: an error here is followed by "close", which ends the call.
    stream.once("error", () => undefined);
    this.onStreamOpened(stream);
    fastCalls++;
    const limit = this.options["grpc.max_receive_message_length"];
    new FastUnaryCall(stream, headers, typeof limit === "number" ? limit : DEFAULT_MAX_RECEIVE_BYTES).start(runner);
  };
  installed = true;
}

/** A gRPC unary call with an uncompressed request; anything else stays with grpc-js. */
function qualifies(headers: IncomingHttpHeaders): boolean {
  const contentType = headers["content-type"];
  if (typeof contentType !== "string" || !contentType.startsWith("application/grpc")) return false;
  const encoding = headers["grpc-encoding"];
  return encoding === undefined || encoding === IDENTITY;
}

/**
 * One call on the fast path: reads the request, keeps the deadline and the client's cancellation, and
 * answers once (the first answer wins; later ones, and any after the client left, are dropped). Offers
 * what a handler's call context reads of a grpc-js call (api/bind.ts `CallSource`).
 */
export class FastUnaryCall {
  /** `Date.now()` at which the client's deadline passes; Infinity without one. */
  #deadlineAtMs = Infinity;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #metadata: grpc.Metadata | null = null;
  #cancelListeners: (() => void)[] | null = null;
  /** Set when the call was answered or the client left: nothing more is sent. */
  #ended = false;
  cancelled = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    private readonly maxReceiveBytes: number,
  ) {}

  /** Reads the request and runs `runner` with it, or answers the error grpc-js would. */
  start(runner: FastUnaryRunner): void {
    const stream = this.stream;
    stream.once("close", () => this.#onClose());
    const timeout = this.headers["grpc-timeout"];
    if (timeout !== undefined && !this.#startDeadline(timeout)) return;
    let chunks: Buffer[] | null = null;
    let first: Buffer | null = null;
    let received = 0;
    /** Bytes of the first message with its prefix, once the prefix is in. */
    let frameBytes = -1;
    stream.on("data", (chunk: Buffer) => {
      if (this.#ended) return;
      received += chunk.length;
      if (first === null) first = chunk;
      else (chunks ??= [first]).push(chunk);
      // The length prefix is checked as soon as it is in, as grpc-js's decoder does.
      if (frameBytes < 0 && received >= FRAME_HEADER_BYTES) {
        const length = (chunks ? Buffer.concat(chunks, FRAME_HEADER_BYTES) : first).readUInt32BE(1);
        if (this.maxReceiveBytes !== -1 && length > this.maxReceiveBytes) {
          this.sendStatus(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.maxReceiveBytes})`);
          return;
        }
        frameBytes = FRAME_HEADER_BYTES + length;
      }
      // Bytes past the first message begin a second one: refused at once, so nothing more piles up.
      if (frameBytes >= 0 && received > frameBytes) {
        this.sendStatus(grpc.status.UNIMPLEMENTED, `Received a second request message for server streaming method ${this.headers[":path"]}`);
      }
    });
    stream.once("end", () => {
      if (this.#ended) return;
      const body = chunks ? Buffer.concat(chunks, received) : (first ?? Buffer.alloc(0));
      const length = body.length >= FRAME_HEADER_BYTES ? body.readUInt32BE(1) : -1;
      const path = this.headers[":path"];
      if (length < 0 || body.length < FRAME_HEADER_BYTES + length) {
        this.sendStatus(grpc.status.UNIMPLEMENTED, `Received no request message for server streaming method ${path}`);
      } else if (body.length > FRAME_HEADER_BYTES + length) {
        this.sendStatus(grpc.status.UNIMPLEMENTED, `Received a second request message for server streaming method ${path}`);
      } else {
        // The compressed flag of an identity request is ignored, as grpc-js does.
        runner(this, body.subarray(FRAME_HEADER_BYTES));
      }
    });
  }

  /** The request's metadata as grpc-js gives it to handlers (built on first use: most calls never look). */
  get metadata(): grpc.Metadata {
    if (this.#metadata === null) {
      const metadata = grpc.Metadata.fromHttp2Headers(this.headers);
      for (const name of TRANSPORT_HEADERS) metadata.remove(name);
      this.#metadata = metadata;
    }
    return this.#metadata;
  }

  getDeadline(): number {
    return this.#deadlineAtMs;
  }

  getPeer(): string {
    const socket = this.stream.session?.socket;
    if (!socket?.remoteAddress) return "unknown";
    return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
  }

  /** `listener` runs when the client cancels or the deadline passes (as grpc-js's "cancelled" event). */
  on(_event: "cancelled", listener: () => void): void {
    (this.#cancelListeners ??= []).push(listener);
  }

  removeListener(_event: "cancelled", listener: () => void): void {
    const listeners = this.#cancelListeners;
    const index = listeners?.indexOf(listener) ?? -1;
    if (index >= 0) listeners!.splice(index, 1);
  }

  /** Answers with one response message (already serialized, unprefixed) and status OK. */
  sendMessage(message: Uint8Array): void {
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, FRAME_HEADER_BYTES);
    this.sendFrame(frame);
  }

  /** Answers with one response message already in its gRPC frame (framed-response.ts) and status OK. */
  sendFrame(frame: Buffer): void {
    if (this.#ended || this.#gone()) return;
    this.#end();
    answerWithTrailers(this.stream, OK_HEADERS, frame, OK_TRAILERS);
  }

  /** Answers with a status and no message (a trailers-only response). */
  sendStatus(code: grpc.status, details: string, metadata?: grpc.Metadata): void {
    if (this.#ended || this.#gone()) return;
    this.#end();
    this.stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc+proto",
        "grpc-status": String(code),
        "grpc-message": encodeURI(details),
        ...metadata?.toHttp2Headers(),
      },
      { endStream: true },
    );
  }

  /** Parses `grpc-timeout` and arms the deadline; false (after answering INTERNAL) when it is invalid. */
  #startDeadline(header: string | string[]): boolean {
    const text = Array.isArray(header) ? header[0] ?? "" : header;
    const match = TIMEOUT_HEADER.exec(text);
    if (match === null) {
      this.sendStatus(grpc.status.INTERNAL, `Invalid grpc-timeout value "${text}"`);
      return false;
    }
    const timeoutMs = (Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!) | 0;
    this.#deadlineAtMs = Date.now() + timeoutMs;
    this.#deadlineTimer = setTimeout(() => {
      this.sendStatus(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded");
      this.#notifyCancelled();
    }, timeoutMs);
    return true;
  }

  /** Whether the stream is already gone (it can be destroyed before "close" is emitted). */
  #gone(): boolean {
    if (this.stream.destroyed || this.stream.closed) {
      this.#onClose();
      return true;
    }
    return false;
  }

  #end(): void {
    this.#ended = true;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
  }

  #onClose(): void {
    if (this.#ended) return;
    this.#end();
    this.#notifyCancelled();
  }

  #notifyCancelled(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.#cancelListeners;
    if (listeners) for (const listener of [...listeners]) listener();
  }
}
