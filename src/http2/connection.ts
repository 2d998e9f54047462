/**
 * The server side of one HTTP/2 connection (RFC 9113) over any Duplex (a TCP, Unix or TLS socket), with as
 * little per-request work and garbage as a gRPC server needs.
 *
 * Why not node:http2: it turns every request header value that is not in HPACK's static table into an
 * external string, which V8 allocates directly in the old generation; only full collections free them, and
 * their pauses grow with the calls served since the last one (docs/performance.md, finding 36). Here header
 * fields decode to ordinary strings, and fields the client indexed (most of a gRPC client's headers after
 * its first call) reuse the strings kept in the HPACK table.
 *
 * What it does: the preface and SETTINGS exchange, HEADERS with CONTINUATION, DATA with flow control in both
 * directions, RST_STREAM, PING, WINDOW_UPDATE, GOAWAY (graceful and on errors), a stream limit, a header list
 * limit and a connection age. PRIORITY is read and ignored; server push is never used. Protocol errors end
 * the connection with GOAWAY and the RFC's error code; errors of one stream reset that stream only.
 *
 * Frames to send are gathered and written together: those queued while a chunk read from the socket is
 * processed (the answers of calls answered at once) when the chunk is done, the others once per turn of
 * the event loop (setImmediate). Either way the answers to calls that arrived together leave in one write.
 */
import type { Duplex } from "node:stream";
import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW_BYTES,
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameReader,
  FrameType,
  MAX_WINDOW_BYTES,
  Setting,
  writeFrameHeader,
} from "./frames.js";
import { HeaderListTooLargeError, HpackDecoder, HpackError } from "./hpack.js";
import { readIntoOwnBuffer } from "./socket-reads.js";
import { SocketWriter } from "./socket-writes.js";

export interface Http2ServerOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams over it are refused (REFUSED_STREAM). */
  readonly maxConcurrentStreams?: number;
  /** The receive window announced for each stream (SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly streamWindowBytes?: number;
  /** The receive window of the whole connection: at most this much unconsumed request data is buffered. */
  readonly connectionWindowBytes?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: larger request header lists get `onHeaderListTooLarge`. */
  readonly maxHeaderListBytes?: number;
  /** After this long (±10%) the connection is asked to go away (GOAWAY NO_ERROR) so clients rebalance. */
  readonly maxConnectionAgeMs?: number;
  /** A new request stream with its headers decoded. */
  readonly onStream: (stream: ServerStream) => void;
  /** A request whose header list was over the limit (the stream is answered by the callee). */
  readonly onHeaderListTooLarge?: (stream: ServerStream, limitBytes: number) => void;
  /** The connection ended because of a protocol error of the peer (for logs). */
  readonly onProtocolError?: (error: ConnectionError) => void;
}

/** Request headers: one string per field, an array when a field came more than once. */
export type RequestHeaders = Record<string, string | string[]>;

/**
 * The prototype of request header objects: empty and without Object.prototype behind it, so no field name
 * (`constructor`, `__proto__`) meets an inherited property. Unlike Object.create(null), whose objects V8
 * keeps as dictionaries, objects made from it keep fast properties, and a client's fields, which come in
 * the same order on every call, share one hidden class.
 */
const FIELDS_PROTOTYPE: object = Object.freeze(Object.create(null) as object);

type ResolvedOptions = Required<Omit<Http2ServerOptions, "onHeaderListTooLarge" | "onProtocolError" | "maxConnectionAgeMs">> &
  Pick<Http2ServerOptions, "onHeaderListTooLarge" | "onProtocolError" | "maxConnectionAgeMs">;

const DEFAULTS = {
  maxConcurrentStreams: 1000,
  streamWindowBytes: 1 << 20,
  connectionWindowBytes: 8 << 20,
  maxHeaderListBytes: 16 << 10,
};
/** Unacknowledged PINGs and SETTINGS beyond which a peer that does not read is cut off. */
const MAX_UNREAD_OUTPUT_BYTES = 64 << 20;
/** The output buffer's first size; it doubles when a turn's frames do not fit. */
const OUTPUT_BYTES_INITIAL = 16 << 10;
/** An output buffer grown past this is dropped after its write (idle connections keep 16 KiB, not megabytes). */
const OUTPUT_BYTES_KEPT_MAX = 256 << 10;
/** On a socket that may keep written buffers, output up to this size is copied rather than handed over. */
const OUTPUT_COPY_BYTES_MAX = 4 << 10;
/** A stream's queued response bytes over which write() asks its producer to wait for onDrain. */
const STREAM_HIGH_WATER_BYTES = 256 << 10;
/** Header block fragments (HEADERS + CONTINUATION) longer than this end the connection. */
const HEADER_BLOCK_FACTOR = 2;
const PSEUDO_REQUEST_HEADERS: ReadonlySet<string> = new Set([":method", ":path", ":scheme", ":authority"]);
/** Characters RFC 9113 §8.2.1 forbids in a field value. */
const FORBIDDEN_VALUE = /[\0\r\n]/;
/** Fields that RFC 9113 §8.2.2 forbids in HTTP/2. */
const CONNECTION_HEADERS: ReadonlySet<string> = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
const EMPTY = Buffer.alloc(0);
/** The queue of every stream that has not queued DATA (most answers go out whole, see ServerStream.answer). */
const NO_DATA: Buffer[] = [];

