/**
 * The sending side of one snapshot transfer, on its own short-lived connection so that a large transfer never
 * delays the heartbeats on the peer's Raft connection. The chunks are pulled from the caller's AsyncIterable only
 * as fast as the socket drains, so at most one chunk plus the socket's buffer is in memory.
 *
 * run() resolves when the receiver reports that it installed the snapshot and rejects with SnapshotTransferError
 * when the receiver reports a failure, the connection breaks, nothing moves for `snapshotIdleTimeoutMs`, or the
 * source iterable throws (the receiver is then told with SNAPSHOT_ABORT).
 */
import net from "node:net";
import { parseHostPort } from "./address.js";
import { SnapshotTransferError, TransportError, TransportProtocolError } from "./errors.js";
import { FrameDecoder, FrameKind, MAGIC, encodeFrame, frameHeader, type Frame } from "./frame.js";
import { PROTOCOL_VERSION, decodeAccept, decodeReason, encodeHello, encodeReason } from "./handshake.js";
import { HANDSHAKE_FRAME_BYTES_MAX, SNAPSHOT_CHUNK_FRAME_BYTES_MAX, type TransportTiming } from "./limits.js";
import { decodeSnapshotResult, encodeSnapshotBegin, encodeSnapshotEnd } from "./snapshot-frames.js";

/** Everything one transfer needs. */
export interface SnapshotSendOptions {
  readonly address: string;
  readonly localNodeId: number;
  readonly clusterName: string;
  readonly peerId: number;
  readonly groupId: number;
  readonly header: Uint8Array;
  /** The snapshot bytes; a yielded chunk must not be modified afterwards (it is written without copying). */
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly timing: TransportTiming;
}

/** A promise with its settle functions. */
class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.promise.catch(() => {}); // observed later (or deliberately not at all): never an unhandled rejection
  }
}

/** One outgoing snapshot transfer. */
export class SnapshotSendSession {
  readonly #options: SnapshotSendOptions;
  readonly #what: string;
  readonly #decoder = new FrameDecoder({ expectMagic: true, maxPayloadBytes: HANDSHAKE_FRAME_BYTES_MAX });
  readonly #accepted = new Deferred<void>();
  /** Settled by the receiver's SNAPSHOT_RESULT or by any failure. */
  readonly #outcome = new Deferred<void>();
  #settled = false;
  #socket: net.Socket | undefined;
  #drain: Deferred<void> | undefined;

  constructor(options: SnapshotSendOptions) {
    this.#options = options;
    this.#what = `snapshot of group ${options.groupId} to node ${options.peerId}`;
  }

