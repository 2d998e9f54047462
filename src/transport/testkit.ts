/**
 * Helpers for the transport's tests: short timings, a capturing log, clusters of transports on loopback with
 * port 0, message builders, and a raw socket client that speaks (or deliberately breaks) the wire protocol.
 */
import net from "node:net";
import type { Message } from "../raft/index.js";
import { FrameDecoder, FrameKind, MAGIC, encodeFrame, type Frame, type FrameKindValue } from "./frame.js";
import { PROTOCOL_VERSION, encodeAccept, encodeHello, type Hello } from "./handshake.js";
import { FRAME_PAYLOAD_BYTES_MAX, type TransportTiming } from "./limits.js";
import type { LogFields, TransportLog } from "./log.js";
import { decodeGroupMessages, type GroupMessage } from "./message-codec.js";
import { PeerTransport, type PeerTransportOptions } from "./peer-transport.js";

/** Timings that keep the suite fast: reconnects within 20–200 ms, dead peers noticed within a second. */
export const FAST_TIMING: Partial<TransportTiming> = {
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  handshakeTimeoutMs: 1_000,
  keepaliveIntervalMs: 100,
  peerSilenceTimeoutMs: 1_000,
  snapshotIdleTimeoutMs: 5_000,
  logRepeatIntervalMs: 0,
};

/** One captured log line. */
export interface LogLine {
  readonly level: "info" | "warn" | "error";
  readonly message: string;
  readonly fields: LogFields | undefined;
}

/** A TransportLog that remembers every line (set TRANSPORT_TEST_LOG=1 to also print them). */
export class CapturingLog implements TransportLog {
  readonly lines: LogLine[] = [];
  readonly #name: string;

  constructor(name = "") {
    this.#name = name;
  }

  info(message: string, fields?: LogFields): void {
    this.#add("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.#add("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.#add("error", message, fields);
  }

  /** Lines at `level` whose message or fields mention `text`. */
  matching(level: LogLine["level"], text: string): LogLine[] {
    return this.lines.filter((line) => line.level === level && `${line.message} ${JSON.stringify(line.fields ?? {})}`.includes(text));
  }

  #add(level: LogLine["level"], message: string, fields: LogFields | undefined): void {
    this.lines.push({ level, message, fields });
    if (process.env["TRANSPORT_TEST_LOG"] === "1") console.log(this.#name, level, message, fields ?? "");
  }
}

/** Polls `condition` every 5 ms until it holds or `timeoutMs` passes (then throws naming `what`). */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (for a node that must start later at a known address). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A transport under test with everything it received. */
export interface TestNode {
  readonly id: number;
  readonly transport: PeerTransport;
  readonly received: GroupMessage[];
  readonly log: CapturingLog;
  address: string;
}

/** Per-node option overrides for startCluster. */
export type NodeOverrides = Partial<Omit<PeerTransportOptions, "nodeId" | "peers" | "listenAddress">>;

/** An address nothing listens on: connections are refused until setPeerAddress gives the real one. */
const UNREACHABLE = "127.0.0.1:1";

/** Creates one node of a cluster whose members are `ids` (not started). */
export function createNode(id: number, ids: readonly number[], overrides: NodeOverrides = {}, listenAddress = "127.0.0.1:0"): TestNode {
  const received: GroupMessage[] = [];
  const log = new CapturingLog(`node${id}`);
  const transport = new PeerTransport({
    nodeId: id,
    clusterName: "test-cluster",
    listenAddress,
    peers: new Map(ids.map((peer) => [peer, UNREACHABLE])),
    maxSendQueueBytes: 0,
    maxRecvQueueBytes: 0,
    onMessages: (batch) => {
      received.push(...batch);
    },
    log,
    timing: FAST_TIMING,
    ...overrides,
  });
  return { id, transport, received, log, address: "" };
}