const enum StreamState {
  /** Request still arriving. */
  Open,
  /** The client sent END_STREAM. */
  HalfClosedRemote,
  Closed,
}

/** One request stream. The callbacks are set by whoever handles the stream (see Http2ServerOptions.onStream). */
export class ServerStream {
  /** Request body bytes as they arrive (views into the connection's read buffers, never reused). */
  onData: ((chunk: Buffer) => void) | null = null;
  /** The request ended (END_STREAM). */
  onEnd: (() => void) | null = null;
  /** The stream ended before this side finished its answer: reset by the client, or the connection ended. */
  onClose: ((code: ErrorCode) => void) | null = null;
  /** Queued response bytes fell below the high-water mark after write() returned false. */
  onDrain: (() => void) | null = null;

  state = StreamState.Open;
  /** This side sent END_STREAM or RST_STREAM. */
  finished = false;
  /** Response headers were sent. */
  headersSent = false;
  sendWindow: number;
  receiveWindow: number;
  /** Received bytes consumed and not yet returned to the client as a WINDOW_UPDATE. */
  unacknowledged = 0;
  /** Response DATA waiting for flow-control window, and what ends the stream after it. */
  queue: Buffer[] = NO_DATA;
  queuedBytes = 0;
  pendingEnd: Buffer | null | undefined = undefined;
  wantsDrain = false;
  /** Where the stream sits in its connection's OpenStreams (-1 once it left). */
  slot = -1;

  constructor(
    readonly connection: Http2ServerConnection,
    readonly id: number,
    readonly headers: RequestHeaders,
    sendWindow: number,
    receiveWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.receiveWindow = receiveWindow;
  }

  /** Closed: answered completely, reset, or the connection is gone. */
  get closed(): boolean {
    return this.state === StreamState.Closed || this.finished;
  }

  /** Sends the response headers (an HPACK block, encodeHeaderBlock); with `endStream`, the answer ends here. */
  respond(block: Buffer, endStream = false): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.connection.sendHeaders(this, block, endStream);
    if (endStream) this.connection.finish(this);
    else if (this.queue.length > 0 || this.pendingEnd !== undefined) this.connection.flushStream(this);
  }

  /** Queues response DATA; false when the queue is over its high-water mark (wait for onDrain). */
  write(data: Buffer): boolean {
    if (this.closed) return false;
    if (data.length > 0) {
      if (this.queue === NO_DATA) this.queue = [data];
      else this.queue.push(data);
      this.queuedBytes += data.length;
      this.connection.flushStream(this);
    }
    if (this.queuedBytes > STREAM_HIGH_WATER_BYTES) {
      this.wantsDrain = true;
      return false;
    }
    return true;
  }

  /** Ends the answer after the queued DATA: with trailers (an HPACK block), or an empty DATA frame. */
  end(trailers: Buffer | null = null): void {
    if (this.closed || this.pendingEnd !== undefined) return;
    this.pendingEnd = trailers;
    this.connection.flushStream(this);
  }

  /**
   * The whole answer of a unary call: headers, one DATA payload and trailers. When the windows allow, the
   * three go out as one buffer.
   */
  answer(head: Buffer, data: Buffer, trailers: Buffer): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    if (!this.connection.sendWholeAnswer(this, head, data, trailers)) {
      this.connection.sendHeaders(this, head, false);
      this.write(data);
      this.end(trailers);
    }
  }

  /** Ends the stream at once with RST_STREAM(code). */
  reset(code: ErrorCode = ErrorCode.Cancel): void {
    if (this.closed) return;
    this.connection.resetStream(this, code);
  }

  /** Returns `bytes` of request data to the client's window (call once they are processed). */
  consume(bytes: number): void {
    this.connection.consume(this, bytes);
  }
}

/**
 * The open streams of a connection, in an array: a stream knows its slot, so leaving is a swap with the
 * last; a lookup by id scans from the newest end (a gRPC client has tens of streams open, not thousands).
 * Why not a Map: with streams opened and closed at 30,000 a second, a Map's hash table fills with deleted
 * entries and is rebuilt every few calls, which was 3% of the garbage of a read.
 */
class OpenStreams {
  readonly #list: ServerStream[] = [];

  get size(): number {
    return this.#list.length;
  }

