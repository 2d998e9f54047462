/**
 * The API listener's HTTP/2 front: client connections are served by Armada's own HTTP/2 layer
 * (src/http2) instead of node:http2. Plain unary calls that qualify for the fast path (api/fast-unary.ts)
 * are answered right there; every other stream (server streaming, compressed requests, unknown methods,
 * reflection, health, servers with interceptors) is passed to grpc-js unchanged, over one in-process
 * HTTP/2 connection per client connection, so grpc-js keeps answering those exactly as before.
 *
 * Why: node:http2 makes every request header value an external string that only a full collection frees,
 * and those collections were what kept the p99 of serializable reads above a millisecond
 * (docs/performance.md, finding 36 and change 37).
 *
 * `ARMADA_API_HTTP2=node` in the environment turns the front off (grpc-js serves every connection, as
 * before change 37): the way back if a client misbehaves with the front.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { Duplex } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { ErrorCode } from "../http2/frames.js";
import { Http2ServerConnection, type ServerStream } from "../http2/connection.js";
import { encodeHeaderBlock } from "../http2/hpack.js";
import { ACCEPTED_ENCODINGS, IDENTITY } from "../compression/index.js";
import { FastCall, fastRunner, fastStreamRunner, peerOf, receiveLimit, type StreamTransport } from "../api/fast-unary.js";

export interface FrontOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS of client connections; 0 or absent: the layer's default. */
  readonly maxConcurrentStreams?: number;
  /** Client connections are asked to go away (GOAWAY) after this long, ±10%. */
  readonly maxConnectionAgeMs?: number;
}

/** Takes the sockets a listener accepted (TCP, Unix or TLS), as grpc-js's connection injector does. */
export interface ConnectionInjector {
  injectConnection(connection: Duplex): void;
}

interface Front {
  readonly options: FrontOptions;
  readonly connections: Set<FrontConnection>;
}

const fronts = new WeakMap<grpc.Server, Front>();

/** Whether the environment asks for node:http2 instead of the front. */
export function frontDisabled(): boolean {
  return process.env["ARMADA_API_HTTP2"] === "node";
}

/** Serves the client connections of `server`'s listeners with the front (unless {@link frontDisabled}). */
export function enableHttp2Front(server: grpc.Server, options: FrontOptions = {}): void {
  if (frontDisabled()) return;
  fronts.set(server, { options, connections: new Set() });
}

export function hasHttp2Front(server: grpc.Server): boolean {
  return fronts.has(server);
}

/** Where a listener of `server` hands its accepted sockets: the front, or grpc-js's own injector. */
export function connectionInjector(server: grpc.Server, credentials: grpc.ServerCredentials): ConnectionInjector {
  const front = fronts.get(server);
  if (front === undefined) return server.createConnectionInjector(credentials);
  // Streams the front passes on reach grpc-js as plain HTTP/2 (TLS, if any, ended at the front).
  const inner = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  return {
    injectConnection(socket: Duplex): void {
      const connection = new FrontConnection(server, front, socket, inner);
      front.connections.add(connection);
      socket.once("close", () => front.connections.delete(connection));
    },
  };
}

/**
 * Asks every front connection of `server` to go away (GOAWAY; their open calls finish), or with `force`
 * ends them at once. grpc-js's own shutdown does the same for the connections it serves.
 */
export function closeFrontConnections(server: grpc.Server, force: boolean): void {
  const front = fronts.get(server);
  if (front === undefined) return;
  for (const connection of front.connections) connection.close(force);
}

/** Front connections of `server` still serving (shutdown waits for them). */
export function frontConnectionCount(server: grpc.Server): number {
  let open = 0;
  for (const connection of fronts.get(server)?.connections ?? []) if (!connection.ended) open++;
  return open;
}

/** One client connection: its HTTP/2 layer, and the in-process connection to grpc-js, opened on first need. */
class FrontConnection {
  readonly #http2: Http2ServerConnection;
  #inner: ClientHttp2Session | null = null;

