/**
 * The accepting side of a peer's Raft connection: decodes RAFT_BATCH frames, checks that every message really
 * comes from the peer that completed the handshake and is addressed to this node, queues the messages for the
 * consumer, answers keepalive pings, and runs the request handler for REQUEST frames.
 */
import { TransportProtocolError } from "./errors.js";
import { FrameKind, encodeFrame, type Frame } from "./frame.js";
import type { ChannelHandler, InboundConnection } from "./inbound-connection.js";
import { FRAME_PAYLOAD_BYTES_MAX, REQUESTS_IN_FLIGHT_MAX } from "./limits.js";
import { decodeGroupMessages, type GroupMessage } from "./message-codec.js";
import type { ReceiveDispatcher, ReceiveSource } from "./receive-dispatcher.js";
import { decodeRequest, encodeResponse } from "./request-frames.js";

/** Answers a peer's request (`request` is a copy the handler may keep); a rejection is sent back as the error. */
export type RequestHandler = (from: number, request: Uint8Array) => Promise<Uint8Array>;

/** Room for the request id and status byte in front of a response body in one frame. */
const RESPONSE_BODY_BYTES_MAX = FRAME_PAYLOAD_BYTES_MAX - 16;

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
  /** Answers REQUEST frames; without it every request is answered with an error. */
  readonly onRequest: RequestHandler | undefined;
}

/** Handles the frames of one peer's Raft connection. */
export class RaftChannel implements ChannelHandler, ReceiveSource {
  readonly #options: RaftChannelOptions;
  #queuedBytes = 0;
  #requestsInFlight = 0;

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
    if (frame.kind === FrameKind.REQUEST) {
      const { requestId, body } = decodeRequest(frame.payload);
      void this.#answer(requestId, Uint8Array.prototype.slice.call(body));
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

  /** Runs the request handler and sends its answer (or its error) back on this connection. */
  async #answer(requestId: number, body: Uint8Array): Promise<void> {
    const { onRequest, peerId, connection } = this.#options;
    let result: { ok: true; body: Uint8Array } | { ok: false; reason: string };
    if (onRequest === undefined) {
      result = { ok: false, reason: "this node does not answer requests" };
    } else if (this.#requestsInFlight >= REQUESTS_IN_FLIGHT_MAX) {
      result = { ok: false, reason: `busy: ${REQUESTS_IN_FLIGHT_MAX} requests from node ${peerId} are in progress` };
    } else {
      this.#requestsInFlight++;
      try {
        const response = await onRequest(peerId, body);
        result =
          response.length > RESPONSE_BODY_BYTES_MAX
            ? { ok: false, reason: `response of ${response.length} bytes exceeds ${RESPONSE_BODY_BYTES_MAX}` }
            : { ok: true, body: response };
      } catch (error) {
        result = { ok: false, reason: error instanceof Error ? error.message : String(error) };
      } finally {
        this.#requestsInFlight--;
      }
    }
    connection.write(encodeFrame(FrameKind.RESPONSE, encodeResponse(requestId, result)));
  }

  #checkAddressing(batch: readonly GroupMessage[]): void {
    const { peerId, localNodeId } = this.#options;
    for (const { message } of batch) {
      // A follower relays a read index request to its leader on behalf of the node that asked (the answer
      // goes straight back to that node), so only that message may name another sender.
      const relayedRead = message.type === "readIndex";
      if ((message.from !== peerId && !relayedRead) || message.to !== localNodeId) {
        throw new TransportProtocolError(
          `Message ${message.type} from ${message.from} to ${message.to} arrived on the connection from node ${peerId} to node ${localNodeId}`,
        );
      }
    }
  }
}
