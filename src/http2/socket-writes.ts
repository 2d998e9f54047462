/**
 * Writes to a plain TCP or Unix socket's handle directly, without the Writable stream in between.
 *
 * Why: a connection writes each turn's frames in one `write()`, and with calls arriving one at a time
 * that is one write per call. Through net.Socket, each one also runs the Writable stream's bookkeeping
 * (its state, a write request object, the length it counts, a callback scheduled for the next tick): 4%
 * of the node's time at 60,000 reads/s, beside 26% for the system call itself (docs/performance.md,
 * change 49).
 *
 * How: the handle's `writeBuffer(request, buffer)` is what net.Socket itself calls. It needs a request
 * object of Node's own write-request class, which is learnt from the first write that goes through the
 * stream (the connection's SETTINGS frame). When the kernel takes every byte at once (the usual case on
 * loopback and on any socket whose send buffer has room) the buffer is free again when the call returns;
 * otherwise libuv keeps writing it in the background, this module keeps it alive until then, and the
 * handle's `writeQueueSize` counts what is left. Writes keep their order: a write goes directly only while
 * the stream has nothing of its own in flight, and libuv sends a handle's writes in the order given.
 * When any of this is missing (TLS, another kind of stream, a Node.js release without these internals),
 * every write goes through the stream as before.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Duplex } from "node:stream";

/** Node's write request (a `WriteWrap`), with the fields net.Socket sets on it. */
interface WriteRequest {
  handle: WritableHandle;
  oncomplete: (this: WriteRequest, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
  /** Ours: the socket to destroy when a background write fails. */
  socket: Duplex | null;
}

interface WritableHandle {
  writeBuffer(request: WriteRequest, data: Buffer): number;
  readonly writeQueueSize: number;
}

/** Node's write-request class, once a write through a stream has shown it; null until then. */
let WriteRequestClass: (new () => WriteRequest) | null = null;

function onBackgroundWriteDone(this: WriteRequest, status: number): void {
  const socket = this.socket;
  this.buffer = null;
  this.socket = null;
  if (status < 0 && socket !== null) socket.destroy(new Error(`write failed (libuv error ${status})`));
}

function handleOf(socket: Duplex): Partial<WritableHandle> | null {
  return (socket as unknown as { _handle?: Partial<WritableHandle> | null })._handle ?? null;
}

/**
 * A plain TCP or Unix net.Socket: one that hands written bytes to the kernel (or queues them in libuv) and
 * whose handle may be used directly. TLS sockets and other streams may keep a written buffer.
 */
export function isPlainSocket(socket: Duplex): socket is net.Socket {
  return socket instanceof net.Socket && !(socket instanceof tls.TLSSocket);
}

/** Writes a socket's output; see the module comment. */
export class SocketWriter {
  readonly #socket: Duplex;
  /**
   * Whether the socket is a plain one ({@link isPlainSocket}): only then can a write report the buffer
   * free again, and only then is the handle used.
   */
  readonly plain: boolean;

  constructor(socket: Duplex) {
    this.#socket = socket;
    this.plain = isPlainSocket(socket);
  }

  /**
   * Writes `data`. Returns true when the kernel took every byte at once, so that the caller may fill the
   * buffer again; false when the bytes are still queued (the buffer must be left alone) or the socket could
   * not take them.
   */
  write(data: Buffer): boolean {
    const handle = this.plain ? handleOf(this.#socket) : null;
    if (handle === null || WriteRequestClass === null || this.#socket.writableLength > 0 || this.#socket.destroyed) {
      if (handle !== null && WriteRequestClass === null) learnRequestClass(handle);
      this.#socket.write(data);
      return this.plain && this.#socket.writableLength === 0;
    }
    const request = new WriteRequestClass();
    request.handle = handle as WritableHandle;
    request.oncomplete = onBackgroundWriteDone;
    request.async = false;
    request.bytes = 0;
    request.buffer = null;
    request.socket = null;
    const status = (handle as WritableHandle).writeBuffer(request, data);
    if (status !== 0) {
      this.#socket.destroy(new Error(`write failed (libuv error ${status})`));
      return false;
    }
    if ((handle as WritableHandle).writeQueueSize === 0) return true;
    // libuv goes on writing `data` after this returns.
    request.async = true;
    request.buffer = data;
    request.socket = this.#socket;
    return false;
  }

  /** Bytes written and not yet taken by the kernel. */
  get unsent(): number {
    const queued = this.plain ? handleOf(this.#socket)?.writeQueueSize : undefined;
    return this.#socket.writableLength + (typeof queued === "number" ? queued : 0);
  }
}

/** Learns Node's write-request class from the request net.Socket passes to the handle on its next write. */
function learnRequestClass(handle: Partial<WritableHandle>): void {
  const original = handle.writeBuffer;
  // Both are used on every direct write: a handle without them (another release) keeps the stream.
  if (typeof original !== "function" || typeof handle.writeQueueSize !== "number" || Object.prototype.hasOwnProperty.call(handle, "writeBuffer")) return;
  const spy = function (this: WritableHandle, request: WriteRequest, data: Buffer): number {
    delete (handle as { writeBuffer?: unknown }).writeBuffer;
    const candidate = (request as { constructor?: unknown }).constructor;
    if (typeof candidate === "function" && candidate !== Object) WriteRequestClass = candidate as new () => WriteRequest;
    return original.call(this, request, data);
  };
  (handle as { writeBuffer: unknown }).writeBuffer = spy;
  // The next write may be of a string (another method): the spy must not stay behind for later sockets' sake.
  queueMicrotask(() => {
    if ((handle as { writeBuffer?: unknown }).writeBuffer === spy) delete (handle as { writeBuffer?: unknown }).writeBuffer;
  });
}
