/**
 * One accepted connection: it reads MAGIC and the HELLO, refuses a peer that fails the handshake (with the reason
 * sent back and logged), and then hands every frame to the handler of the channel the peer asked for
 * (Raft messages or one snapshot transfer). Garbage never escapes this class: a protocol error closes the
 * connection with a log line, and any other exception from a handler is logged as a bug and closes it too.
 */
import type net from "node:net";
import { formatHostPort } from "./address.js";
import { TransportError, TransportProtocolError } from "./errors.js";
import { FrameDecoder, FrameKind, MAGIC, encodeFrame, type Frame } from "./frame.js";
import { checkHello, encodeAccept, encodeReason, type Hello, type LocalIdentity } from "./handshake.js";
import { HANDSHAKE_FRAME_BYTES_MAX, type TransportTiming } from "./limits.js";
import type { TransportLog } from "./log.js";
import { corkForTick } from "./cork.js";

/** Receives the frames of an established channel. */
export interface ChannelHandler {
  onFrame(frame: Frame): void;
  /** The connection is gone (closed by either side or failed). */
  onClose(): void;
}

/** What an inbound connection needs from the transport that accepted it. */
export interface InboundHost extends LocalIdentity {
  readonly timing: TransportTiming;
  readonly log: TransportLog;
  /** After a valid HELLO: the handler for the requested channel, or a reason to refuse the connection. */
  openChannel(connection: InboundConnection, hello: Hello): ChannelHandler | string;
  onClosed(connection: InboundConnection): void;
}

/** An accepted socket, from handshake to close. */
export class InboundConnection {
  readonly remoteAddress: string;
  readonly #socket: net.Socket;
  readonly #host: InboundHost;
  readonly #decoder = new FrameDecoder({ expectMagic: true, maxPayloadBytes: HANDSHAKE_FRAME_BYTES_MAX });
  #hello: Hello | undefined;
  #handler: ChannelHandler | undefined;
  #refused = false;
  #closeReason: string | undefined;
  /** Closing because of a misbehaving peer is worth a warning; a peer hanging up or our own shutdown is not. */
  #closeLevel: "info" | "warn" = "info";
  #handshakeTimer: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket, host: InboundHost) {
    this.#socket = socket;
    this.#host = host;
    this.remoteAddress = formatHostPort(socket.remoteAddress ?? "unknown", socket.remotePort ?? 0);
    socket.setNoDelay(true);
    const timeoutMs = host.timing.handshakeTimeoutMs;
    this.#handshakeTimer = setTimeout(() => this.close(`no handshake within ${timeoutMs} ms`, "warn"), timeoutMs);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => {
      this.#closeReason ??= `connection error: ${error.message}`;
    });
    socket.on("close", () => this.#onSocketClosed());
    socket.on("timeout", () => {
      // A paused socket is silent because we stopped reading, not because the peer died.
      if (!socket.isPaused()) this.close(`nothing received for ${socket.timeout ?? 0} ms`, "warn");
    });
  }

  /** The peer's node id, once the handshake succeeded. */
  get peerId(): number | undefined {
    return this.#hello?.from;
  }

  /** Whether reading is paused for backpressure. */
  get paused(): boolean {
    return this.#socket.isPaused();
  }

  /** Stops reading from the socket (TCP flow control then slows the sender down). */
  pause(): void {
    this.#socket.pause();
  }

  /** Resumes reading. */
  resume(): void {
    if (!this.#socket.destroyed) this.#socket.resume();
  }

  /** Writes to the peer; returns false when the socket's buffer is above its high-water mark. */
  write(data: Uint8Array): boolean {
    if (this.#socket.destroyed) return false;
    corkForTick(this.#socket);
    return this.#socket.write(data);
  }

  /** Sends `data` (if any) and half-closes, letting the peer read everything before it closes its side. */
  end(data?: Uint8Array): void {
    if (this.#socket.destroyed) return;
    if (data === undefined) this.#socket.end();
    else this.#socket.end(data);
  }

  /** Closes after this much silence (the peer's keepalive keeps a healthy connection busy). */
  setIdleTimeout(timeoutMs: number): void {
    this.#socket.setTimeout(timeoutMs);
  }

  /** Raises the frame size limit once the peer is known. */
  setMaxPayloadBytes(bytes: number): void {
    this.#decoder.maxPayloadBytes = bytes;
  }

  /** Closes at once; `reason` appears in the log line, at `level`. */
  close(reason: string, level: "info" | "warn"): void {
    if (this.#closeReason === undefined) {
      this.#closeReason = reason;
      this.#closeLevel = level;
    }
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#refused || this.#socket.destroyed) return;
    this.#decoder.push(chunk);
    try {
      for (let frame = this.#decoder.next(); frame !== undefined; frame = this.#decoder.next()) {
        if (this.#handler !== undefined) this.#handler.onFrame(frame);
        else this.#onHandshakeFrame(frame);
        if (this.#refused || this.#socket.destroyed) return;
      }
    } catch (error) {
      if (error instanceof TransportError) {
        this.close(`protocol error: ${error.message}`, "warn");
      } else {
        this.#host.log.error("Bug while handling a peer connection", { remote: this.remoteAddress, peer: this.peerId, error });
        this.close(`internal error: ${String(error)}`, "warn");
      }
    }
  }

  #onHandshakeFrame(frame: Frame): void {
    if (frame.kind !== FrameKind.HELLO) throw new TransportProtocolError(`Expected a handshake, got frame kind ${frame.kind}`);
    const verdict = checkHello(frame.payload, this.#host);
    if (!verdict.ok) return this.#refuse(verdict.reason);
    this.#hello = verdict.hello;
    const handler = this.#host.openChannel(this, verdict.hello);
    if (typeof handler === "string") return this.#refuse(handler);
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#handler = handler;
    this.#socket.write(Buffer.concat([MAGIC, encodeFrame(FrameKind.ACCEPT, encodeAccept(this.#host.nodeId))]));
  }

  /** Tells the dialer why and half-closes; the handshake timer destroys the socket if the dialer lingers. */
  #refuse(reason: string): void {
    this.#refused = true;
    this.#closeReason = `handshake refused: ${reason}`;
    this.#host.log.warn("Refused a peer connection", { remote: this.remoteAddress, reason });
    this.#socket.end(Buffer.concat([MAGIC, encodeFrame(FrameKind.REJECT, encodeReason(reason))]));
  }

  #onSocketClosed(): void {
    clearTimeout(this.#handshakeTimer);
    const reason = this.#closeReason ?? "closed by the peer";
    if (this.#handler !== undefined) {
      const fields = { remote: this.remoteAddress, peer: this.peerId, channel: this.#hello?.channel, reason };
      this.#host.log[this.#closeLevel]("Peer connection closed", fields);
      this.#handler.onClose();
    } else if (!this.#refused) {
      // Not a peer (or a peer that died mid-handshake): worth a warning, it may be a misconfigured client.
      this.#host.log.warn("Dropped a connection that never completed the handshake", { remote: this.remoteAddress, reason });
    }
    this.#host.onClosed(this);
  }
}
