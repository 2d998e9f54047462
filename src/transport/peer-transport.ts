/**
 * PeerTransport: carries the Raft messages of all groups between the nodes of one cluster, plus snapshot
 * transfers on separate short-lived connections.
 *
 * Connection topology: every node dials every peer for its outbound direction (PeerLink) and accepts the peers'
 * connections for the inbound one (InboundConnection + RaftChannel). So each pair of nodes uses two TCP
 * connections, each carrying one direction for every group; no tie-breaking is needed when two nodes start at
 * once, and a restarted node simply replaces its old inbound connection.
 */
import net from "node:net";
import { formatHostPort, parseHostPort } from "./address.js";
import { TransportArgumentError, TransportClosedError, TransportProtocolError } from "./errors.js";
import type { Hello } from "./handshake.js";
import { InboundConnection, type ChannelHandler, type InboundHost } from "./inbound-connection.js";
import {
  CLUSTER_NAME_BYTES_MAX,
  FRAME_PAYLOAD_BYTES_MAX,
  INBOUND_CONNECTIONS_MAX,
  RECV_QUEUE_BYTES_UNLIMITED,
  SEND_QUEUE_BYTES_UNLIMITED,
  SNAPSHOT_CHUNK_FRAME_BYTES_MAX,
  SNAPSHOT_HEADER_BYTES_MAX,
  SNAPSHOT_RECEIVES_MAX,
  TIMING_DEFAULTS,
  type TransportTiming,
} from "./limits.js";
import { RepeatFilter, SILENT_LOG, type TransportLog } from "./log.js";
import type { GroupMessage } from "./message-codec.js";
import { PeerLink } from "./peer-link.js";
import { RaftChannel, type RequestHandler } from "./raft-channel.js";
import { ReceiveDispatcher, type MessageHandler } from "./receive-dispatcher.js";
import { SnapshotChannel, type SnapshotHandler } from "./snapshot-receiver.js";
import { SnapshotSendSession } from "./snapshot-sender.js";

/** Options of a PeerTransport. */
export interface PeerTransportOptions {
  /** This node's id (>= 1). */
  readonly nodeId: number;
  /** Peers with a different cluster name are refused at the handshake. */
  readonly clusterName: string;
  /** `host:port` to bind; port 0 picks a free port, `0.0.0.0` binds every interface. */
  readonly listenAddress: string;
  /** Every member's raft address by node id; this node's own entry, if present, is ignored. */
  readonly peers: ReadonlyMap<number, string>;
  /** Per-peer bound on bytes waiting to be sent (`--raft.max-send-queue-size`); 0 = unlimited. */
  readonly maxSendQueueBytes: number;
  /** Per-peer bound on received bytes waiting for onMessages (`--raft.max-recv-queue-size`); 0 = unlimited. */
  readonly maxRecvQueueBytes: number;
  /** Receives every message addressed to this node, in arrival order per peer. */
  readonly onMessages: MessageHandler;
  /** Installs streamed snapshots; without it incoming snapshot transfers are refused. */
  readonly onSnapshot?: SnapshotHandler;
  /** Answers peers' requests (see request()); without it every request is answered with an error. */
  readonly onRequest?: RequestHandler;
  readonly log?: TransportLog;
  /** Overrides of the default timings (tests use short ones). */
  readonly timing?: Partial<TransportTiming>;
}

/** What the transport knows about one peer. */
export interface PeerStatus {
  /** Our outbound connection to the peer completed its handshake and is alive. */
  readonly connected: boolean;
  /** Wall-clock milliseconds of the last frame received from the peer on either connection. */
  readonly lastSeenMs?: number;
  /** The peer's inbound connection to us is established. */
  readonly inboundConnected: boolean;
  /** Bytes queued for the peer (including the socket's buffer). */
  readonly queuedBytes: number;
  /** Messages dropped because the send queue was full (or the transport closed). */
  readonly droppedMessages: number;
  /** Messages handed to the socket. */
  readonly sentMessages: number;
}

type TransportState = "new" | "starting" | "started" | "closed";

