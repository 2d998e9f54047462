/**
 * A fault-injecting TCP proxy for one directed peer link (node A dials node B through it).
 *
 * Armada's transport uses one outbound connection per peer (A's Raft messages to B travel A→B, B's answers to
 * A's requests come back on it), so one proxy per ordered pair of nodes gives one-way control of the network.
 *
 * Faults, all switchable at run time:
 * - `cut("reset")`: existing connections are destroyed and new ones closed at once (a refused/reset link);
 * - `cut("blackhole")`: nothing is forwarded in either direction and readers are paused, so TCP pushes back on
 *   the sender as on a real partition; on heal the held bytes flow again (late delivery of stale messages);
 * - `setDelay(ms, jitter)`: every chunk is held back, order preserved per direction;
 * - `setLoss(p)`: each chunk is lost with probability p, which on a byte stream means the connection breaks
 *   (TCP itself never loses bytes in the middle of a stream), so in-flight messages are lost.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import type { SeededRandom } from "../raft/prng.js";

export type CutStyle = "reset" | "blackhole";

export interface LinkStats {
  connections: number;
  bytesForwarded: number;
  /** Connections broken by a fault (reset cut or loss). */
  resets: number;
}

/** Above this many queued chunks a direction stops reading its source until it drains. */
const QUEUE_HIGH_WATER = 256;

export class LinkProxy {
  private server: Server | null = null;
  private readonly pipes = new Set<Pipe>();
  private cutStyle: CutStyle | null = null;
  private delayMs = 0;
  private jitterMs = 0;
  private lossRate = 0;
  readonly stats: LinkStats = { connections: 0, bytesForwarded: 0, resets: 0 };
  /** The port the proxy listens on (after `listen`). */
  port = 0;

  /**
   * @param from the dialing node's id, @param to the dialed node's id (for logs and reports)
   * @param targetPort where node `to` really listens
   * @param random drives loss and jitter; seeded by the run so a schedule is reproducible as far as timing allows
   */
  constructor(readonly from: number, readonly to: number, private readonly targetPort: number, private readonly random: SeededRandom) {}

  /** Listens on 127.0.0.1:`port`. */
  listen(port: number): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        this.port = port;
        resolve();
      });
    });
  }

  get label(): string {
    return `${this.from}→${this.to}`;
  }

  get isCut(): boolean {
    return this.cutStyle !== null;
  }

  cut(style: CutStyle): void {
    this.cutStyle = style;
    if (style === "reset") for (const pipe of [...this.pipes]) pipe.destroy(true);
  }

  setDelay(ms: number, jitterMs = 0): void {
    this.delayMs = ms;
    this.jitterMs = jitterMs;
  }

  setLoss(rate: number): void {
    this.lossRate = rate;
  }

  /** Removes every fault; blackholed connections resume. */
  heal(): void {
    this.cutStyle = null;
    this.delayMs = 0;
    this.jitterMs = 0;
    this.lossRate = 0;
    for (const pipe of this.pipes) pipe.kick();
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const pipe of [...this.pipes]) pipe.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // --- used by Pipe ---

  /** Whether forwarding is suspended (blackhole). */
  get holding(): boolean {
    return this.cutStyle === "blackhole";
  }

  /** When a chunk arriving now may be delivered. */
  dueTime(now: number): number {
    if (this.delayMs === 0 && this.jitterMs === 0) return now;
    return now + this.delayMs + (this.jitterMs > 0 ? this.random.nextFloat() * this.jitterMs : 0);
  }

  /** Whether the chunk arriving now is lost. */
  loses(): boolean {
    return this.lossRate > 0 && this.random.chance(this.lossRate);
  }

  forgotten(pipe: Pipe): void {
    this.pipes.delete(pipe);
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    if (this.cutStyle === "reset") {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, "127.0.0.1");
    this.pipes.add(new Pipe(this, client, upstream));
  }
}

/** One proxied connection: two directions that share the link's faults and die together. */
class Pipe {
  private readonly directions: Direction[];
  private dead = false;

  constructor(readonly link: LinkProxy, client: Socket, upstream: Socket) {
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.directions = [new Direction(this, client, upstream), new Direction(this, upstream, client)];
    for (const socket of [client, upstream]) {
      socket.on("error", () => this.destroy());
      socket.on("close", () => this.destroy());
    }
  }

  /** Re-evaluates both directions after the link's faults changed. */
  kick(): void {
    for (const d of this.directions) d.pump();
  }

  /** Closes both sockets; `byFault` counts it as a connection the fault broke. */
  destroy(byFault = false): void {
    if (this.dead) return;
    this.dead = true;
    if (byFault) this.link.stats.resets++;
    for (const d of this.directions) d.destroy();
    this.link.forgotten(this);
  }
}

class Direction {
  private readonly queue: { chunk: Buffer; due: number }[] = [];
  private lastDue = 0;
  private timer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(private readonly pipe: Pipe, private readonly source: Socket, private readonly sink: Socket) {
    source.on("data", (chunk: Buffer) => this.onData(chunk));
    source.on("end", () => {
      this.ended = true;
      this.pump();
    });
  }

  private onData(chunk: Buffer): void {
    const link = this.pipe.link;
    if (link.loses()) {
      this.pipe.destroy(true);
      return;
    }
    // Never earlier than the chunk before it: a stream delivers in order even when delays vary.
    const due = Math.max(link.dueTime(performance.now()), this.lastDue);
    this.lastDue = due;
    this.queue.push({ chunk, due });
    if (this.queue.length > QUEUE_HIGH_WATER) this.source.pause();
    this.pump();
  }

  /** Delivers every chunk that is due, unless the link holds traffic; schedules itself for the next one. */
  pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const link = this.pipe.link;
    if (link.holding) {
      this.source.pause();
      return;
    }
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const { chunk } = this.queue.shift()!;
      link.stats.bytesForwarded += chunk.length;
      this.sink.write(chunk);
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => this.pump(), Math.max(1, this.queue[0]!.due - now));
      return;
    }
    if (this.ended) this.sink.end();
    else if (this.source.isPaused()) this.source.resume();
  }

  destroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.source.destroy();
  }
}
