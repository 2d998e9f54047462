/**
 * A shorter server path for plain unary calls, and on Armada's own HTTP/2 front for server streams: the
 * request is read from the HTTP/2 stream, handed to the handler and answered here, without grpc-js's
 * per-call machinery (its intercepting call object, listener chain, stream decoder, metadata copy and
 * deadline timer).
 *
 * Why: on the KV hot paths that machinery cost about as much as the work itself. A no-op unary server on
 * grpc-js answered 16,000 calls/s on one core of the benchmark machine, the same on bare node:http2 28,000–
 * 30,000 (docs/performance.md, change 20).
 *
 * What takes this path: a unary method registered with {@link registerFastUnary}, called with a gRPC
 * content type and an uncompressed request (no `grpc-encoding`, or `identity`), on a server without
 * grpc-js interceptors; and the same for a server-streaming method registered with
 * {@link registerFastServerStream} when the client's connection is served by the HTTP/2 front
 * (server/http2-front.ts), which would otherwise relay the stream to grpc-js over a second, in-process
 * HTTP/2 connection. Everything else (compressed requests, client streams, unknown methods, bad content
 * types) goes to grpc-js as before. The answers are those grpc-js gives: the same status codes and details for a
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
export type FastRunner = (call: FastCall, request: Buffer) => void;

/** The internals of grpc-js's Server that this module uses (grpc-js 1.14). */
interface ServerInternals {
  readonly options: grpc.ServerOptions;
  readonly interceptors: readonly unknown[];
  onStreamOpened(stream: ServerHttp2Stream): void;
  _streamHandler(extraInterceptors: readonly unknown[], stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

/** The fast unary methods of each server, by path. */
const fastMethods = new WeakMap<grpc.Server, Map<string, FastRunner>>();
/** The fast server-streaming methods of each server, by path (taken behind the HTTP/2 front only). */
const fastStreams = new WeakMap<grpc.Server, Map<string, FastRunner>>();
let installed = false;
/** Calls that took the fast path in this process (tests check which path a call took). */
let fastCalls = 0;

export function fastCallCount(): number {
  return fastCalls;
}

/** Makes `path` on `server` take the fast path (when its calls qualify, see the module comment). */
export function registerFastUnary(server: grpc.Server, path: string, runner: FastRunner): void {
  installFastUnary();
  register(fastMethods, server, path, runner);
}

/**
 * Makes the server-streaming `path` on `server` take the fast path behind the HTTP/2 front (when its calls
 * qualify). The runner answers with {@link FastCall.writeStreamFrame} and {@link FastCall.endStream}.
 */
export function registerFastServerStream(server: grpc.Server, path: string, runner: FastRunner): void {
  register(fastStreams, server, path, runner);
}

function register(registry: WeakMap<grpc.Server, Map<string, FastRunner>>, server: grpc.Server, path: string, runner: FastRunner): void {
  let methods = registry.get(server);
  if (!methods) registry.set(server, (methods = new Map()));
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
    const runner = fastRunner(this as unknown as grpc.Server, headers);
    if (runner === undefined || extraInterceptors.length > 0) {
      original.call(this, extraInterceptors, stream, headers);
      return;
    }
    // What grpc-js does for every stream: an error here is followed by "close", which ends the call.
    stream.once("error", () => undefined);
    this.onStreamOpened(stream);
    const call = new FastCall(headers, new NodeStreamTransport(stream), receiveLimit(this as unknown as grpc.Server));
    stream.once("close", () => call.clientLeft());
    if (!call.start(runner)) return;
    stream.on("data", (chunk: Buffer) => call.receive(chunk));
    stream.once("end", () => call.receiveEnd());
  };
  installed = true;
}

/**
 * The runner of a call that may take the fast path on `server`: a registered method, a gRPC content type,
 * an uncompressed request, no grpc-js interceptors. Undefined when grpc-js must serve the call.
 */
export function fastRunner(server: grpc.Server, headers: FastCallHeaders): FastRunner | undefined {
  return qualifiedRunner(fastMethods, server, headers);
}

/** Like {@link fastRunner}, for the server-streaming methods; for a transport that can stream (the front). */
export function fastStreamRunner(server: grpc.Server, headers: FastCallHeaders): FastRunner | undefined {
  return qualifiedRunner(fastStreams, server, headers);
}

function qualifiedRunner(registry: WeakMap<grpc.Server, Map<string, FastRunner>>, server: grpc.Server, headers: FastCallHeaders): FastRunner | undefined {
  const path = headers[":path"];
  const runner = typeof path === "string" ? registry.get(server)?.get(path) : undefined;
  if (runner === undefined || !qualifies(headers) || (server as unknown as ServerInternals).interceptors.length > 0) return undefined;
  return runner;
}

/** The largest request message `server` accepts (its grpc-js option, or grpc-js's default). */
export function receiveLimit(server: grpc.Server): number {
  const limit = (server as unknown as ServerInternals).options["grpc.max_receive_message_length"];
  return typeof limit === "number" ? limit : DEFAULT_MAX_RECEIVE_BYTES;
}

/** A gRPC unary call with an uncompressed request; anything else stays with grpc-js. */
function qualifies(headers: FastCallHeaders): boolean {
  const contentType = headers["content-type"];
  if (typeof contentType !== "string" || !contentType.startsWith("application/grpc")) return false;
  const encoding = headers["grpc-encoding"];
  return encoding === undefined || encoding === IDENTITY;
}

/** Request headers as node:http2 and the own HTTP/2 layer (src/http2) give them. */
export type FastCallHeaders = IncomingHttpHeaders | Readonly<Record<string, string | string[] | undefined>>;

/** How a fast call answers on its HTTP/2 stream. */
export interface UnaryTransport {
  /** Headers, the message in its gRPC frame, and OK trailers. */
  answerOk(frame: Buffer): void;
  /** A trailers-only answer: status, percent-encoded details, and the handler's metadata as HTTP/2 fields. */
  answerStatus(code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): void;
  /** The stream is already gone (it can be destroyed before its close is reported). */
  readonly gone: boolean;
  /** `address:port` of the client, or "unknown". */
  peer(): string;
}

/** How a fast server stream answers: the headers once, messages as the client takes them, then trailers. */
export interface StreamTransport extends UnaryTransport {
  /** Sends the OK response headers (before the first message). */
  startStream(): void;
  /** Queues bytes of a message's gRPC frame; false when the client is behind (wait for {@link onDrain}). */
  writeData(bytes: Buffer): boolean;
  /** `listener` runs once, when the queued messages have fallen below the high-water mark. */
  onDrain(listener: () => void): void;
  /** Trailers after the messages: status, percent-encoded details and the handler's metadata as HTTP/2 fields. */
  endStream(code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): void;
}

/** A fast call's transport on a node:http2 stream (the path grpc-js's server hands over). */
export class NodeStreamTransport implements UnaryTransport {
  constructor(private readonly stream: ServerHttp2Stream) {}