/** Starts nodes with ids 1..count on loopback port 0 and tells each the others' addresses. */
export async function startCluster(count: number, overrides: (id: number) => NodeOverrides = () => ({})): Promise<TestNode[]> {
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const nodes = ids.map((id) => createNode(id, ids, overrides(id)));
  for (const node of nodes) node.address = await node.transport.start();
  for (const node of nodes) {
    for (const peer of nodes) if (peer !== node) node.transport.setPeerAddress(peer.id, peer.address);
  }
  await waitFor("all links connected", () => nodes.every((node) => [...node.transport.peerStatus().values()].every((s) => s.connected)));
  return nodes;
}

/** Closes every node. */
export async function closeAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.close()));
}

/** A small append message carrying one entry per item of `payloads`. */
export function appendMessage(from: number, to: number, index: number, payloads: readonly Uint8Array[] = []): Message {
  return {
    type: "append",
    from,
    to,
    term: 1,
    index,
    logTerm: 1,
    commit: index,
    entries: payloads.map((data, i) => ({ term: 1, index: index + 1 + i, type: "normal" as const, data })),
  };
}

/** A raw TCP client speaking the framing by hand, for feeding a transport what real peers never send. */
export class RawClient {
  readonly socket: net.Socket;
  readonly #decoder = new FrameDecoder({ expectMagic: true, maxPayloadBytes: FRAME_PAYLOAD_BYTES_MAX });
  readonly #frames: Frame[] = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let frame = this.#decoder.next(); frame !== undefined; frame = this.#decoder.next()) this.#frames.push(frame);
    });
    socket.on("error", () => {});
    socket.on("close", () => (this.closed = true));
  }

  /** Connects to `address` (`host:port`). */
  static async connect(address: string): Promise<RawClient> {
    const colon = address.lastIndexOf(":");
    const socket = net.connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawClient(socket);
  }

  /** Sends MAGIC and a HELLO with these fields (defaults: a valid Raft handshake from node `from`). */
  hello(fields: Partial<Hello> & { from: number; to: number }): void {
    const hello: Hello = { protocolVersion: PROTOCOL_VERSION, channel: "raft", clusterName: "test-cluster", ...fields };
    this.socket.write(Buffer.concat([MAGIC, encodeFrame(FrameKind.HELLO, encodeHello(hello))]));
  }

  /** Sends one frame. */
  frame(kind: FrameKindValue, payload: Uint8Array): void {
    this.socket.write(encodeFrame(kind, payload));
  }

  /** Waits for the next frame from the transport. */
  async nextFrame(timeoutMs = 2_000): Promise<Frame> {
    await waitFor("a frame from the transport", () => this.#frames.length > 0 || this.closed, timeoutMs);
    const frame = this.#frames.shift();
    if (frame === undefined) throw new Error("Connection closed before a frame arrived");
    return frame;
  }

  /** Waits until the transport closed the connection. */
  async waitClosed(timeoutMs = 2_000): Promise<void> {
    await waitFor("the transport to close the connection", () => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A hand-written accepting side: completes the handshake as node `nodeId`, then records every RAFT_BATCH frame.
 * With `read: false` it stops reading after the handshake, like a peer whose process is stuck.
 */
export class FakeAcceptor {
  readonly frames: GroupMessage[][] = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  address = "";

  constructor(nodeId: number, options: { read: boolean } = { read: true }) {
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      socket.on("error", () => {});
      const decoder = new FrameDecoder({ expectMagic: true, maxPayloadBytes: FRAME_PAYLOAD_BYTES_MAX });
      socket.on("data", (chunk: Buffer) => {
        decoder.push(chunk);
        for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
          if (frame.kind === FrameKind.HELLO) {
            socket.write(Buffer.concat([MAGIC, encodeFrame(FrameKind.ACCEPT, encodeAccept(nodeId))]));
            if (!options.read) socket.pause();
          } else if (frame.kind === FrameKind.RAFT_BATCH) {
            this.frames.push(decodeGroupMessages(frame.payload));
          }
        }
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.address = `127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
    return this.address;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
