/**
 * Binds handler functions to a grpc-js server under both service names (Armada's and Regatta's), with
 * one implementation behind both. Handlers are plain (mostly async) functions; this module turns their results
 * and thrown errors into gRPC answers, decodes requests leniently (a request that is not valid protobuf
 * becomes INVALID_ARGUMENT instead of grpc-js's INTERNAL), and gives each call its cancellation.
 */
import * as grpc from "@grpc/grpc-js";
import type { MethodSpec, ServiceSpec } from "../proto/services.js";
import { AbortedError } from "../engine/errors.js";
import { Canceller, toAbortSignal, type Cancellation } from "../engine/cancellation.js";
import { registerFastServerStream, registerFastUnary, type FastCall } from "./fast-unary.js";
import { FramedResponse } from "./framed-response.js";
import { Code, invalidArgument, isUnexpected, StatusError, toStatusError } from "./status.js";

/** What a handler knows about its call. */
export interface CallContext {
  readonly method: string;
  readonly metadata: grpc.Metadata;
  /** Fires when the client cancels, the client's deadline passes, or the server's default deadline passes. */
  readonly signal: AbortSignal;
  /**
   * The same as `signal`, without making an AbortSignal: what the engine's waits take. Hot handlers use
   * this one (an AbortSignal costs more to make than the rest of a linearizable read's own work).
   */
  readonly cancellation: Cancellation;
  readonly peer: string;
  /** Trailing metadata sent with a server stream's OK status (Armada extensions; Regatta clients ignore it). */
  readonly trailers: grpc.Metadata;
}

/** A unary handler answers with a promise, or with the response itself when it has it at once. */
export type UnaryHandler = (request: never, context: CallContext) => object | Promise<object>;
export type ServerStreamHandler = (request: never, context: CallContext, send: (message: object) => Promise<void>) => Promise<void>;
export type ClientStreamHandler = (requests: AsyncIterable<object>, context: CallContext) => Promise<object>;
export type Handler = UnaryHandler | ServerStreamHandler | ClientStreamHandler;

export interface BindOptions {
  /** Deadline applied when the client set none (ms); undefined = none. Per method name. */
  readonly defaultDeadlineMs?: (method: string) => number | undefined;
  /** Runs before every handler (authentication); throws a StatusError to refuse the call. */
  readonly intercept?: (context: CallContext) => void;
  /** Receives unexpected handler failures for logging. */
  readonly onUnexpectedError?: (method: string, error: unknown) => void;
  /** Records call counts and latencies (metrics); consulted once per method at bind time. */
  readonly observer?: CallObserver;
}

/**
 * Metrics of one method, resolved once when the service is bound so a call costs a clock read and a few
 * counter increments.
 */
export interface MethodObserver {
  started(): void;
  messageReceived(): void;
  messageSent(): void;
  /** The call ended with `code`, `startedAtMs` being its `performance.now()` at start. */
  handled(code: Code, startedAtMs: number): void;
}

export interface CallObserver {
  method(service: string, method: string, kind: MethodSpec["kind"]): MethodObserver;
}

const NO_OBSERVER: MethodObserver = { started() {}, messageReceived() {}, messageSent() {}, handled() {} };