  answerOk(frame: Buffer): void {
    answerWithTrailers(this.stream, OK_HEADERS, frame, OK_TRAILERS);
  }

  answerStatus(code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): void {
    this.stream.respond(
      { ":status": 200, "content-type": "application/grpc+proto", "grpc-status": String(code), "grpc-message": encodedDetails, ...metadata },
      { endStream: true },
    );
  }

  get gone(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  peer(): string {
    return peerOf(this.stream.session?.socket);
  }
}

/** `address:port` of a socket, as grpc-js reports a call's peer. */
export function peerOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined } | undefined): string {
  if (!socket?.remoteAddress) return "unknown";
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
}

/**
 * One call on the fast path: reads the request, keeps the deadline and the client's cancellation, and
 * answers once (the first answer wins; later ones, and any after the client left, are dropped). A server
 * stream's answer is its messages ({@link writeStreamFrame}) and then its end ({@link endStream}, or a
 * status, which then goes in the trailers). Offers
 * what a handler's call context reads of a grpc-js call (api/bind.ts `CallSource`). The transport feeds it
 * the request ({@link receive}, {@link receiveEnd}) and the client's departure ({@link clientLeft}).
 */
export class FastCall {
  /** `Date.now()` at which the client's deadline passes; Infinity without one. */
  #deadlineAtMs = Infinity;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #metadata: grpc.Metadata | null = null;
  #cancelListeners: (() => void)[] | null = null;
  /** Set when the call was answered or the client left: nothing more is sent. */
  #ended = false;
  #runner: FastRunner | null = null;
  #chunks: Buffer[] | null = null;
  #first: Buffer | null = null;
  #received = 0;
  /** Bytes of the first message with its prefix, once the prefix is in. */
  #frameBytes = -1;
  /** A server stream sent its headers: its status now goes in trailers. */
  #streaming = false;
  cancelled = false;

  constructor(
    private readonly headers: FastCallHeaders,
    private readonly transport: UnaryTransport,
    private readonly maxReceiveBytes: number,
  ) {
    fastCalls++;
  }

  /** Arms the deadline; false (after answering INTERNAL, as grpc-js does) when `grpc-timeout` is invalid. */
  start(runner: FastRunner): boolean {
    this.#runner = runner;
    const timeout = this.headers["grpc-timeout"];
    return timeout === undefined || this.#startDeadline(timeout);
  }

