/**
 * Answers a `node:http2` server stream with header blocks built once, through the stream's native handle.
 *
 * Why: the public `respond()` and `sendTrailers()` rebuild the same few headers on every call. They copy
 * the header object into a null-prototype object (a dictionary in V8, so every store is a hash insert), add
 * a date, lower-case and check every name, build a Set of the single-value names and concatenate the
 * "name\0value\0flags" string that the native layer takes. On the serializable read path that was about
 * 13 of a call's 45 µs of CPU (docs/performance.md, change 35). A unary answer on the fast path always
 * sends the same headers and the same trailers, so their native form is built once, here.
 *
 * How: what Node.js 20's `respond()`, `sendTrailers()` and `finishSendTrailers()` do, minus the header
 * processing: call the native handle's `respond(list, options)` and, once the stream asks for trailers,
 * `trailers(list)` on the next turn of the event loop (not on nghttp2's stack), keeping the stream's own
 * state in step (the headers-sent and has-trailers flags, the idle timer, the destroy check after the
 * trailers). These are internals. They are found by their symbols' descriptions on the first stream of each
 * stream class, and their shapes are checked; after the first answer the public view must agree
 * (`headersSent`). On another Node.js major release, or when anything looks different, the public API is
 * used instead (the same bytes on the wire, at the old cost). One visible difference: `stream.sentHeaders` and
 * `sentTrailers` stay unset (nothing in Armada reads them).
 */
import type { ServerHttp2Stream } from "node:http2";
import { constants as http2Constants } from "node:http2";

/** The Node.js major release whose `node:http2` internals this module follows. */
const SUPPORTED_NODE_MAJOR = 20;
/** `node:http2`'s stream state flags (lib/internal/http2/core.js). */
const STREAM_FLAGS_HEADERS_SENT = 0x4;
const STREAM_FLAGS_HAS_TRAILERS = 0x20;
/** The native respond option that makes the stream ask for trailers after its last DATA frame. */
const STREAM_OPTION_GET_TRAILERS: number = (http2Constants as unknown as { STREAM_OPTION_GET_TRAILERS?: number }).STREAM_OPTION_GET_TRAILERS ?? 2;
/** nghttp2's "no flags" for a header field (NGHTTP2_NV_FLAG_NONE), one character per field. */
const NO_HEADER_FLAGS = "\0";

/** A header block in both forms: the object the public API takes, and the native list. */
export interface PreparedHeaders {
  readonly fields: Readonly<Record<string, string>>;
  /** `["name\0value\0flags" for every field, field count]`, pseudo-headers first. */
  readonly native: readonly [string, number];
}

/**
 * Builds a header block once. Names must be lower case and valid HTTP/2 field names; values must not
 * contain NUL, CR or LF (checked here, since nothing checks them per call).
 * @throws Error on an invalid name or value.
 */
