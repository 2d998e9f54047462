/**
 * The outbound connection to one peer: it carries the Raft messages of every group from this node to that
 * peer. (Each node dials every peer for its own outbound direction and accepts the peers' connections for the
 * inbound one, so a pair of nodes uses two TCP connections and no tie-breaking is needed when both dial at once.)
 *
 * States, changed only through #transition:
 *
 *   idle → connecting → ready → backoff → connecting → …      (any state → closed)
 *
 * `connecting` covers TCP connect plus the handshake; `backoff` waits a jittered, doubling delay (50 ms → 2 s
 * by default) before dialing again. Messages queue while not ready, up to a small bound, and are flushed in one
 * write per event-loop turn once ready.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import { formatHostPort, parseHostPort, type HostPort } from "./address.js";
import { Backoff } from "./backoff.js";
import { HandshakeRejectedError, RequestFailedError, TransportArgumentError, TransportError, TransportProtocolError } from "./errors.js";
import { FrameDecoder, FrameKind, MAGIC, encodeFrame, type Frame } from "./frame.js";
import { PROTOCOL_VERSION, decodeAccept, decodeReason, encodeHello } from "./handshake.js";
import { DISCONNECTED_SEND_QUEUE_BYTES_MAX, FRAME_PAYLOAD_BYTES_MAX, HANDSHAKE_FRAME_BYTES_MAX, type TransportTiming } from "./limits.js";
import { RepeatFilter, type TransportLog } from "./log.js";
import type { GroupMessage } from "./message-codec.js";
import { PendingRequests } from "./pending-requests.js";
import { decodeResponse, encodeRequestPrefix } from "./request-frames.js";
import { SendQueue } from "./send-queue.js";
import { corkForTick } from "./cork.js";

/** Settings of one outbound link. */
export interface PeerLinkOptions {
  readonly localNodeId: number;
  readonly clusterName: string;
  readonly peerId: number;
  readonly address: string;
  /** Bound on queued plus socket-buffered bytes (already mapped from the spec's 0 = unlimited). */
  readonly sendQueueBytesMax: number;
  readonly timing: TransportTiming;
  readonly log: TransportLog;
}

/** A snapshot of the link for peerStatus(). */
export interface PeerLinkStatus {
  readonly connected: boolean;
  /** Wall-clock time of the last frame received from the peer on this link. */
  readonly lastSeenMs: number | undefined;
  readonly queuedBytes: number;
  readonly droppedMessages: number;
  readonly sentMessages: number;
}

type LinkState = "idle" | "connecting" | "ready" | "backoff" | "closed";

const TRANSITIONS: { readonly [S in LinkState]: readonly LinkState[] } = {
  idle: ["connecting", "closed"],
  connecting: ["ready", "backoff", "closed"],
  ready: ["backoff", "closed"],
  backoff: ["connecting", "closed"],
  closed: [],
};

const PING_FRAME = encodeFrame(FrameKind.PING);
/** Room for the request id in front of a request body in one frame. */
const REQUEST_BODY_BYTES_MAX = FRAME_PAYLOAD_BYTES_MAX - 16;

/** The outbound connection to one peer. */
export class PeerLink {
  readonly peerId: number;
  readonly #options: PeerLinkOptions;
  readonly #queue = new SendQueue();
  readonly #requests: PendingRequests;
  readonly #backoff: Backoff;
  readonly #failureLog: RepeatFilter;
  readonly #dropLog: RepeatFilter;
  #address: HostPort;
  #state: LinkState = "idle";
  #socket: net.Socket | undefined;
  #decoder: FrameDecoder | undefined;
  /** The handshake timeout while connecting, the reconnection delay while backing off. */
  #timer: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #flush: NodeJS.Immediate | undefined;
  #connectedAtMs = 0;
  #lastReceivedMs = 0;
  #lastSeenWallMs: number | undefined;
  #dropped = 0;
  #sent = 0;

  constructor(options: PeerLinkOptions) {
    this.peerId = options.peerId;
    this.#options = options;
    this.#address = parseHostPort(options.address, `address of peer ${options.peerId}`);
    this.#requests = new PendingRequests(options.peerId);
    this.#backoff = new Backoff(options.timing.backoffBaseMs, options.timing.backoffMaxMs);
    this.#failureLog = new RepeatFilter(options.timing.logRepeatIntervalMs);
    this.#dropLog = new RepeatFilter(options.timing.logRepeatIntervalMs);
  }