  /** A piece of the request body. */
  receive(chunk: Buffer): void {
    if (this.#ended) return;
    this.#received += chunk.length;
    if (this.#first === null) this.#first = chunk;
    else (this.#chunks ??= [this.#first]).push(chunk);
    // The length prefix is checked as soon as it is in, as grpc-js's decoder does.
    if (this.#frameBytes < 0 && this.#received >= FRAME_HEADER_BYTES) {
      const length = (this.#chunks ? Buffer.concat(this.#chunks, FRAME_HEADER_BYTES) : this.#first).readUInt32BE(1);
      if (this.maxReceiveBytes !== -1 && length > this.maxReceiveBytes) {
        this.sendStatus(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.maxReceiveBytes})`);
        return;
      }
      this.#frameBytes = FRAME_HEADER_BYTES + length;
    }
    // Bytes past the first message begin a second one: refused at once, so nothing more piles up.
    if (this.#frameBytes >= 0 && this.#received > this.#frameBytes) {
      this.sendStatus(grpc.status.UNIMPLEMENTED, `Received a second request message for server streaming method ${this.headers[":path"]}`);
    }
  }

  /** The request is complete: runs the handler, or answers what grpc-js answers for a bad body. */
  receiveEnd(): void {
    if (this.#ended || this.#runner === null) return;
    const body = this.#chunks ? Buffer.concat(this.#chunks, this.#received) : (this.#first ?? Buffer.alloc(0));
    this.#chunks = null;
    this.#first = null;
    const length = body.length >= FRAME_HEADER_BYTES ? body.readUInt32BE(1) : -1;
    const path = this.headers[":path"];
    if (length < 0 || body.length < FRAME_HEADER_BYTES + length) {
      this.sendStatus(grpc.status.UNIMPLEMENTED, `Received no request message for server streaming method ${path}`);
    } else if (body.length > FRAME_HEADER_BYTES + length) {
      this.sendStatus(grpc.status.UNIMPLEMENTED, `Received a second request message for server streaming method ${path}`);
    } else {
      // The compressed flag of an identity request is ignored, as grpc-js does.
      this.#runner(this, body.subarray(FRAME_HEADER_BYTES));
    }
  }

  /** The client reset the stream or the connection ended: a call not yet answered is cancelled. */
  clientLeft(): void {
    if (this.#ended) return;
    this.#end();
    this.#notifyCancelled();
  }

  /** The request's metadata as grpc-js gives it to handlers (built on first use: most calls never look). */
  get metadata(): grpc.Metadata {
    if (this.#metadata === null) {
      const metadata = grpc.Metadata.fromHttp2Headers(this.headers as IncomingHttpHeaders);
      for (const name of TRANSPORT_HEADERS) metadata.remove(name);
      this.#metadata = metadata;
    }
    return this.#metadata;
  }

  getDeadline(): number {
    return this.#deadlineAtMs;
  }

  getPeer(): string {
    return this.transport.peer();
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

  /** Answers with one response message already in its gRPC frame (framed-response.ts) and status OK. */
  sendFrame(frame: Buffer): void {
    if (this.#ended || this.#gone()) return;
    this.#end();
    this.transport.answerOk(frame);
  }

  /**
   * Answers with a status: without a message (a trailers-only response), or, on a server stream whose
   * messages have begun, in the trailers after them.
   */
  sendStatus(code: grpc.status, details: string, metadata?: grpc.Metadata): void {
    if (this.#ended || this.#gone()) return;
    this.#end();
    const fields = metadata?.toHttp2Headers() as Record<string, string | string[]> | undefined;
    if (this.#streaming) (this.transport as StreamTransport).endStream(code, encodeURI(details), fields);
    else this.transport.answerStatus(code, encodeURI(details), fields);
  }

  /**
   * Sends one message of a server stream, its gRPC frame in one or more pieces (the headers go first). False
   * when the client is behind: wait for {@link whenDrained} before the next. After the call ended (the
   * client left, the deadline passed) the message is dropped; the call's cancellation tells the handler to stop.
   */
  writeStreamFrame(pieces: readonly Buffer[]): boolean {
    if (this.#ended || this.#gone()) return true;
    const transport = this.transport as StreamTransport;
    if (!this.#streaming) {
      this.#streaming = true;
      transport.startStream();
    }
    let accepted = true;
    for (const piece of pieces) accepted = transport.writeData(piece);
    return accepted;
  }

  /** `listener` runs once, when the client has taken enough of the stream's queued messages. */
  whenDrained(listener: () => void): void {
    (this.transport as StreamTransport).onDrain(listener);
  }

  /** Ends a server stream with status OK and `trailers` (a stream without messages answers trailers-only). */
  endStream(trailers?: grpc.Metadata): void {
    if (!this.#streaming) {
      this.sendStatus(grpc.status.OK, "OK", trailers);
      return;
    }
    if (this.#ended || this.#gone()) return;
    this.#end();
    (this.transport as StreamTransport).endStream(grpc.status.OK, "OK", trailers?.toHttp2Headers() as Record<string, string | string[]> | undefined);
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

  /** Whether the stream is already gone (it can be destroyed before its close is reported). */
  #gone(): boolean {
    if (this.transport.gone) {
      this.clientLeft();
      return true;
    }
    return false;
  }

  #end(): void {
    this.#ended = true;
    this.#runner = null;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
  }

  #notifyCancelled(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.#cancelListeners;
    if (listeners) for (const listener of [...listeners]) listener();
  }
}