export function prepareHeaders(fields: Record<string, string>): PreparedHeaders {
  let pseudo = "";
  let regular = "";
  let count = 0;
  for (const [name, value] of Object.entries(fields)) {
    if (!/^:?[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new Error(`invalid HTTP/2 header name ${JSON.stringify(name)}`);
    if (/[\0\r\n]/.test(value)) throw new Error(`invalid value for HTTP/2 header ${name}`);
    const field = `${name}\0${value}\0${NO_HEADER_FLAGS}`;
    if (name.startsWith(":")) pseudo += field;
    else regular += field;
    count++;
  }
  return { fields: Object.freeze({ ...fields }), native: [pseudo + regular, count] };
}

/** The internals of a server stream that a direct answer uses. */
interface StreamInternals {
  readonly handle: symbol;
  readonly state: symbol;
  readonly updateTimer: symbol;
  readonly maybeDestroy: symbol;
}

interface NativeStreamHandle {
  respond(list: readonly [string, number], options: number): number;
  trailers(list: readonly [string, number]): number;
}

type StreamWithInternals = ServerHttp2Stream & Record<symbol, unknown>;

/** Probe results per stream prototype (null: answer through the public API). */
const internalsByPrototype = new WeakMap<object, StreamInternals | null>();

function nodeMajor(): number {
  return Number(process.versions.node.split(".")[0]);
}

function symbolNamed(symbols: readonly symbol[], description: string): symbol | undefined {
  return symbols.find((symbol) => symbol.description === description);
}

function prototypeSymbols(object: object): symbol[] {
  const symbols: symbol[] = [];
  for (let proto = Object.getPrototypeOf(object) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    symbols.push(...Object.getOwnPropertySymbols(proto));
  }
  return symbols;
}

/** Finds and checks the internals on `stream`, or returns null when they are not what this module expects. */
function probe(stream: StreamWithInternals): StreamInternals | null {
  if (nodeMajor() !== SUPPORTED_NODE_MAJOR) return null;
  const own = Object.getOwnPropertySymbols(stream);
  const inherited = prototypeSymbols(stream);
  const handle = symbolNamed(own, "kHandle");
  const state = symbolNamed(own, "state");
  const updateTimer = symbolNamed(inherited, "kUpdateTimer");
  const maybeDestroy = symbolNamed(inherited, "kMaybeDestroy");
  if (!handle || !state || !updateTimer || !maybeDestroy) return null;
  const nativeHandle = stream[handle] as Partial<NativeStreamHandle> | undefined;
  const stateObject = stream[state] as { flags?: unknown; trailersReady?: unknown } | undefined;
  const shapesMatch =
    typeof nativeHandle?.respond === "function" &&
    typeof nativeHandle.trailers === "function" &&
    typeof stateObject?.flags === "number" &&
    typeof stateObject.trailersReady === "boolean" &&
    typeof stream[updateTimer] === "function" &&
    typeof stream[maybeDestroy] === "function";
  return shapesMatch ? { handle, state, updateTimer, maybeDestroy } : null;
}

function internalsOf(stream: StreamWithInternals): StreamInternals | null {
  const prototype = Object.getPrototypeOf(stream) as object;
  let internals = internalsByPrototype.get(prototype);
  if (internals === undefined) {
    internals = probe(stream);
    internalsByPrototype.set(prototype, internals);
  }
  return internals;
}

/** Whether streams like `stream` are answered directly (false: through the public API). */
export function answersDirectly(stream: ServerHttp2Stream): boolean {
  return internalsOf(stream as StreamWithInternals) !== null;
}

/**
 * Sends `headers`, then `body` as the only DATA, then `trailers`, ending the stream: what
 * `respond(headers, { waitForTrailers: true })`, `end(body)` and `sendTrailers(trailers)` on "wantTrailers"
 * do. The caller has checked that the stream is still open and has not answered yet.
 */
export function answerWithTrailers(stream: ServerHttp2Stream, headers: PreparedHeaders, body: Buffer, trailers: PreparedHeaders): void {
  const target = stream as StreamWithInternals;
  const internals = internalsOf(target);
  if (internals === null) {
    stream.respond(headers.fields, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(trailers.fields));
    stream.end(body);
    return;
  }
  const state = target[internals.state] as { flags: number };
  state.flags |= STREAM_FLAGS_HEADERS_SENT | STREAM_FLAGS_HAS_TRAILERS;
  (target[internals.updateTimer] as () => void).call(target);
  const result = (target[internals.handle] as NativeStreamHandle).respond(headers.native, STREAM_OPTION_GET_TRAILERS);
  if (result < 0) {
    stream.destroy(new Error(`HTTP/2 response headers could not be submitted (nghttp2 error ${result})`));
    return;
  }
  if (!stream.headersSent) {
    // The flag's meaning changed under us: the public API for every later stream of this class.
    internalsByPrototype.set(Object.getPrototypeOf(stream) as object, null);
  }
  stream.once("wantTrailers", () => {
    if (stream.destroyed || stream.closed) return;
    // As node:http2 does: trailers are submitted on the next turn, not from inside nghttp2's callback.
    setImmediate(submitTrailers, target, internals, trailers);
  });
  stream.end(body);
}

function submitTrailers(stream: StreamWithInternals, internals: StreamInternals, trailers: PreparedHeaders): void {
  if (stream.destroyed) return;
  (stream[internals.updateTimer] as () => void).call(stream);
  const state = stream[internals.state] as { flags: number };
  state.flags &= ~STREAM_FLAGS_HAS_TRAILERS;
  const result = (stream[internals.handle] as NativeStreamHandle).trailers(trailers.native);
  if (result < 0) stream.destroy(new Error(`HTTP/2 trailers could not be submitted (nghttp2 error ${result})`));
  else (stream[internals.maybeDestroy] as () => void).call(stream);
}