  constructor(
    private readonly server: grpc.Server,
    front: Front,
    private readonly socket: Duplex,
    private readonly innerInjector: ConnectionInjector,
  ) {
    const { maxConcurrentStreams, maxConnectionAgeMs } = front.options;
    this.#http2 = new Http2ServerConnection(socket, {
      ...(maxConcurrentStreams !== undefined && maxConcurrentStreams > 0 ? { maxConcurrentStreams } : {}),
      ...(maxConnectionAgeMs !== undefined ? { maxConnectionAgeMs } : {}),
      onStream: (stream) => this.#route(stream),
      onHeaderListTooLarge: (stream, limit) => {
        stream.respond(statusBlock(grpc.status.RESOURCE_EXHAUSTED, `request headers exceed the limit of ${limit} bytes`, undefined), true);
      },
    });
    socket.once("close", () => this.#inner?.destroy());
  }

  get ended(): boolean {
    return this.#http2.destroyed;
  }

  close(force: boolean): void {
    if (force) {
      this.#http2.destroy();
      this.#inner?.destroy();
    } else {
      this.#http2.close();
    }
  }

  #route(stream: ServerStream): void {
    const runner = fastRunner(this.server, stream.headers) ?? fastStreamRunner(this.server, stream.headers);
    if (runner === undefined) {
      this.#passOn(stream);
      return;
    }
    const call = new FastCall(stream.headers, new FrontTransport(stream, this.socket), receiveLimit(this.server));
    stream.onClose = () => call.clientLeft();
    if (!call.start(runner)) return;
    stream.onData = (chunk) => {
      // The call bounds what it keeps (one message, under the receive limit), so the window returns at once.
      stream.consume(chunk.length);
      call.receive(chunk);
    };
    stream.onEnd = () => call.receiveEnd();
  }

  /** Passes a stream to grpc-js over the in-process connection and relays its answer. */
  #passOn(stream: ServerStream): void {
    let request: ClientHttp2Stream;
    try {
      request = this.#innerSession().request(forwardedHeaders(stream.headers), { endStream: false });
    } catch (error) {
      // A closed in-process connection (the server is shutting down), or headers node:http2 refuses.
      stream.respond(statusBlock(grpc.status.INTERNAL, encodeURI(`the call could not be passed on: ${error instanceof Error ? error.message : String(error)}`), undefined), true);
      return;
    }
    let answered = false;
    request.on("error", () => undefined);
    request.on("response", (headers: IncomingHttpHeaders, flags: number) => {
      const block = encodeOrReset(stream, headers);
      if (block === null) return void request.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      answered = true;
      stream.respond(block, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0);
    });
    request.on("data", (chunk: Buffer) => {
      if (!stream.write(chunk)) request.pause();
    });
    stream.onDrain = () => request.resume();
    // node:http2 can report the trailers while the body is still buffered in the paused stream: they are
    // sent once the body has been read to its end.
    let trailerBlock: Buffer | null = null;
    request.on("trailers", (trailers: IncomingHttpHeaders) => {
      trailerBlock = encodeOrReset(stream, trailers);
      if (trailerBlock === null) request.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    request.on("end", () => {
      if (!answered || stream.closed) return;
      stream.end(trailerBlock);
    });
    request.on("close", () => {
      if (stream.closed || stream.pendingEnd !== undefined) return;
      // grpc-js reset the stream, or the in-process connection ended, before a complete answer.
      if (answered && request.rstCode === http2.constants.NGHTTP2_NO_ERROR) stream.end(null);
      else if (!stream.headersSent) stream.respond(statusBlock(grpc.status.UNAVAILABLE, "the call ended before an answer", undefined), true);
      else stream.reset(request.rstCode === http2.constants.NGHTTP2_NO_ERROR ? ErrorCode.InternalError : request.rstCode);
    });
    stream.onData = (chunk) => {
      request.write(chunk, () => stream.consume(chunk.length));
    };
    stream.onEnd = () => request.end();
    stream.onClose = () => {
      if (!request.closed) request.close(http2.constants.NGHTTP2_CANCEL);
    };
  }

  /** The in-process HTTP/2 connection to grpc-js; a new one when the last was closed or asked to go away. */
  #innerSession(): ClientHttp2Session {
    const current = this.#inner;
    if (current !== null && !current.closed && !current.destroyed) return current;
    const [clientSide, serverSide] = duplexPair();
    this.innerInjector.injectConnection(serverSide);
    const session = http2.connect("http://armada.internal", {
      createConnection: () => clientSide,
      // As large as grpc-js's own defaults allow, so relaying adds no flow-control round trips.
      settings: { initialWindowSize: 1 << 24 },
    });
    session.on("error", () => undefined);
    session.setLocalWindowSize(1 << 24);
    // grpc-js ends its connections after their maximum age: the next stream opens a new one.
    session.on("goaway", () => {
      if (this.#inner === session) this.#inner = null;
    });
    session.on("close", () => {
      if (this.#inner === session) this.#inner = null;
    });
    this.#inner = session;
    return session;
  }
}

/** The fast path's answers on a front stream, with the blocks of OK answers built once. */
class FrontTransport implements StreamTransport {
  constructor(private readonly stream: ServerStream, private readonly socket: Duplex) {}

  answerOk(frame: Buffer): void {
    this.stream.answer(OK_HEAD_BLOCK, frame, OK_TRAILER_BLOCK);
  }

  answerStatus(code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): void {
    this.stream.respond(withMetadata(metadata, (fields) => statusBlock(code, encodedDetails, fields)), true);
  }

  startStream(): void {
    this.stream.respond(OK_HEAD_BLOCK, false);
  }

  writeData(bytes: Buffer): boolean {
    return this.stream.write(bytes);
  }

  onDrain(listener: () => void): void {
    this.stream.onDrain = () => {
      this.stream.onDrain = null;
      listener();
    };
  }

  endStream(code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): void {
    this.stream.end(withMetadata(metadata, (fields) => trailerBlock(code, encodedDetails, fields)));
  }

  get gone(): boolean {
    return this.stream.closed;
  }

  peer(): string {
    return peerOf(this.socket as Partial<{ remoteAddress: string; remotePort: number }>);
  }
}

/** The headers and trailers of every successful fast answer (as grpc-js and the node:http2 path send). */
const OK_HEAD_BLOCK = encodeHeaderBlock([
  [":status", "200"],
  ["content-type", "application/grpc+proto"],
  ["grpc-accept-encoding", ACCEPTED_ENCODINGS],
  ["grpc-encoding", IDENTITY],
]);
const OK_TRAILER_BLOCK = encodeHeaderBlock([
  ["grpc-status", "0"],
  ["grpc-message", "OK"],
]);

/**
 * The block `build` makes with the handler's metadata, or without it when a value cannot be sent: grpc-js's
 * Metadata admits only valid values, so that is a bug's path, and the status still gets out.
 */
function withMetadata(metadata: Record<string, string | string[]> | undefined, build: (metadata: Record<string, string | string[]> | undefined) => Buffer): Buffer {
  try {
    return build(metadata);
  } catch {
    return build(undefined);
  }
}

/** A trailers-only answer's header block. */
function statusBlock(code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): Buffer {
  return encodeHeaderBlock(statusFields([[":status", "200"], ["content-type", "application/grpc+proto"]], code, encodedDetails, metadata));
}

/** The trailers that end a streamed answer. */
function trailerBlock(code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): Buffer {
  return encodeHeaderBlock(statusFields([], code, encodedDetails, metadata));
}

/** `fields`, then the status, its details and the handler's metadata. */
function statusFields(fields: [string, string][], code: grpc.status, encodedDetails: string, metadata: Record<string, string | string[]> | undefined): [string, string][] {
  fields.push(["grpc-status", String(code)], ["grpc-message", encodedDetails]);
  if (metadata) for (const [name, value] of Object.entries(metadata)) for (const one of Array.isArray(value) ? value : [value]) fields.push([name, one]);
  return fields;
}

/** A request's headers as node:http2's client takes them. */
function forwardedHeaders(headers: Readonly<Record<string, string | string[]>>): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const name in headers) out[name] = headers[name];
  return out;
}

