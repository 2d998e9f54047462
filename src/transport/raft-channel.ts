/**
 * The accepting side of a peer's Raft connection: decodes RAFT_BATCH frames, checks that every message really
 * comes from the peer that completed the handshake and is addressed to this node, queues the messages for the
 * consumer, and answers keepalive pings.
 */
import { TransportProtocolError } from "./errors.js";
import { FrameKind, encodeFrame, type Frame } from "./frame.js";
import type { ChannelHandler, InboundConnection } from "./inbound-connection.js";
import { decodeGroupMessages, type GroupMessage } from "./message-codec.js";
import type { ReceiveDispatcher, ReceiveSource } from "./receive-dispatcher.js";

const PONG_FRAME = encodeFrame(FrameKind.PONG);

/** Settings of one inbound Raft channel. */
export interface RaftChannelOptions {
  readonly connection: InboundConnection;
  readonly peerId: number;
  readonly localNodeId: number;
  readonly dispatcher: ReceiveDispatcher;
  /** Stop reading the socket while more than this many received bytes wait for the consumer. */
  readonly recvQueueBytesMax: number;
  /** Called for every frame, to maintain the peer's last-seen time. */
  readonly onSeen: () => void;
  readonly onClose: () => void;
}

/** Handles the frames of one peer's Raft connection. */
export class RaftChannel implements ChannelHandler, ReceiveSource {
  readonly #options: RaftChannelOptions;
  #queuedBytes = 0;

  constructor(options: RaftChannelOptions) {
    this.#options = options;
  }

  /** Received bytes not yet consumed. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  onFrame(frame: Frame): void {
    const { connection, dispatcher, recvQueueBytesMax } = this.#options;
    this.#options.onSeen();
    if (frame.kind === FrameKind.PING) {
      connection.write(PONG_FRAME);
      return;
    }
    if (frame.kind !== FrameKind.RAFT_BATCH) throw new TransportProtocolError(`Unexpected frame kind ${frame.kind} on a Raft connection`);
    const batch = decodeGroupMessages(frame.payload);
    this.#checkAddressing(batch);
    this.#queuedBytes += frame.payload.length;
    dispatcher.enqueue(this, batch, frame.payload.length);
    if (this.#queuedBytes > recvQueueBytesMax && !connection.paused) connection.pause();
  }

  release(bytes: number): void {
    this.#queuedBytes -= bytes;
    const { connection, recvQueueBytesMax } = this.#options;
    if (this.#queuedBytes <= recvQueueBytesMax && connection.paused) connection.resume();
  }

  onClose(): void {
    this.#options.onClose();
  }

  #checkAddressing(batch: readonly GroupMessage[]): void {
    const { peerId, localNodeId } = this.#options;
    for (const { message } of batch) {
      if (message.from !== peerId || message.to !== localNodeId) {
        throw new TransportProtocolError(
          `Message ${message.type} from ${message.from} to ${message.to} arrived on the connection from node ${peerId} to node ${localNodeId}`,
        );
      }
    }
  }
}