/** Marker for a request that failed to decode; handlers never see it. */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** Registers `handlers` for `spec` on `server` under the Armada and the Regatta service names. */
export function bindService(
  server: grpc.Server,
  spec: ServiceSpec,
  handlers: Readonly<Record<string, Handler>>,
  options: BindOptions = {},
): void {
  for (const serviceName of [spec.armadaName, spec.referenceName]) {
    const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(spec.methods)) {
      const handler = handlers[name];
      if (!handler) continue;
      const path = `/${serviceName}/${name}`;
      definition[name] = methodDefinition(path, method);
      const observer = options.observer?.method(serviceName, name, method.kind) ?? NO_OBSERVER;
      implementation[name] = adapt(server, path, method, handler, options, observer);
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
}

function methodDefinition(path: string, method: MethodSpec): grpc.MethodDefinition<object, object> {
  return {
    path,
    requestStream: method.kind === "clientStream",
    responseStream: method.kind === "serverStream",
    requestSerialize: (value: object) => asBuffer(method.request.encode(value).finish()),
    requestDeserialize: (bytes: Buffer) => decodeRequest(method, bytes),
    responseSerialize: (value: object) => (value instanceof FramedResponse ? value.message : asBuffer(method.response.encode(value).finish())),
    responseDeserialize: (bytes: Buffer) => method.response.decode(bytes),
  };
}

/** The request, or an UndecodableRequest (answered INVALID_ARGUMENT instead of grpc-js's INTERNAL). */
function decodeRequest(method: MethodSpec, bytes: Uint8Array): object {
  try {
    return method.request.decode(bytes);
  } catch (error) {
    return new UndecodableRequest(error instanceof Error ? error.message : String(error));
  }
}

/** The encoded bytes as a Buffer without copying them (protobufjs already returns a Buffer on Node). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * What a call context reads of a call: grpc-js's server calls have it, and so has the fast unary path's
 * call (fast-unary.ts).
 */
interface CallSource {
  readonly metadata: grpc.Metadata;
  readonly cancelled: boolean;
  getDeadline(): grpc.Deadline;
  getPeer(): string;
  on(event: "cancelled", listener: () => void): unknown;
  removeListener(event: "cancelled", listener: () => void): unknown;
}

type AnyCall = grpc.ServerUnaryCall<object, object> | grpc.ServerWritableStream<object, object> | grpc.ServerReadableStream<object, object>;

/**
 * The context of one call. What most calls never use is made on first use: the cancellation (with its
 * deadline timer and cancellation listener), the AbortSignal over it, the peer string and the trailers.
 * A cancellation made late behaves as if it had existed from the start: fired at once when the client
 * already cancelled, and fired by a timer at the deadline computed when the call started.
 */
class LazyCallContext implements CallContext {
  readonly method: string;
  readonly #call: CallSource;
  /** `Date.now()` at which the deadline passes; undefined = no deadline. */
  readonly #deadlineAtMs: number | undefined;
  #cancellation: Canceller | null = null;
  #signal: AbortSignal | null = null;
  #timer: NodeJS.Timeout | undefined;
  #onCancel: (() => void) | null = null;
  #trailers: grpc.Metadata | null = null;
  #disposed = false;

  constructor(path: string, call: CallSource, defaultDeadlineMs: number | undefined) {
    this.method = path;
    this.#call = call;
    const deadline = call.getDeadline();
    const clientDeadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    if (Number.isFinite(clientDeadlineMs)) this.#deadlineAtMs = clientDeadlineMs;
    else if (defaultDeadlineMs !== undefined) this.#deadlineAtMs = Date.now() + defaultDeadlineMs;
  }

  get cancellation(): Cancellation {
    if (this.#cancellation) return this.#cancellation;
    const cancellation = new Canceller();
    this.#cancellation = cancellation;
    if (this.#disposed) return cancellation;
    if (this.#call.cancelled) {
      cancellation.abort(new AbortedError("cancelled"));
      return cancellation;
    }
    this.#onCancel = () => cancellation.abort(new AbortedError("cancelled"));
    this.#call.on("cancelled", this.#onCancel);
    if (this.#deadlineAtMs !== undefined) {
      this.#timer = setTimeout(() => cancellation.abort(new AbortedError("deadline")), Math.max(0, this.#deadlineAtMs - Date.now()));
    }
    return cancellation;
  }

  get signal(): AbortSignal {
    return (this.#signal ??= toAbortSignal(this.cancellation));
  }

  get metadata(): grpc.Metadata {
    return this.#call.metadata;
  }

  get peer(): string {
    return this.#call.getPeer();
  }

  get trailers(): grpc.Metadata {
    return (this.#trailers ??= new grpc.Metadata());
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onCancel) this.#call.removeListener("cancelled", this.#onCancel);
  }
}

function callContext(path: string, call: AnyCall, defaultDeadlineMs: number | undefined): { context: CallContext; dispose: () => void } {
  const context = new LazyCallContext(path, call, defaultDeadlineMs);
  return { context, dispose: () => context.dispose() };
}

function statusObject(error: unknown, path: string, options: BindOptions): Partial<grpc.StatusObject> {
  if (isUnexpected(error)) options.onUnexpectedError?.(path, error);
  const status = toStatusError(error);
  return { code: status.code, details: status.details, metadata: new grpc.Metadata() };
}

function adapt(server: grpc.Server, path: string, method: MethodSpec, handler: Handler, options: BindOptions, observer: MethodObserver): grpc.UntypedHandleCall {
  const deadlineMs = options.defaultDeadlineMs?.(path.slice(path.lastIndexOf("/") + 1));
  switch (method.kind) {
    case "unary": {
      // `callback` is grpc-js's; null for a fast call (answered through the call itself).
      const answer = (call: CallSource, callback: grpc.sendUnaryData<object> | null, status: Partial<grpc.StatusObject> | null, value?: object) => {
        if (callback === null) answerFast(call as FastCall, method, status, value);
        else callback(status, value);
      };
      const succeed = (call: CallSource, callback: grpc.sendUnaryData<object> | null, context: LazyCallContext, startedAtMs: number, value: object) => {
        try {
          observer.messageSent();
          observer.handled(Code.OK, startedAtMs);
          answer(call, callback, null, value);
        } finally {
          context.dispose();
        }
      };
      const fail = (call: CallSource, callback: grpc.sendUnaryData<object> | null, context: LazyCallContext, startedAtMs: number, error: unknown) => {
        try {
          answer(call, callback, failed(error, path, options, observer, startedAtMs));
        } finally {
          context.dispose();
        }
      };
      const run = (call: CallSource, request: object, callback: grpc.sendUnaryData<object> | null) => {
        const startedAtMs = performance.now();
        observer.started();
        observer.messageReceived();
        const context = new LazyCallContext(path, call, deadlineMs);
        let response: object | Promise<object>;
        try {
          options.intercept?.(context);
          response = (handler as UnaryHandler)(checkedRequest(request) as never, context);
        } catch (error) {
          fail(call, callback, context, startedAtMs, error);
          return;
        }
        // A handler that answers at once (a serializable read) is answered without a promise reaction;
        // one that waits gets one reaction (no wrapper promise, no finally).
        if (response instanceof Promise) {
          response.then(
            (value) => succeed(call, callback, context, startedAtMs, value),
            (error: unknown) => fail(call, callback, context, startedAtMs, error),
          );
        } else {
          succeed(call, callback, context, startedAtMs, response);
        }
      };
      // Plain calls take the short path (fast-unary.ts); the rest come through grpc-js below.
      registerFastUnary(server, path, (call, bytes) => run(call, decodeRequest(method, bytes), null));
      return (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => run(call, call.request, callback);
    }
    case "serverStream": {
      const serve = (call: CallSource, request: object, sink: StreamSink) => {
        const startedAtMs = performance.now();
        observer.started();
        observer.messageReceived();
        const context = new LazyCallContext(path, call, deadlineMs);
        const send = (message: object) => { observer.messageSent(); return sink.write(message, context.signal); };
        run(async () => {
          options.intercept?.(context);
          await (handler as ServerStreamHandler)(checkedRequest(request) as never, context, send);
        })
          .then(
            () => { observer.handled(Code.OK, startedAtMs); sink.end(context.trailers); },
            (error: unknown) => {
              const status = failed(error, path, options, observer, startedAtMs, call.cancelled);
              if (!call.cancelled) sink.fail(status);
            },
          )
          .finally(() => context.dispose());
      };
      // Behind the HTTP/2 front, plain calls take the short path (fast-unary.ts); the rest come through grpc-js.
      registerFastServerStream(server, path, (call, bytes) => serve(call, decodeRequest(method, bytes), fastStreamSink(call, method)));
      return (call: grpc.ServerWritableStream<object, object>) => serve(call, call.request, grpcStreamSink(call));
    }
    case "clientStream":
      return (call: grpc.ServerReadableStream<object, object>, callback: grpc.sendUnaryData<object>) => {
        const startedAtMs = performance.now();
        observer.started();
        const { context, dispose } = callContext(path, call, deadlineMs);
        run(() => {
          options.intercept?.(context);
          return (handler as ClientStreamHandler)(checkedStream(call, observer), context);
        })
          .then(
            (response) => { observer.messageSent(); observer.handled(Code.OK, startedAtMs); callback(null, response); },
            (error: unknown) => callback(failed(error, path, options, observer, startedAtMs)),
          )
          .finally(dispose);
      };
  }
}

function answerFast(call: FastCall, method: MethodSpec, status: Partial<grpc.StatusObject> | null, response?: object): void {
  if (status !== null) {
    call.sendStatus(status.code ?? Code.UNKNOWN, status.details ?? "", status.metadata);
    return;
  }
  let message: FramedResponse;
  try {
    message = framed(response!, method);
  } catch (error) {
    const status = error as StatusError;
    call.sendStatus(status.code, status.details);
    return;
  }
  call.sendFrame(message.frame);
}

/** The status a failed call answers with, recorded with the observer (CANCELLED when the client left). */
function failed(error: unknown, path: string, options: BindOptions, observer: MethodObserver, startedAtMs: number, cancelled = false): Partial<grpc.StatusObject> {
  const status = statusObject(error, path, options);
  observer.handled(cancelled ? Code.CANCELLED : status.code!, startedAtMs);
  return status;
}

async function run<T>(work: () => Promise<T>): Promise<T> {
  return work();
}

function checkedRequest(request: object): object {
  if (request instanceof UndecodableRequest) throw invalidArgument(`request is not a valid protobuf message: ${request.reason}`);
  return request;
}

async function* checkedStream(call: grpc.ServerReadableStream<object, object>, observer: MethodObserver): AsyncIterable<object> {
  for await (const message of call as AsyncIterable<object>) {
    observer.messageReceived();
    yield checkedRequest(message);
  }
}

/** Where a server stream's messages and end go: grpc-js's call, or a fast call's HTTP/2 stream. */
interface StreamSink {
  /** Sends one message; settles once the client can take more, so a slow client never makes us buffer a range. */
  write(message: object, signal: AbortSignal): Promise<void>;
  /** Status OK with the handler's trailers. */
  end(trailers: grpc.Metadata): void;
  fail(status: Partial<grpc.StatusObject>): void;
}

/**
 * grpc-js's call is a stream of objects that reports itself full only at 16 messages (64 MiB of IterateRange
 * responses), so its `write()` result says little. A message's send settles once the message before it has
 * been written out to HTTP/2 (its write callback): a client that stops reading holds up two messages.
 */
function grpcStreamSink(call: grpc.ServerWritableStream<object, object>): StreamSink {
  let previousWritten: Promise<void> = Promise.resolve();
  return {
    write: (message, signal) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      const before = previousWritten;
      previousWritten = new Promise((resolve) => call.write(message, () => resolve()));
      return unlessAborted(before, signal);
    },
    end: (trailers) => call.end(trailers),
    fail: (status) => call.emit("error", status),
  };
}

/**
 * A message's send settles when the client's window has room again, and then on the next turn of the event
 * loop: a stream that the window lets run would otherwise produce message after message (a scan of
 * megabytes) before the connection writes any of them out or the node serves another call.
 */
function fastStreamSink(call: FastCall, method: MethodSpec): StreamSink {
  return {
    write: (message, signal) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      let accepted: boolean;
      try {
        accepted = call.writeStreamFrame(framed(message, method).parts);
      } catch (error) {
        return Promise.reject(error);
      }
      const room = accepted ? Promise.resolve() : new Promise<void>((resolve) => call.whenDrained(resolve));
      return unlessAborted(room.then(nextTurn), signal);
    },
    end: (trailers) => call.endStream(trailers),
    fail: (status) => call.sendStatus(status.code ?? Code.UNKNOWN, status.details ?? "", status.metadata),
  };
}

/** Settles on the next turn of the event loop, after the I/O callbacks and immediates already due. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A response message in its gRPC frame: as the handler framed it, or encoded here.
 * @throws StatusError INTERNAL, grpc-js's answer to a response it cannot serialize.
 */
function framed(message: object, method: MethodSpec): FramedResponse {
  if (message instanceof FramedResponse) return message;
  try {
    return FramedResponse.of(method.response.encode(message).finish());
  } catch {
    throw new StatusError(Code.INTERNAL, "Error serializing response");
  }
}

/** `wait`, or a rejection with the signal's reason when `signal` fires first. */
function unlessAborted(wait: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    wait.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, reject);
  });
}

export { Code, StatusError };