/** The peer transport of one node. */
export class PeerTransport {
  readonly #nodeId: number;
  readonly #clusterName: string;
  readonly #listenAddress: string;
  readonly #recvQueueBytesMax: number;
  readonly #onSnapshot: SnapshotHandler | undefined;
  readonly #onRequest: RequestHandler | undefined;
  readonly #log: TransportLog;
  readonly #timing: TransportTiming;
  readonly #links = new Map<number, PeerLink>();
  readonly #dispatcher: ReceiveDispatcher;
  readonly #inbound = new Set<InboundConnection>();
  /** The current inbound Raft connection of each peer. */
  readonly #raftInbound = new Map<number, InboundConnection>();
  readonly #lastInboundSeenMs = new Map<number, number>();
  readonly #snapshotSends = new Set<SnapshotSendSession>();
  readonly #misaddressedLog: RepeatFilter;
  /** The view of this transport that inbound connections get. */
  readonly #inboundHost: InboundHost;
  #snapshotReceives = 0;
  #server: net.Server | undefined;
  #state: TransportState = "new";

  constructor(options: PeerTransportOptions) {
    validateOptions(options);
    this.#nodeId = options.nodeId;
    this.#clusterName = options.clusterName;
    this.#listenAddress = options.listenAddress;
    this.#recvQueueBytesMax = options.maxRecvQueueBytes === 0 ? RECV_QUEUE_BYTES_UNLIMITED : options.maxRecvQueueBytes;
    this.#onSnapshot = options.onSnapshot;
    this.#onRequest = options.onRequest;
    this.#log = options.log ?? SILENT_LOG;
    this.#timing = { ...TIMING_DEFAULTS, ...options.timing };
    this.#misaddressedLog = new RepeatFilter(this.#timing.logRepeatIntervalMs);
    this.#dispatcher = new ReceiveDispatcher(options.onMessages, this.#log);
    this.#inboundHost = {
      nodeId: options.nodeId,
      clusterName: options.clusterName,
      timing: this.#timing,
      log: this.#log,
      isKnownPeer: (nodeId) => this.#links.has(nodeId),
      openChannel: (connection, hello) => this.#openChannel(connection, hello),
      onClosed: (connection) => this.#inbound.delete(connection),
    };
    const sendQueueBytesMax = options.maxSendQueueBytes === 0 ? SEND_QUEUE_BYTES_UNLIMITED : options.maxSendQueueBytes;
    for (const [peerId, address] of options.peers) {
      if (peerId === options.nodeId) continue;
      const link = new PeerLink({
        localNodeId: options.nodeId,
        clusterName: options.clusterName,
        peerId,
        address,
        sendQueueBytesMax,
        timing: this.#timing,
        log: this.#log,
      });
      this.#links.set(peerId, link);
    }
  }

  /**
   * Binds the listener and starts dialing every peer.
   * @returns the bound address as `host:port` (with the real port when 0 was asked for).
   * @throws the listen error (e.g. EADDRINUSE); TransportClosedError if already started or closed.
   */
  async start(): Promise<string> {
    if (this.#state !== "new") throw new TransportClosedError("start the transport twice");
    this.#state = "starting";
    const { host, port } = parseHostPort(this.#listenAddress, "listen address");
    const server = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
    server.maxConnections = INBOUND_CONNECTIONS_MAX;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => this.#log.error("Raft listener failed", { address: this.#listenAddress, error }));
    if (this.#state !== "starting") {
      // close() ran while we were binding, before the server was listening: it could not close it then.
      server.close();
      throw new TransportClosedError("start the transport");
    }
    this.#state = "started";
    for (const link of this.#links.values()) link.start();
    const bound = server.address() as net.AddressInfo;
    const address = formatHostPort(bound.address, bound.port);
    this.#log.info("Raft transport listening", { address, node: this.#nodeId, peers: [...this.#links.keys()] });
    return address;
  }

  /**
   * Queues messages for their peers (by `message.to`); they leave in one write per peer at the end of the current
   * event-loop turn. Never throws and never blocks: messages to an unknown peer, messages that cannot be encoded
   * (both caller bugs, logged as errors) and messages beyond a full send queue (logged, Raft retries) are dropped.
   */
  send(batch: readonly GroupMessage[]): void {
    for (const item of batch) {
      const link = this.#links.get(item.message.to);
      if (link === undefined) {
        this.#logMisaddressed(item, `node ${item.message.to} is not a peer of node ${this.#nodeId}`);
        continue;
      }
      try {
        link.enqueue(item);
      } catch (error) {
        if (!(error instanceof TransportProtocolError)) throw error;
        this.#logMisaddressed(item, error.message);
      }
    }
  }

  /**
   * Streams a snapshot to peer `to` over its own connection: `header` first, then `chunks` as fast as the peer
   * consumes them. Resolves when the peer's onSnapshot resolved; rejects with SnapshotTransferError when it
   * rejected, the connection failed or timed out, or `chunks` threw.
   */
  async sendSnapshot(to: number, groupId: number, header: Uint8Array, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    if (this.#state !== "started") throw new TransportClosedError(`send a snapshot to node ${to}`);
    const link = this.#links.get(to);
    if (link === undefined) throw new TransportArgumentError(`Cannot send a snapshot to node ${to}: it is not a peer of node ${this.#nodeId}`);
    if (header.length > SNAPSHOT_HEADER_BYTES_MAX) {
      throw new TransportArgumentError(`Cannot send a snapshot header of ${header.length} bytes: at most ${SNAPSHOT_HEADER_BYTES_MAX}`);
    }
    const session = new SnapshotSendSession({
      address: link.address,
      localNodeId: this.#nodeId,
      clusterName: this.#clusterName,
      peerId: to,
      groupId,
      header,
      chunks,
      timing: this.#timing,
    });
    this.#snapshotSends.add(session);
    try {
      await session.run();
    } finally {
      this.#snapshotSends.delete(session);
    }
  }

  /**
   * Sends `payload` to peer `to`'s onRequest on the Raft connection and resolves with its answer. Rejects with
   * RequestFailedError: at once when the peer is not connected (notConnected) or too many requests are pending,
   * later on timeout, loss of the connection, or the handler's own failure (remoteError).
   */
  async request(to: number, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.#state !== "started") throw new TransportClosedError(`send a request to node ${to}`);
    const link = this.#links.get(to);
    if (link === undefined) throw new TransportArgumentError(`Cannot send a request to node ${to}: it is not a peer of node ${this.#nodeId}`);
    if (!(timeoutMs > 0 && timeoutMs <= REQUEST_TIMEOUT_MS_MAX)) {
      throw new TransportArgumentError(`Invalid request timeout ${timeoutMs} ms: expected 0 < timeout <= ${REQUEST_TIMEOUT_MS_MAX}`);
    }
    return link.request(payload, timeoutMs);
  }

  /** Changes a peer's address (the membership is static, but a peer may move, and tests bind port 0). */
  setPeerAddress(peerId: number, address: string): void {
    const link = this.#links.get(peerId);
    if (link === undefined) throw new TransportArgumentError(`Cannot set the address of node ${peerId}: it is not a peer of node ${this.#nodeId}`);
    link.setAddress(address);
  }

  /** Liveness and queue state of every peer (used by Cluster/MemberList). */
  peerStatus(): Map<number, PeerStatus> {
    const result = new Map<number, PeerStatus>();
    for (const [peerId, link] of this.#links) {
      const status = link.status();
      const inboundSeen = this.#lastInboundSeenMs.get(peerId);
      const seen = [status.lastSeenMs, inboundSeen].filter((ms): ms is number => ms !== undefined);
      result.set(peerId, {
        connected: status.connected,
        ...(seen.length > 0 ? { lastSeenMs: Math.max(...seen) } : {}),
        inboundConnected: this.#raftInbound.has(peerId),
        queuedBytes: status.queuedBytes,
        droppedMessages: status.droppedMessages,
        sentMessages: status.sentMessages,
      });
    }
    return result;
  }

  /** Closes every connection and the listener; pending snapshot transfers fail with TransportClosedError. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#dispatcher.close();
    const closing = [...this.#links.values()].map((link) => link.close());
    for (const session of this.#snapshotSends) session.abort(new TransportClosedError("finish the snapshot transfer"));
    for (const connection of this.#inbound) connection.close("transport closing", "info");
    const server = this.#server;
    // server.close() calls back once every accepted connection has closed as well.
    if (server !== undefined && server.listening) closing.push(new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.all(closing);
    this.#log.info("Raft transport closed", { node: this.#nodeId });
  }

  #accept(socket: net.Socket): void {
    if (this.#state !== "started") {
      socket.destroy();
      return;
    }
    this.#inbound.add(new InboundConnection(socket, this.#inboundHost));
  }

  #openChannel(connection: InboundConnection, hello: Hello): ChannelHandler | string {
    return hello.channel === "raft" ? this.#openRaftChannel(connection, hello.from) : this.#openSnapshotChannel(connection, hello.from);
  }

  #openRaftChannel(connection: InboundConnection, peerId: number): ChannelHandler {
    const previous = this.#raftInbound.get(peerId);
    // The peer reconnected (it restarted, or its side saw the old connection die first): the new one wins.
    previous?.close("replaced by a newer connection from the same peer", "info");
    this.#raftInbound.set(peerId, connection);
    connection.setMaxPayloadBytes(FRAME_PAYLOAD_BYTES_MAX);
    connection.setIdleTimeout(this.#timing.peerSilenceTimeoutMs);
    this.#lastInboundSeenMs.set(peerId, Date.now());
    this.#log.info("Accepted a Raft connection from peer", { peer: peerId, remote: connection.remoteAddress });
    return new RaftChannel({
      connection,
      peerId,
      localNodeId: this.#nodeId,
      dispatcher: this.#dispatcher,
      recvQueueBytesMax: this.#recvQueueBytesMax,
      onSeen: () => this.#lastInboundSeenMs.set(peerId, Date.now()),
      onClose: () => {
        if (this.#raftInbound.get(peerId) === connection) this.#raftInbound.delete(peerId);
      },
      onRequest: this.#onRequest,
    });
  }

  #openSnapshotChannel(connection: InboundConnection, peerId: number): ChannelHandler | string {
    if (this.#onSnapshot === undefined) return "this node does not accept snapshot transfers";
    if (this.#snapshotReceives >= SNAPSHOT_RECEIVES_MAX) {
      return `already receiving ${SNAPSHOT_RECEIVES_MAX} snapshots, try again later`;
    }
    this.#snapshotReceives++;
    connection.setMaxPayloadBytes(Math.max(SNAPSHOT_HEADER_BYTES_MAX, SNAPSHOT_CHUNK_FRAME_BYTES_MAX) + SNAPSHOT_BEGIN_OVERHEAD_BYTES);
    connection.setIdleTimeout(this.#timing.snapshotIdleTimeoutMs);
    return new SnapshotChannel({
      connection,
      peerId,
      handler: this.#onSnapshot,
      timing: this.#timing,
      log: this.#log,
      onClose: () => this.#snapshotReceives--,
    });
  }

  #logMisaddressed(item: GroupMessage, reason: string): void {
    const suppressed = this.#misaddressedLog.admit(reason);
    if (suppressed === undefined) return;
    this.#log.error("Dropped a message that cannot be sent (a bug in the caller)", {
      group: item.groupId,
      type: item.message.type,
      to: item.message.to,
      reason,
      suppressed,
    });
  }
}

/** setTimeout's limit (about 24.8 days); a longer timeout would fire at once. */
const REQUEST_TIMEOUT_MS_MAX = 2 ** 31 - 1;

/** Room for the group id and header length around the largest header in a SNAPSHOT_BEGIN frame. */
const SNAPSHOT_BEGIN_OVERHEAD_BYTES = 32;

function validateOptions(options: PeerTransportOptions): void {
  const { nodeId, clusterName, peers, maxSendQueueBytes, maxRecvQueueBytes } = options;
  if (!Number.isSafeInteger(nodeId) || nodeId < 1) throw new TransportArgumentError(`Invalid node id ${nodeId}: expected an integer >= 1`);
  if (Buffer.byteLength(clusterName, "utf8") > CLUSTER_NAME_BYTES_MAX) {
    throw new TransportArgumentError(`Invalid cluster name: longer than ${CLUSTER_NAME_BYTES_MAX} bytes`);
  }
  for (const [bound, name] of [
    [maxSendQueueBytes, "maxSendQueueBytes"],
    [maxRecvQueueBytes, "maxRecvQueueBytes"],
  ] as const) {
    if (!Number.isSafeInteger(bound) || bound < 0) throw new TransportArgumentError(`Invalid ${name} ${bound}: expected an integer >= 0`);
  }
  for (const [peerId, address] of peers) {
    if (!Number.isSafeInteger(peerId) || peerId < 1) throw new TransportArgumentError(`Invalid peer id ${peerId}: expected an integer >= 1`);
    parseHostPort(address, `address of peer ${peerId}`);
  }
  parseHostPort(options.listenAddress, "listen address");
}
