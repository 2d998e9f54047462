/**
 * The accepting side of a snapshot transfer. After the handshake the sender streams BEGIN, CHUNK… and END (or
 * ABORT); the chunks reach the consumer's `onSnapshot` through a bounded ChunkQueue, and the promise it returns
 * decides the SNAPSHOT_RESULT sent back, which is what the sender's `sendSnapshot` resolves or rejects with.
 */
import { ChunkQueue } from "./chunk-queue.js";
import { SnapshotTransferError, TransportProtocolError } from "./errors.js";
import { FrameKind, encodeFrame, type Frame } from "./frame.js";
import { decodeReason } from "./handshake.js";
import type { ChannelHandler, InboundConnection } from "./inbound-connection.js";
import { SNAPSHOT_RECV_BUFFER_BYTES_MAX, type TransportTiming } from "./limits.js";
import type { TransportLog } from "./log.js";
import { decodeSnapshotBegin, decodeSnapshotEnd, encodeSnapshotResult, type SnapshotResult } from "./snapshot-frames.js";

/**
 * Installs a snapshot received from peer `from` for group `groupId`. `chunks` yields the streamed bytes and throws
 * SnapshotTransferError if the transfer breaks. Resolve once the snapshot is safely installed; reject to report
 * failure to the sender.
 */
export type SnapshotHandler = (
  from: number,
  groupId: number,
  header: Uint8Array,
  chunks: AsyncIterable<Uint8Array>,
) => Promise<void>;

/** Settings of one incoming snapshot transfer. */
export interface SnapshotChannelOptions {
  readonly connection: InboundConnection;
  readonly peerId: number;
  readonly handler: SnapshotHandler;
  readonly timing: TransportTiming;
  readonly log: TransportLog;
  readonly onClose: () => void;
}

type ReceiveState = "awaitingBegin" | "streaming" | "installing" | "reported";

const KEEPALIVE_FRAME = encodeFrame(FrameKind.PONG);

/** Handles the frames of one incoming snapshot transfer. */
export class SnapshotChannel implements ChannelHandler {
  readonly #options: SnapshotChannelOptions;
  #state: ReceiveState = "awaitingBegin";
  #queue: ChunkQueue | undefined;
  #groupId = 0;
  #receivedBytes = 0;
  /** Set once END or ABORT arrived: the sender has nothing more to say. */
  #streamFinished = false;
  #keepalive: NodeJS.Timeout | undefined;

  constructor(options: SnapshotChannelOptions) {
    this.#options = options;
  }

  onFrame(frame: Frame): void {
    if (this.#state === "reported") return; // the sender may still be writing; it stops when it reads our result
    switch (frame.kind) {
      case FrameKind.SNAPSHOT_BEGIN:
        return this.#onBegin(frame.payload);
      case FrameKind.SNAPSHOT_CHUNK:
        this.#requireState("streaming", frame.kind);
        this.#receivedBytes += frame.payload.length;
        return this.#queue!.push(frame.payload);
      case FrameKind.SNAPSHOT_END:
        return this.#onEnd(frame.payload);
      case FrameKind.SNAPSHOT_ABORT:
        this.#requireState("streaming", frame.kind);
        this.#streamFinished = true;
        this.#state = "installing";
        return this.#queue!.fail(new SnapshotTransferError(`Node ${this.#options.peerId} aborted the snapshot transfer: ${decodeReason(frame.payload)}`));
      default:
        throw new TransportProtocolError(`Unexpected frame kind ${frame.kind} on a snapshot connection`);
    }
  }

  onClose(): void {
    clearInterval(this.#keepalive);
    this.#queue?.fail(new SnapshotTransferError(`Connection from node ${this.#options.peerId} was lost during the snapshot transfer`));
    this.#options.onClose();
  }

  #onBegin(payload: Uint8Array): void {
    this.#requireState("awaitingBegin", FrameKind.SNAPSHOT_BEGIN);
    const { groupId, header } = decodeSnapshotBegin(payload);
    const { connection, peerId, handler } = this.#options;
    this.#groupId = groupId;
    this.#state = "streaming";
    const queue = new ChunkQueue({
      highWaterBytes: SNAPSHOT_RECV_BUFFER_BYTES_MAX,
      pause: () => connection.pause(),
      resume: () => connection.resume(),
    });
    this.#queue = queue;
    this.#options.log.info("Receiving a snapshot", { peer: peerId, group: groupId });
    // Promise.resolve().then turns a synchronous throw of the handler into a rejection.
    Promise.resolve()
      .then(() => handler(peerId, groupId, header, queue))
      .then(
        () => this.#report({ ok: true }),
        (error: unknown) => this.#report({ ok: false, reason: error instanceof Error ? error.message : String(error) }),
      );
  }

  #onEnd(payload: Uint8Array): void {
    this.#requireState("streaming", FrameKind.SNAPSHOT_END);
    const total = decodeSnapshotEnd(payload);
    if (total !== this.#receivedBytes) {
      throw new TransportProtocolError(`Snapshot stream ended after ${this.#receivedBytes} bytes, the sender says it sent ${total}`);
    }
    this.#streamFinished = true;
    this.#state = "installing";
    this.#queue!.end();
    // While the consumer installs, tell the sender we are alive so its idle timeout measures our progress, not its wait.
    this.#keepalive = setInterval(() => this.#options.connection.write(KEEPALIVE_FRAME), this.#options.timing.keepaliveIntervalMs);
  }

  #report(result: SnapshotResult): void {
    if (this.#state === "reported") return;
    this.#state = "reported";
    clearInterval(this.#keepalive);
    const { connection, peerId, log } = this.#options;
    const fields = { peer: peerId, group: this.#groupId, bytes: this.#receivedBytes };
    if (result.ok) log.info("Snapshot received and installed", fields);
    else log.warn("Snapshot not installed", { ...fields, reason: result.reason });
    const frame = encodeFrame(FrameKind.SNAPSHOT_RESULT, encodeSnapshotResult(result));
    if (this.#streamFinished) {
      connection.end(frame);
    } else {
      // The sender is still streaming: keep reading (and discarding) until it has read our answer and hung up,
      // because closing with unread data would reset the connection and could destroy the answer in flight.
      connection.write(frame);
      connection.resume();
    }
  }

  #requireState(expected: ReceiveState, kind: number): void {
    if (this.#state !== expected) throw new TransportProtocolError(`Unexpected frame kind ${kind} while ${this.#state}`);
  }
}
