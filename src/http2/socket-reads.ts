/**
 * Reads a plain TCP or Unix socket without its stream machinery: the kernel's bytes land in one buffer
 * this module owns, and each read reaches the connection as a copy of just those bytes.
 *
 * Why: by default every read of a net.Socket allocates a 64 KiB buffer, shrinks it to what was read,
 * wraps it in a new ArrayBuffer (which every scavenge then has to sweep) and pushes it through the
 * Readable stream, which emits "data" and schedules another read on the next tick. When calls arrive one
 * at a time each of them pays all of that; in a profile at 60,000 calls/s it was about 5% of the process
 * (malloc and free, the ArrayBuffer, the stream's bookkeeping). A copy of the few bytes read into Node's
 * buffer pool costs a fraction of that (docs/performance.md, change 47).
 *
 * How: Node reads into a caller's buffer for sockets it creates with the `onread` option, but not for the
 * sockets a server accepts. The same mechanism is switched on here for an accepted socket, through the
 * socket's own fields for it (the symbols `kBuffer` and `kBufferCb`, found by their descriptions) and the
 * handle's `useUserBuffer`. When a Node release lacks any of these, nothing is changed and the caller
 * listens for "data" as before: {@link readIntoOwnBuffer} says which.
 */
import type { Duplex } from "node:stream";
import { isPlainSocket } from "./socket-writes.js";

/** Where the kernel's bytes land: one buffer serves every socket, since each read is copied out at once. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

interface ReadableHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

/** The socket's own symbol described as `description`, or undefined. */
function ownSymbol(socket: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === description);
}

/**
 * Hands every chunk the socket reads to `onChunk` (a copy the callee may keep), without "data" events.
 * Returns false, changing nothing, when the socket is not a plain net.Socket with a handle, has already read
 * bytes that wait in its stream, or this Node.js release does not have the fields used: the caller then
 * listens for "data" itself.
 */
export function readIntoOwnBuffer(socket: Duplex, onChunk: (chunk: Buffer) => void): boolean {
  if (!isPlainSocket(socket)) return false;
  const handle = (socket as unknown as { _handle?: Partial<ReadableHandle> | null })._handle;
  if (handle == null || typeof handle.useUserBuffer !== "function") return false;
  const bufferField = ownSymbol(socket, "kBuffer");
  const callbackField = ownSymbol(socket, "kBufferCb");
  const generatorField = ownSymbol(socket, "kBufferGen");
  const fields = socket as unknown as Record<symbol, unknown>;
  // A socket already set up with a buffer of its own (or a release that changed these fields) is left alone.
  if (bufferField === undefined || callbackField === undefined || generatorField === undefined) return false;
  if (fields[bufferField] != null || fields[generatorField] != null) return false;
  // Bytes already read wait in the stream's buffer, and would have to come first: such a socket keeps "data".
  if (socket.readableLength > 0 || socket.readableEnded) return false;
  fields[bufferField] = READ_BUFFER;
  fields[callbackField] = (bytes: number, buffer: Buffer): void => {
    const chunk = Buffer.allocUnsafe(bytes);
    buffer.copy(chunk, 0, 0, bytes);
    onChunk(chunk);
  };
  (handle as ReadableHandle).useUserBuffer(READ_BUFFER);
  // Flowing, so that reading goes on and the end of the stream is reported ("end"), with no "data" listener.
  socket.resume();
  return true;
}