  get(id: number): ServerStream | undefined {
    const list = this.#list;
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.id === id) return list[i];
    return undefined;
  }

  add(stream: ServerStream): void {
    stream.slot = this.#list.length;
    this.#list.push(stream);
  }

  delete(stream: ServerStream): void {
    const list = this.#list;
    const slot = stream.slot;
    if (slot < 0 || list[slot] !== stream) return;
    const last = list.pop()!;
    if (last !== stream) {
      list[slot] = last;
      last.slot = slot;
    }
    stream.slot = -1;
  }

  /** The streams at this moment (a copy). */
  all(): ServerStream[] {
    return [...this.#list];
  }

  /** Removes and returns every stream. */
  takeAll(): ServerStream[] {
    const streams = [...this.#list];
    for (const stream of streams) stream.slot = -1;
    this.#list.length = 0;
    return streams;
  }
}

/** One HTTP/2 server connection. Starts reading at once. */
export class Http2ServerConnection {
  readonly #socket: Duplex;
  readonly #options: ResolvedOptions;
  readonly #reader = new FrameReader(DEFAULT_MAX_FRAME_BYTES);
  readonly #decoder: HpackDecoder;
  readonly #streams = new OpenStreams();
  /** Streams with queued DATA waiting for window. */
  readonly #blocked = new Set<ServerStream>();
  #prefaceBytes = 0;
  #settingsSeen = false;
  #lastStreamId = 0;
  #peerInitialWindow = DEFAULT_WINDOW_BYTES;
  #peerMaxFrame = DEFAULT_MAX_FRAME_BYTES;
  #sendWindow = DEFAULT_WINDOW_BYTES;
  #connectionUnacknowledged = 0;
  /** What the client may still send on the whole connection before a WINDOW_UPDATE. */
  #receiveWindow = DEFAULT_WINDOW_BYTES;
  /** A header block being continued: its stream id, flags of the HEADERS frame and fragments so far. */
  #continuation: { streamId: number; flags: number; fragments: Buffer[]; bytes: number } | null = null;
  /**
   * Frames to send, assembled in place: `#out[0, #outLength)`. On a plain TCP or Unix socket the buffer is
   * reused from write to write when the kernel took the bytes at once, so an answer costs no allocation;
   * otherwise (TLS, other streams, a full send buffer) the socket keeps what it was given.
   */
  #out = Buffer.allocUnsafe(OUTPUT_BYTES_INITIAL);
  #outLength = 0;
  /**
   * Writes to the socket, through its handle when it is a plain one (socket-writes.ts). A TLS socket or
   * another Duplex may hold on to a written buffer after write() returns; a plain one hands it to the
   * kernel, or says it did not.
   */
  readonly #writer: SocketWriter;
  #flushScheduled = false;
  /** Set while a chunk from the socket is processed: what it queues is written at its end. */
  #receiving = false;
  /** GOAWAY sent: no new streams; the connection ends when the last stream does. */
  #goingAway = false;
  #ended = false;
  #ageTimer: NodeJS.Timeout | undefined;
  readonly #onSocketData = (chunk: Buffer): void => {
    // Reads into the connection's own buffer (socket-reads.ts) are not stopped by removing a listener.
    if (this.#ended) return;
    // What the chunk's calls answer at once leaves in one write when the chunk is done, before the event
    // loop reads the next connection; answers that come later are gathered until the turn's end.
    this.#receiving = true;
    try {
      this.#receive(chunk);
    } finally {
      this.#receiving = false;
    }
    if (this.#outLength > 0) this.#writeOutput();
  };

  constructor(socket: Duplex, options: Http2ServerOptions) {
    this.#socket = socket;
    this.#writer = new SocketWriter(socket);
    this.#options = { ...DEFAULTS, ...stripUndefined(options) } as ResolvedOptions;
    this.#decoder = new HpackDecoder({ maxHeaderListBytes: this.#options.maxHeaderListBytes });
    const { maxConcurrentStreams, streamWindowBytes, connectionWindowBytes, maxHeaderListBytes } = this.#options;
    const settings = Buffer.alloc(18);
    settings.writeUInt16BE(Setting.MaxConcurrentStreams, 0);
    settings.writeUInt32BE(maxConcurrentStreams, 2);
    settings.writeUInt16BE(Setting.InitialWindowSize, 6);
    settings.writeUInt32BE(streamWindowBytes, 8);
    settings.writeUInt16BE(Setting.MaxHeaderListSize, 12);
    settings.writeUInt32BE(maxHeaderListBytes, 14);
    this.#queueFrame(FrameType.Settings, 0, 0, settings);
    if (connectionWindowBytes > DEFAULT_WINDOW_BYTES) {
      this.#queueWindowUpdate(0, connectionWindowBytes - DEFAULT_WINDOW_BYTES);
      this.#receiveWindow = connectionWindowBytes;
    }
    // Answers are written whole, once per turn: waiting for more (Nagle) would only add delay.
    (socket as Partial<{ setNoDelay(noDelay: boolean): void }>).setNoDelay?.(true);
    socket.on("error", () => this.destroy());
    socket.on("close", () => this.destroy());
    socket.on("end", () => this.destroy());
    const ageMs = this.#options.maxConnectionAgeMs;
    if (ageMs !== undefined && ageMs > 0) {
      this.#ageTimer = setTimeout(() => this.close(), ageMs * (0.9 + Math.random() * 0.2));
      this.#ageTimer.unref();
    }
    if (!readIntoOwnBuffer(socket, this.#onSocketData)) socket.on("data", this.#onSocketData);
  }

  get destroyed(): boolean {
    return this.#ended;
  }

  /** Graceful close: GOAWAY(NO_ERROR); streams already open finish, then the socket ends. */
  close(): void {
    if (this.#goingAway || this.#ended) return;
    this.#goAway(ErrorCode.NoError, "");
    this.#endIfIdle();
  }

  /** Ends the connection at once; every open stream gets onClose. */
  destroy(): void {
    if (this.#ended) return;
    this.#stop(ErrorCode.Cancel);
    this.#socket.destroy();
  }

  /** Stops reading and closes every open stream with `code` (their handlers get onClose). */
  #stop(code: ErrorCode): void {
    this.#ended = true;
    if (this.#ageTimer) clearTimeout(this.#ageTimer);
    this.#socket.off("data", this.#onSocketData);
    const streams = this.#streams.takeAll();
    this.#blocked.clear();
    for (const stream of streams) this.#closeStream(stream, code);
  }

  // --- called by ServerStream -----------------------------------------------------------------------

  sendHeaders(stream: ServerStream, block: Buffer, endStream: boolean): void {
    this.#queueHeaderBlock(stream.id, block, endStream ? Flag.EndStream : 0);
  }

  /** Queues the whole unary answer as one buffer when the windows and the frame size allow it. */
  sendWholeAnswer(stream: ServerStream, head: Buffer, data: Buffer, trailers: Buffer): boolean {
    const max = this.#peerMaxFrame;
    if (data.length > stream.sendWindow || data.length > this.#sendWindow || data.length > max || head.length > max || trailers.length > max) return false;
    if (stream.queue.length > 0) return false;
    const out = this.#reserve(3 * FRAME_HEADER_BYTES + head.length + data.length + trailers.length);
    let offset = this.#outLength;
    writeFrameHeader(out, offset, head.length, FrameType.Headers, Flag.EndHeaders, stream.id);
    offset += FRAME_HEADER_BYTES;
    offset += head.copy(out, offset);
    writeFrameHeader(out, offset, data.length, FrameType.Data, 0, stream.id);
    offset += FRAME_HEADER_BYTES;
    offset += data.copy(out, offset);
    writeFrameHeader(out, offset, trailers.length, FrameType.Headers, Flag.EndHeaders | Flag.EndStream, stream.id);
    offset += FRAME_HEADER_BYTES;
    offset += trailers.copy(out, offset);
    this.#outLength = offset;
    this.#scheduleFlush();
    stream.sendWindow -= data.length;
    this.#sendWindow -= data.length;
    this.finish(stream);
    return true;
  }

  /** Sends as much of the stream's queued DATA as the windows allow, then its end when all is sent. */
  flushStream(stream: ServerStream): void {
    // DATA waits for the response headers (a relayed answer's body can be handed over before them).
    if (stream.state === StreamState.Closed || !stream.headersSent) return;
    let blocked = false;
    while (stream.queue.length > 0) {
      const allowed = Math.min(stream.sendWindow, this.#sendWindow, this.#peerMaxFrame);
      if (allowed <= 0) {
        blocked = true;
        break;
      }
      const head = stream.queue[0]!;
      const piece = head.length <= allowed ? head : head.subarray(0, allowed);
      if (piece === head) stream.queue.shift();
      else stream.queue[0] = head.subarray(allowed);
      stream.queuedBytes -= piece.length;
      stream.sendWindow -= piece.length;
      this.#sendWindow -= piece.length;
      // A streamed answer of megabytes goes out as it is framed, so the output buffer stays at the size it
      // keeps and is reused: grown to the answer's size, it was fresh memory for every message, and its
      // page faults cost more than the copy (docs/performance.md, change 58).
      if (this.#outLength + FRAME_HEADER_BYTES + piece.length > OUTPUT_BYTES_KEPT_MAX) this.#writeOutput();
      this.#queueFrame(FrameType.Data, 0, stream.id, piece);
    }
    if (blocked) this.#blocked.add(stream);
    else this.#blocked.delete(stream);
    if (stream.wantsDrain && stream.queuedBytes <= STREAM_HIGH_WATER_BYTES) {
      stream.wantsDrain = false;
      // The producer may write and end from here; those calls flush (and end) the stream themselves.
      stream.onDrain?.();
    }
    // (onDrain may have closed the stream.)
    if (stream.queue.length === 0 && stream.pendingEnd !== undefined && !stream.finished && (stream.state as StreamState) !== StreamState.Closed) {
      if (stream.pendingEnd === null) this.#queueFrame(FrameType.Data, Flag.EndStream, stream.id, EMPTY);
      else this.#queueHeaderBlock(stream.id, stream.pendingEnd, Flag.EndStream);
      this.finish(stream);
    }
  }

  /** This side ended the stream; a request still arriving is told to stop (RST_STREAM NO_ERROR). */
  finish(stream: ServerStream): void {
    if (stream.finished) return;
    stream.finished = true;
    if (stream.state === StreamState.Open) this.#queueRstStream(stream.id, ErrorCode.NoError);
    this.#forget(stream);
  }

  resetStream(stream: ServerStream, code: ErrorCode): void {
    stream.finished = true;
    this.#queueRstStream(stream.id, code);
    this.#forget(stream);
  }

  consume(stream: ServerStream, bytes: number): void {
    if (bytes <= 0 || this.#ended) return;
    this.#returnConnectionWindow(bytes);
    if (stream.state !== StreamState.Open || stream.finished) return;
    stream.unacknowledged += bytes;
    if (stream.unacknowledged >= this.#options.streamWindowBytes / 2) {
      stream.receiveWindow += stream.unacknowledged;
      this.#queueWindowUpdate(stream.id, stream.unacknowledged);
      stream.unacknowledged = 0;
    }
  }

  // --- reading --------------------------------------------------------------------------------------

  #receive(chunk: Buffer): void {
    if (this.#ended) return;
    try {
      let data = chunk;
      if (this.#prefaceBytes < CLIENT_PREFACE.length) {
        const take = Math.min(CLIENT_PREFACE.length - this.#prefaceBytes, data.length);
        if (!data.subarray(0, take).equals(CLIENT_PREFACE.subarray(this.#prefaceBytes, this.#prefaceBytes + take))) {
          throw new ConnectionError(ErrorCode.ProtocolError, "the client did not send the HTTP/2 connection preface");
        }
        this.#prefaceBytes += take;
        data = data.subarray(take);
        if (data.length === 0) return;
      }
      this.#reader.push(data, this.#onFrame);
    } catch (error) {
      this.#fail(error);
    }
  }

  readonly #onFrame = (type: number, flags: number, streamId: number, payload: Buffer): void => {
    if (this.#ended) return;
    if (!this.#settingsSeen) {
      if (type !== FrameType.Settings || (flags & Flag.Ack) !== 0) throw new ConnectionError(ErrorCode.ProtocolError, "the first frame was not SETTINGS");
      this.#settingsSeen = true;
    }
    if (this.#continuation !== null && type !== FrameType.Continuation) {
      throw new ConnectionError(ErrorCode.ProtocolError, "a header block was interrupted by another frame");
    }
    switch (type) {
      case FrameType.Data: return this.#onDataFrame(flags, streamId, payload);
      case FrameType.Headers: return this.#onHeadersFrame(flags, streamId, payload);
      case FrameType.Priority:
        if (streamId === 0) throw new ConnectionError(ErrorCode.ProtocolError, "PRIORITY on stream 0");
        if (payload.length !== 5) this.#streamError(streamId, ErrorCode.FrameSizeError);
        return;
      case FrameType.RstStream: return this.#onRstStream(streamId, payload);
      case FrameType.Settings: return this.#onSettings(flags, streamId, payload);
      case FrameType.PushPromise: throw new ConnectionError(ErrorCode.ProtocolError, "a client sent PUSH_PROMISE");
      case FrameType.Ping: return this.#onPing(flags, streamId, payload);
      case FrameType.GoAway:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.ProtocolError, "GOAWAY on a stream");
        this.#goingAway = true;
        this.#endIfIdle();
        return;
      case FrameType.WindowUpdate: return this.#onWindowUpdate(streamId, payload);
      case FrameType.Continuation: return this.#onContinuation(flags, streamId, payload);
      default: return; // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  };

  #onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.ProtocolError, "DATA on stream 0");
    if (streamId > this.#lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, `DATA on idle stream ${streamId}`);
    if (payload.length > this.#receiveWindow) throw new ConnectionError(ErrorCode.FlowControlError, "DATA beyond the connection's window");
    this.#receiveWindow -= payload.length;
    const data = (flags & Flag.Padded) !== 0 ? withoutPadding(payload, 0) : payload;
    const stream = this.#streams.get(streamId);
    if (stream === undefined || stream.state !== StreamState.Open) {
      // A stream this side already ended, or one the client ended before: the bytes count against the
      // connection's window all the same and are returned at once.
      this.#returnConnectionWindow(payload.length);
      if (stream !== undefined) this.#streamError(streamId, ErrorCode.StreamClosed);
      return;
    }
    if (payload.length > stream.receiveWindow) return this.#streamError(streamId, ErrorCode.FlowControlError);
    stream.receiveWindow -= payload.length;
    // Padding is consumed at once; the data when its reader says so.
    const padding = payload.length - data.length;
    if (padding > 0) this.consume(stream, padding);
    if (data.length > 0) stream.onData?.(data);
    if ((flags & Flag.EndStream) !== 0 && stream.state === StreamState.Open) {
      stream.state = StreamState.HalfClosedRemote;
      stream.onEnd?.();
    }
  }

  #onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0) throw new ConnectionError(ErrorCode.ProtocolError, `HEADERS on stream ${streamId}`);
    let fragment = (flags & Flag.Padded) !== 0 ? withoutPadding(payload, (flags & Flag.Priority) !== 0 ? 5 : 0) : payload;
    if ((flags & Flag.Priority) !== 0) {
      if (fragment.length < 5) throw new ConnectionError(ErrorCode.FrameSizeError, "HEADERS too short for its priority");
      fragment = fragment.subarray(5);
    }
    if ((flags & Flag.EndHeaders) === 0) {
      this.#continuation = { streamId, flags, fragments: [Buffer.from(fragment)], bytes: fragment.length };
      return;
    }
    this.#onHeaderBlock(flags, streamId, fragment);
  }

  #onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const pending = this.#continuation;
    if (pending === null || pending.streamId !== streamId) throw new ConnectionError(ErrorCode.ProtocolError, "CONTINUATION without a header block to continue");
    pending.fragments.push(Buffer.from(payload));
    pending.bytes += payload.length;
    if (pending.bytes > this.#options.maxHeaderListBytes * HEADER_BLOCK_FACTOR + 4096) {
      throw new ConnectionError(ErrorCode.EnhanceYourCalm, `a header block of more than ${pending.bytes} bytes`);
    }
    if ((flags & Flag.EndHeaders) === 0) return;
    this.#continuation = null;
    this.#onHeaderBlock(pending.flags, streamId, Buffer.concat(pending.fragments, pending.bytes));
  }

  #onHeaderBlock(flags: number, streamId: number, block: Buffer): void {
    const existing = this.#streams.get(streamId);
    if (existing !== undefined || streamId <= this.#lastStreamId) {
      // Trailers of a request (gRPC clients send none): decoded to keep the HPACK table in step.
      this.#decodeInto(block, null);
      if (existing === undefined) return this.#streamError(streamId, ErrorCode.StreamClosed);
      if (existing.state !== StreamState.Open) throw new ConnectionError(ErrorCode.StreamClosed, `HEADERS on closed stream ${streamId}`);
      if ((flags & Flag.EndStream) === 0) return this.#streamError(streamId, ErrorCode.ProtocolError);
      existing.state = StreamState.HalfClosedRemote;
      existing.onEnd?.();
      return;
    }
    this.#lastStreamId = streamId;
    const headers = Object.create(FIELDS_PROTOTYPE) as RequestHeaders;
    const problem = this.#decodeInto(block, headers);
    const tooLarge = problem === "too-large";
    if (this.#goingAway) return this.#streamError(streamId, ErrorCode.RefusedStream);
    if (this.#streams.size >= this.#options.maxConcurrentStreams) return this.#streamError(streamId, ErrorCode.RefusedStream);
    if (!tooLarge && (problem ?? requestHeaderProblem(headers)) !== null) return this.#streamError(streamId, ErrorCode.ProtocolError);
    const stream = new ServerStream(this, streamId, headers, this.#peerInitialWindow, this.#options.streamWindowBytes);
    this.#streams.add(stream);
    if ((flags & Flag.EndStream) !== 0) stream.state = StreamState.HalfClosedRemote;
    if (tooLarge && this.#options.onHeaderListTooLarge) this.#options.onHeaderListTooLarge(stream, this.#options.maxHeaderListBytes);
    else if (tooLarge) stream.reset(ErrorCode.EnhanceYourCalm);
    else this.#options.onStream(stream);
    if (stream.state === StreamState.HalfClosedRemote && !stream.finished) stream.onEnd?.();
  }

  /** Decodes a header block into `headers` (or only for the table's sake); returns a problem or null. */
  #decodeInto(block: Buffer, headers: RequestHeaders | null): string | null {
    this.#target = headers;
    this.#problem = null;
    this.#regularSeen = false;
    try {
      this.#decoder.decode(block, this.#onField);
    } catch (error) {
      if (error instanceof HeaderListTooLargeError) return "too-large";
      if (error instanceof HpackError) throw new ConnectionError(ErrorCode.CompressionError, `undecodable header block: ${error.message}`);
      throw error;
    } finally {
      this.#target = null;
    }
    return this.#problem;
  }

  /** Where #onField puts the fields of the block being decoded (null: decoded for the table only). */
  #target: RequestHeaders | null = null;
  #problem: string | null = null;
  #regularSeen = false;

  /** One decoded field (a method bound once: decoding a block allocates no closure). */
  readonly #onField = (name: string, value: string): void => {
    const headers = this.#target;
    if (headers === null || this.#problem !== null) return;
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (!PSEUDO_REQUEST_HEADERS.has(name) || headers[name] !== undefined) this.#problem = `pseudo-header ${name}`;
      else if (this.#regularSeen) this.#problem = `pseudo-header ${name} after a regular field`;
      headers[name] = value;
      return;
    }
    this.#regularSeen = true;
    if (CONNECTION_HEADERS.has(name) || (name === "te" && value !== "trailers") || hasUppercase(name) || FORBIDDEN_VALUE.test(value)) {
      this.#problem = `field ${name}`;
      return;
    }
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (typeof previous === "string") headers[name] = [previous, value];
    else previous.push(value);
  };

  #onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.ProtocolError, "RST_STREAM on stream 0");
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FrameSizeError, "RST_STREAM of the wrong size");
    if (streamId > this.#lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, `RST_STREAM on idle stream ${streamId}`);
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    this.#closeStream(stream, payload.readUInt32BE(0));
  }

  #onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.ProtocolError, "SETTINGS on a stream");
    if ((flags & Flag.Ack) !== 0) {
      if (payload.length !== 0) throw new ConnectionError(ErrorCode.FrameSizeError, "SETTINGS ACK with a payload");
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FrameSizeError, "SETTINGS of the wrong size");
    for (let offset = 0; offset < payload.length; offset += 6) {
      const id = payload.readUInt16BE(offset);
      const value = payload.readUInt32BE(offset + 2);
      if (id === Setting.InitialWindowSize) {
        if (value > MAX_WINDOW_BYTES) throw new ConnectionError(ErrorCode.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1");
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const stream of this.#streams.all()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW_BYTES) throw new ConnectionError(ErrorCode.FlowControlError, "a stream window over 2^31-1");
        }
      } else if (id === Setting.MaxFrameSize) {
        if (value < DEFAULT_MAX_FRAME_BYTES || value > 16_777_215) throw new ConnectionError(ErrorCode.ProtocolError, `SETTINGS_MAX_FRAME_SIZE ${value}`);
        this.#peerMaxFrame = value;
      } else if (id === Setting.EnablePush && value > 1) {
        throw new ConnectionError(ErrorCode.ProtocolError, `SETTINGS_ENABLE_PUSH ${value}`);
      }
      // HEADER_TABLE_SIZE needs nothing: responses are encoded without the dynamic table.
    }
    this.#checkUnreadOutput();
    this.#queueFrame(FrameType.Settings, Flag.Ack, 0, EMPTY);
    for (const stream of [...this.#blocked]) this.flushStream(stream);
  }

  #onPing(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.ProtocolError, "PING on a stream");
    if (payload.length !== 8) throw new ConnectionError(ErrorCode.FrameSizeError, "PING of the wrong size");
    if ((flags & Flag.Ack) !== 0) return;
    this.#checkUnreadOutput();
    this.#queueFrame(FrameType.Ping, Flag.Ack, 0, Buffer.from(payload));
  }

  #onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FrameSizeError, "WINDOW_UPDATE of the wrong size");
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.ProtocolError, "WINDOW_UPDATE of 0");
      this.#sendWindow += increment;
      if (this.#sendWindow > MAX_WINDOW_BYTES) throw new ConnectionError(ErrorCode.FlowControlError, "connection window over 2^31-1");
      for (const stream of [...this.#blocked]) this.flushStream(stream);
      return;
    }
    if (streamId > this.#lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, `WINDOW_UPDATE on idle stream ${streamId}`);
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    if (increment === 0) return this.#streamError(streamId, ErrorCode.ProtocolError);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_BYTES) return this.#streamError(streamId, ErrorCode.FlowControlError);
    if (stream.queue.length > 0 || stream.pendingEnd !== undefined) this.flushStream(stream);
  }

  // --- writing --------------------------------------------------------------------------------------

  /** Makes room for `bytes` more in the output buffer; returns it (it may be a new one). */
  #reserve(bytes: number): Buffer {
    const needed = this.#outLength + bytes;
    if (needed > this.#out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(needed, this.#out.length * 2));
      this.#out.copy(bigger, 0, 0, this.#outLength);
      this.#out = bigger;
    }
    return this.#out;
  }

  #scheduleFlush(): void {
    if (!this.#flushScheduled && !this.#receiving) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    this.#writeOutput();
  };

  #writeOutput(): void {
    if (this.#outLength === 0 || this.#ended) return;
    const length = this.#outLength;
    this.#outLength = 0;
    if (this.#writer.plain) {
      // Written at once (the usual case), the bytes are the kernel's and the buffer is free again. If not,
      // the socket keeps it until the write completes, and the next frames go to a new one.
      // (A connection that streams keeps a buffer of the size it keeps: growing a new one by doubling
      // would copy it each time.)
      if (!this.#writer.write(this.#out.subarray(0, length))) this.#out = Buffer.allocUnsafe(Math.min(this.#out.length, OUTPUT_BYTES_KEPT_MAX));
    } else if (length < OUTPUT_COPY_BYTES_MAX) {
      // A copy from Node's buffer pool costs less than a fresh buffer of the output's size.
      this.#socket.write(Buffer.from(this.#out.subarray(0, length)));
    } else {
      this.#socket.write(this.#out.subarray(0, length));
      this.#out = Buffer.allocUnsafe(OUTPUT_BYTES_INITIAL);
    }
    // A buffer grown for one large turn (a streamed answer) is not kept for the connection's life.
    if (this.#out.length > OUTPUT_BYTES_KEPT_MAX) this.#out = Buffer.allocUnsafe(OUTPUT_BYTES_INITIAL);
    if (this.#goingAway) this.#endIfIdle();
  }

  /** Queues a frame: its header and a copy of its payload. */
  #queueFrame(type: FrameType, flags: number, streamId: number, payload: Buffer): void {
    if (this.#ended) return;
    const out = this.#reserve(FRAME_HEADER_BYTES + payload.length);
    writeFrameHeader(out, this.#outLength, payload.length, type, flags, streamId);
    payload.copy(out, this.#outLength + FRAME_HEADER_BYTES);
    this.#outLength += FRAME_HEADER_BYTES + payload.length;
    this.#scheduleFlush();
  }

  /** A header block in one HEADERS frame, or HEADERS and CONTINUATIONs when it is over the peer's frame size. */
  #queueHeaderBlock(streamId: number, block: Buffer, flags: number): void {
    const max = this.#peerMaxFrame;
    if (block.length <= max) return this.#queueFrame(FrameType.Headers, flags | Flag.EndHeaders, streamId, block);
    this.#queueFrame(FrameType.Headers, flags, streamId, block.subarray(0, max));
    for (let offset = max; offset < block.length; offset += max) {
      const last = offset + max >= block.length;
      this.#queueFrame(FrameType.Continuation, last ? Flag.EndHeaders : 0, streamId, block.subarray(offset, offset + max));
    }
  }

  #queueWindowUpdate(streamId: number, increment: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(increment, 0);
    this.#queueFrame(FrameType.WindowUpdate, 0, streamId, payload);
  }

  #queueRstStream(streamId: number, code: ErrorCode): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(code, 0);
    this.#queueFrame(FrameType.RstStream, 0, streamId, payload);
  }

  #returnConnectionWindow(bytes: number): void {
    this.#connectionUnacknowledged += bytes;
    if (this.#connectionUnacknowledged >= this.#options.connectionWindowBytes / 4) {
      this.#receiveWindow += this.#connectionUnacknowledged;
      this.#queueWindowUpdate(0, this.#connectionUnacknowledged);
      this.#connectionUnacknowledged = 0;
    }
  }

  /** A peer that keeps sending PINGs or SETTINGS without reading the answers is cut off. */
  #checkUnreadOutput(): void {
    if (this.#writer.unsent > MAX_UNREAD_OUTPUT_BYTES) {
      throw new ConnectionError(ErrorCode.EnhanceYourCalm, "the peer does not read what it asks for");
    }
  }

  // --- endings --------------------------------------------------------------------------------------

  #streamError(streamId: number, code: ErrorCode): void {
    const stream = this.#streams.get(streamId);
    this.#queueRstStream(streamId, code);
    if (stream !== undefined) this.#closeStream(stream, code);
  }

  /** The stream is gone before this side finished: tells its handler, forgets it. */
  #closeStream(stream: ServerStream, code: ErrorCode): void {
    const wasFinished = stream.finished;
    stream.state = StreamState.Closed;
    stream.finished = true;
    this.#forget(stream);
    if (!wasFinished) stream.onClose?.(code);
  }

  #forget(stream: ServerStream): void {
    stream.state = StreamState.Closed;
    stream.queue = NO_DATA;
    stream.queuedBytes = 0;
    this.#blocked.delete(stream);
    this.#streams.delete(stream);
    if (this.#goingAway) this.#endIfIdle();
  }

  #goAway(code: ErrorCode, debug: string): void {
    this.#goingAway = true;
    const payload = Buffer.allocUnsafe(8 + Buffer.byteLength(debug));
    payload.writeUInt32BE(this.#lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    payload.write(debug, 8, "utf8");
    this.#queueFrame(FrameType.GoAway, 0, 0, payload);
  }

  #endIfIdle(): void {
    if (this.#ended || this.#streams.size > 0) return;
    if (this.#outLength > 0) {
      // The last frames go out first; #flush calls back here.
      return;
    }
    this.#ended = true;
    if (this.#ageTimer) clearTimeout(this.#ageTimer);
    this.#socket.end();
  }

  /** A connection error: GOAWAY with its code, then the socket ends; open streams are closed. */
  #fail(error: unknown): void {
    const failure = error instanceof ConnectionError ? error : new ConnectionError(ErrorCode.InternalError, error instanceof Error ? error.message : String(error));
    if (!this.#goingAway || failure.code !== ErrorCode.NoError) this.#goAway(failure.code, failure.message);
    this.#options.onProtocolError?.(failure);
    const last = this.#outLength > 0 ? Buffer.from(this.#out.subarray(0, this.#outLength)) : null;
    this.#outLength = 0;
    this.#stop(failure.code);
    if (last !== null) this.#socket.end(last);
    else this.#socket.end();
    // A peer that never reads must not keep the socket open.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }
}

function withoutPadding(payload: Buffer, extra: number): Buffer {
  if (payload.length < 1) throw new ConnectionError(ErrorCode.FrameSizeError, "padded frame without its pad length");
  const padding = payload[0]!;
  if (padding + 1 + extra > payload.length) throw new ConnectionError(ErrorCode.ProtocolError, "padding longer than the frame");
  return payload.subarray(1, payload.length - padding);
}

function hasUppercase(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 65 && code <= 90) return true;
  }
  return false;
}

/** What makes a request's header list malformed (RFC 9113 §8.3.1), or null. */
function requestHeaderProblem(headers: RequestHeaders): string | null {
  if (headers[":method"] === undefined || headers[":scheme"] === undefined || headers[":path"] === undefined) return "a missing pseudo-header";
  return null;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