  /** The peer's current address as `host:port`. */
  get address(): string {
    return this.#addressText();
  }

  /** Starts dialing. */
  start(): void {
    this.#dial();
  }

  /**
   * Queues a message for the next flush. Never throws for network reasons.
   * @returns false when the message was dropped because the queue is full or the link is closed.
   * @throws TransportProtocolError when the message cannot be encoded (a caller bug).
   */
  enqueue(item: GroupMessage): boolean {
    if (this.#state === "closed") return this.#drop();
    const socket = this.#state === "ready" ? this.#socket : undefined;
    const limit =
      socket === undefined
        ? Math.min(this.#options.sendQueueBytesMax, DISCONNECTED_SEND_QUEUE_BYTES_MAX)
        : this.#options.sendQueueBytesMax - socket.writableLength;
    if (!this.#queue.tryAppend(item, limit)) return this.#drop();
    if (socket !== undefined && this.#flush === undefined) {
      this.#flush = setImmediate(() => {
        this.#flush = undefined;
        this.#flushQueue();
      });
    }
    return true;
  }

  /**
   * Sends a request on the current connection; resolves with the peer's answer. Fails at once with
   * RequestFailedError(notConnected) when the link is down: the caller decides whether to retry.
   */
  request(payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const socket = this.#state === "ready" ? this.#socket : undefined;
    if (socket === undefined) {
      return Promise.reject(new RequestFailedError(this.peerId, "notConnected", `no connection to ${this.#addressText()}`));
    }
    if (payload.length > REQUEST_BODY_BYTES_MAX) {
      return Promise.reject(new TransportArgumentError(`Cannot send a request of ${payload.length} bytes: at most ${REQUEST_BODY_BYTES_MAX}`));
    }
    return this.#requests.start(timeoutMs, (requestId) => {
      corkForTick(socket);
      socket.write(encodeFrame(FrameKind.REQUEST, Buffer.concat([encodeRequestPrefix(requestId), payload])));
    });
  }

  /** Points the link at a new address; a current connection or pending retry is replaced by a dial now. */
  setAddress(address: string): void {
    const parsed = parseHostPort(address, `address of peer ${this.peerId}`);
    if (parsed.host === this.#address.host && parsed.port === this.#address.port) return;
    this.#address = parsed;
    if (this.#state === "idle" || this.#state === "closed") return;
    // Quietly: a new address is news, not a failure worth a warning.
    if (this.#socket !== undefined) this.#disconnect(this.#socket);
    this.#clearTimers();
    if (this.#state !== "backoff") this.#transition("backoff");
    this.#backoff.reset();
    this.#dial();
  }

  /** The link's state for peerStatus(). */
  status(): PeerLinkStatus {
    return {
      connected: this.#state === "ready",
      lastSeenMs: this.#lastSeenWallMs,
      queuedBytes: this.#queue.bytes + (this.#socket?.writableLength ?? 0),
      droppedMessages: this.#dropped,
      sentMessages: this.#sent,
    };
  }

  /** Closes the connection for good (queued messages are discarded); resolves once the socket is closed. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#transition("closed");
    this.#clearTimers();
    clearImmediate(this.#flush);
    this.#flush = undefined;
    this.#queue.clear();
    this.#requests.failAll("the transport is closing");
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined || socket.closed) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.destroy();
    });
  }

  #transition(to: LinkState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new Error(`Peer link to node ${this.peerId}: illegal transition ${this.#state} → ${to}`);
    }
    this.#state = to;
  }

  #dial(): void {
    this.#transition("connecting");
    const { host, port } = this.#address;
    const socket = net.connect({ host, port, noDelay: true });
    this.#socket = socket;
    this.#decoder = new FrameDecoder({ expectMagic: true, maxPayloadBytes: HANDSHAKE_FRAME_BYTES_MAX });
    socket.on("data", (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on("drain", () => this.#flushQueue());
    socket.on("error", (error) => this.#fail(socket, `connection error: ${error.message}`));
    socket.on("close", () => this.#fail(socket, "connection closed by the peer"));
    const { localNodeId: from, clusterName } = this.#options;
    const hello = encodeHello({ protocolVersion: PROTOCOL_VERSION, channel: "raft", clusterName, from, to: this.peerId });
    socket.write(Buffer.concat([MAGIC, encodeFrame(FrameKind.HELLO, hello)]));
    const timeoutMs = this.#options.timing.handshakeTimeoutMs;
    this.#timer = setTimeout(() => this.#fail(socket, `handshake not completed within ${timeoutMs} ms`), timeoutMs);
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    const decoder = this.#decoder!;
    decoder.push(chunk);
    try {
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        this.#onFrame(frame);
        if (socket !== this.#socket) return;
      }
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      this.#fail(socket, error.message);
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#state === "connecting") {
      if (frame.kind === FrameKind.REJECT) {
        throw new HandshakeRejectedError(this.#addressText(), decodeReason(frame.payload));
      }
      if (frame.kind !== FrameKind.ACCEPT) throw new TransportProtocolError(`Expected a handshake answer, got frame kind ${frame.kind}`);
      decodeAccept(frame.payload, this.peerId);
      this.#markSeen();
      this.#onReady();
      return;
    }
    if (frame.kind === FrameKind.RESPONSE) this.#requests.settle(decodeResponse(frame.payload));
    else if (frame.kind !== FrameKind.PONG) throw new TransportProtocolError(`Unexpected frame kind ${frame.kind} from the accepting side`);
    this.#markSeen();
  }

  #onReady(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#transition("ready");
    this.#connectedAtMs = performance.now();
    this.#failureLog.reset();
    this.#options.log.info("Connected to peer", { peer: this.peerId, address: this.#addressText() });
    this.#keepalive = setInterval(() => this.#keepaliveTick(), this.#options.timing.keepaliveIntervalMs);
    this.#flushQueue();
  }

  #keepaliveTick(): void {
    const socket = this.#socket!;
    const silentMs = performance.now() - this.#lastReceivedMs;
    if (silentMs > this.#options.timing.peerSilenceTimeoutMs) {
      this.#fail(socket, `no answer from the peer for ${Math.round(silentMs)} ms`);
      return;
    }
    socket.write(PING_FRAME);
  }

  #flushQueue(): void {
    if (this.#state !== "ready") return;
    const socket = this.#socket!;
    // Past the socket's high-water mark: wait for 'drain' and send what accumulated meanwhile in one write.
    if (socket.writableNeedDrain) return;
    const messages = this.#queue.messages;
    const data = this.#queue.take();
    if (data === undefined) return;
    this.#sent += messages;
    socket.write(data);
  }

  /** Drops the connection (if `socket` is still the current one) and schedules the next attempt. */
  #fail(socket: net.Socket, reason: string): void {
    if (socket !== this.#socket) return;
    this.#disconnect(socket);
    this.#requests.failAll(reason);
    const wasReady = this.#state === "ready";
    if (wasReady && performance.now() - this.#connectedAtMs >= this.#options.timing.backoffResetAfterMs) {
      this.#backoff.reset();
    }
    const delayMs = this.#backoff.nextDelayMs();
    this.#transition("backoff");
    const suppressed = this.#failureLog.admit(reason);
    if (suppressed !== undefined) {
      const message = wasReady ? "Lost connection to peer" : "Cannot connect to peer";
      this.#options.log.warn(message, { peer: this.peerId, address: this.#addressText(), reason, retryInMs: delayMs, suppressed });
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dial();
    }, delayMs);
  }

  #disconnect(socket: net.Socket): void {
    socket.destroy();
    this.#socket = undefined;
    this.#decoder = undefined;
    this.#clearTimers();
  }

  #drop(): false {
    this.#dropped++;
    const suppressed = this.#dropLog.admit("send queue full");
    if (suppressed !== undefined && this.#state !== "closed") {
      this.#options.log.warn("Send queue to peer is full: dropping messages (Raft will retry)", {
        peer: this.peerId,
        connected: this.#state === "ready",
        queuedBytes: this.#queue.bytes,
        droppedTotal: this.#dropped,
        suppressed,
      });
    }
    return false;
  }

  #markSeen(): void {
    this.#lastReceivedMs = performance.now();
    this.#lastSeenWallMs = Date.now();
  }

  #clearTimers(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#keepalive);
    this.#timer = undefined;
    this.#keepalive = undefined;
  }

  #addressText(): string {
    return formatHostPort(this.#address.host, this.#address.port);
  }
}