/**
 * Encodes relayed response headers or trailers; null, after resetting the client's stream, when a field
 * cannot be sent (a value with bytes HTTP/2 forbids): a relay error must not become an uncaught exception.
 */
function encodeOrReset(stream: ServerStream, headers: IncomingHttpHeaders): Buffer | null {
  try {
    return encodeHeaderBlock(responseFields(headers));
  } catch {
    stream.reset(ErrorCode.InternalError);
    return null;
  }
}

/** Response headers or trailers from node:http2's client, as fields to encode (pseudo-headers first). */
function responseFields(headers: IncomingHttpHeaders): [string, string][] {
  const fields: [string, string][] = [];
  const status = headers[":status"];
  if (status !== undefined) fields.push([":status", String(status)]);
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = headers[name];
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) fields.push([name, String(one)]);
  }
  return fields;
}

/** Two connected in-memory Duplex ends (node:stream's duplexPair arrives with Node.js 22). */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (other: number) =>
    new Duplex({
      write(chunk: Buffer, _encoding, callback) {
        ends[other]!.push(chunk);
        callback();
      },
      final(callback) {
        ends[other]!.push(null);
        callback();
      },
      read() {},
      destroy(error, callback) {
        const peer = ends[other]!;
        if (!peer.destroyed) peer.destroy();
        callback(error);
      },
    });
  ends.push(end(1), end(0));
  return [ends[0]!, ends[1]!];
}