  /** Performs the transfer; see the file comment for how it settles. */
  async run(): Promise<void> {
    try {
      this.#connect();
      await Promise.race([this.#accepted.promise, this.#outcome.promise]);
      const { groupId, header } = this.#options;
      this.#socket!.write(encodeFrame(FrameKind.SNAPSHOT_BEGIN, encodeSnapshotBegin({ groupId, header })));
      const totalBytes = await this.#streamChunks();
      if (!this.#settled) this.#socket!.write(encodeFrame(FrameKind.SNAPSHOT_END, encodeSnapshotEnd(totalBytes)));
      await this.#outcome.promise;
    } finally {
      this.#settled = true;
      this.#socket?.end();
    }
  }

  /** Fails the transfer from outside (the transport is closing). */
  abort(error: Error): void {
    this.#fail(error);
  }

  #connect(): void {
    const { host, port } = parseHostPort(this.#options.address, `address of peer ${this.#options.peerId}`);
    const socket = net.connect({ host, port, noDelay: true });
    this.#socket = socket;
    const idleMs = this.#options.timing.snapshotIdleTimeoutMs;
    socket.setTimeout(idleMs);
    socket.on("timeout", () => this.#fail(new SnapshotTransferError(`No progress sending the ${this.#what} for ${idleMs} ms`)));
    socket.on("error", (error) => this.#fail(new SnapshotTransferError(`Sending the ${this.#what} failed: ${error.message}`, { cause: error })));
    socket.on("close", () => this.#fail(new SnapshotTransferError(`Connection closed before node ${this.#options.peerId} reported the result of the ${this.#what}`)));
    socket.on("drain", () => this.#drain?.resolve());
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    const { localNodeId: from, clusterName, peerId: to } = this.#options;
    const hello = encodeHello({ protocolVersion: PROTOCOL_VERSION, channel: "snapshot", clusterName, from, to });
    socket.write(Buffer.concat([MAGIC, encodeFrame(FrameKind.HELLO, hello)]));
  }

  /** Sends every chunk (split into frames of at most SNAPSHOT_CHUNK_FRAME_BYTES_MAX) and returns the byte count. */
  async #streamChunks(): Promise<number> {
    const iterator = this.#options.chunks[Symbol.asyncIterator]();
    let totalBytes = 0;
    let sourceDone = false;
    try {
      while (!this.#settled) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await iterator.next();
        } catch (error) {
          sourceDone = true; // a throwing iterator is finished; calling return() on it is not expected
          throw this.#abortForSource(error);
        }
        if (next.done === true) {
          sourceDone = true;
          break;
        }
        const chunk = next.value;
        for (let offset = 0; offset < chunk.length && !this.#settled; offset += SNAPSHOT_CHUNK_FRAME_BYTES_MAX) {
          const piece = chunk.subarray(offset, offset + SNAPSHOT_CHUNK_FRAME_BYTES_MAX);
          totalBytes += piece.length;
          await this.#writeChunkFrame(piece);
        }
      }
    } finally {
      if (!sourceDone) await iterator.return?.();
    }
    return totalBytes;
  }

  async #writeChunkFrame(piece: Uint8Array): Promise<void> {
    const socket = this.#socket!;
    socket.write(frameHeader(FrameKind.SNAPSHOT_CHUNK, piece));
    if (socket.write(piece)) return;
    this.#drain = new Deferred<void>();
    await Promise.race([this.#drain.promise, this.#outcome.promise]);
    this.#drain = undefined;
  }

  /** The source failed: tell the receiver why, settle, and return the error run() rejects with. */
  #abortForSource(cause: unknown): SnapshotTransferError {
    const message = cause instanceof Error ? cause.message : String(cause);
    const error = new SnapshotTransferError(`Reading the ${this.#what} failed: ${message}`, { cause });
    if (this.#settled) return error;
    this.#settled = true;
    this.#accepted.reject(error);
    this.#outcome.reject(error);
    // end(), not destroy(): the ABORT must reach the receiver. Its answer (or our idle timeout) closes the socket.
    this.#socket?.end(encodeFrame(FrameKind.SNAPSHOT_ABORT, encodeReason(message)));
    return error;
  }

  #onData(chunk: Buffer): void {
    this.#decoder.push(chunk);
    try {
      for (let frame = this.#decoder.next(); frame !== undefined; frame = this.#decoder.next()) this.#onFrame(frame);
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      this.#fail(new SnapshotTransferError(`Sending the ${this.#what} failed: ${error.message}`, { cause: error }));
    }
  }

  #onFrame(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.ACCEPT:
        decodeAccept(frame.payload, this.#options.peerId);
        return this.#accepted.resolve();
      case FrameKind.REJECT:
        throw new TransportProtocolError(`node refused the connection: ${decodeReason(frame.payload)}`);
      case FrameKind.PONG:
        return; // the receiver is still installing; the data event already reset the idle timeout
      case FrameKind.SNAPSHOT_RESULT:
        return this.#onResult(frame.payload);
      default:
        throw new TransportProtocolError(`unexpected frame kind ${frame.kind} from the receiver`);
    }
  }

  #onResult(payload: Uint8Array): void {
    const result = decodeSnapshotResult(payload);
    if (this.#settled) return;
    this.#settled = true;
    if (result.ok) this.#outcome.resolve();
    else this.#outcome.reject(new SnapshotTransferError(`Node ${this.#options.peerId} failed to install the ${this.#what}: ${result.reason}`));
    this.#drain?.resolve();
    this.#socket?.end();
  }

  #fail(error: Error): void {
    if (this.#settled) {
      // Already decided; a late failure (the idle timeout after our end(), a close) only needs the socket gone.
      this.#socket?.destroy();
      return;
    }
    this.#settled = true;
    this.#accepted.reject(error);
    this.#outcome.reject(error);
    this.#drain?.resolve();
    this.#socket?.destroy();
  }
}
