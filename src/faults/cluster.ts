/**
 * A leader cluster of real `armada` processes on loopback whose peer links all run through fault-injecting
 * proxies: node A's `--raft.initial-members` names, for every peer B, the proxy of link A→B instead of B's real
 * Raft port (each node still binds its own `--raft.address`). Nodes can be killed with SIGKILL, paused with
 * SIGSTOP, resumed and restarted on the same data directory.
 *
 * Every process is stopped by PID, also when the harness itself dies (see `killOnExit`).
 *
 * A follower mode (a second cluster replicating from this one) would add another `FaultCluster`-like group of
 * nodes started with `armada follower`, with a proxy on the replication connection; the workload and the
 * checkers address nodes only through `NodeTarget`, so they would take such nodes as they are.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort, removeDir, tempDir } from "../test-support/process.js";
import { NodeProcess } from "./node-process.js";
import type { NodeCrash } from "./history.js";
import type { SeededRandom } from "../raft/prng.js";
import { LinkProxy } from "./proxy.js";

/** What clients need to know about a node. */
export interface NodeTarget {
  readonly id: number;
  readonly apiAddress: string;
  /** How many times the node was started; a restart is a new incarnation. */
  readonly incarnation: number;
}

interface NodeSlot {
  readonly id: number;
  readonly apiPort: number;
  readonly raftPort: number;
  /** Holds the node's data directory and HOME. */
  readonly dir: string;
  process: NodeProcess | null;
  incarnation: number;
  paused: boolean;
  /** The process exited by itself and was not restarted yet. */
  crashed: boolean;
}

export interface ClusterOptions {
  readonly size: number;
  readonly random: SeededRandom;
  /** Where node logs are appended (node-<id>.log); discarded when empty. */
  readonly logDir: string;
  /** Extra flags for every node, e.g. Raft timing. */
  readonly extraArgs?: readonly string[];
  /** The run's clock, for crash reports. */
  readonly now: () => number;
}

/**
 * PIDs this process started and has not seen exit, and data directories not yet removed: if the harness exits
 * first (an exception, Ctrl-C), the processes get SIGKILL and the directories are removed.
 */
const livePids = new Set<number>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function cleanUpOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) removeDir(dir);
  });
}

function killOnExit(pid: number): void {
  cleanUpOnExit();
  livePids.add(pid);
}

export class FaultCluster {
  private readonly slots: NodeSlot[];
  private readonly proxies = new Map<string, LinkProxy>();
  /** Nodes that exited without being killed. */
  readonly crashes: NodeCrash[] = [];

  private constructor(private readonly options: ClusterOptions, slots: NodeSlot[]) {
    this.slots = slots;
  }

  /** Picks ports and directories, opens a proxy on every directed link, and starts every node. */
  static async start(options: ClusterOptions): Promise<FaultCluster> {
    const slots: NodeSlot[] = [];
    for (let id = 1; id <= options.size; id++) {
      const dir = tempDir("armada-faults-");
      cleanUpOnExit();
      liveDirs.add(dir);
      mkdirSync(join(dir, "home"));
      slots.push({ id, apiPort: await freePort(), raftPort: await freePort(), dir, process: null, incarnation: 0, paused: false, crashed: false });
    }
    const cluster = new FaultCluster(options, slots);
    try {
      for (const from of slots) {
        for (const to of slots) {
          if (from === to) continue;
          const proxy = new LinkProxy(from.id, to.id, to.raftPort, options.random);
          await proxy.listen(await freePort());
          cluster.proxies.set(`${from.id}-${to.id}`, proxy);
        }
      }
      await Promise.all(slots.map((slot) => cluster.startNode(slot.id)));
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  get ids(): number[] {
    return this.slots.map((s) => s.id);
  }

  target(id: number): NodeTarget {
    const slot = this.slot(id);
    return { id, apiAddress: `http://127.0.0.1:${slot.apiPort}`, incarnation: slot.incarnation };
  }

  /** The proxy of link from→to. */
  link(from: number, to: number): LinkProxy {
    return this.proxies.get(`${from}-${to}`)!;
  }

  get links(): LinkProxy[] {
    return [...this.proxies.values()];
  }

  isRunning(id: number): boolean {
    return this.slot(id).process !== null;
  }

  isPaused(id: number): boolean {
    return this.slot(id).paused;
  }

  /** This node's view of the members: itself at its real address, every peer behind the link's proxy. */
  private initialMembers(id: number): string {
    return this.slots
      .map((peer) => `${peer.id}=127.0.0.1:${peer.id === id ? peer.raftPort : this.link(id, peer.id).port}`)
      .join(",");
  }

  /** Starts (or restarts) a node on its ports and data directory and waits until its API listens. */
  async startNode(id: number): Promise<void> {
    const slot = this.slot(id);
    if (slot.process) return;
    const started = await NodeProcess.launch({
      dataDir: join(slot.dir, "data"),
      homeDir: join(slot.dir, "home"),
      apiPort: slot.apiPort,
      raftPort: slot.raftPort,
      logFile: this.options.logDir ? join(this.options.logDir, `node-${id}.log`) : "",
      args: [`--raft.node-id=${id}`, `--raft.initial-members=${this.initialMembers(id)}`, ...(this.options.extraArgs ?? [])],
    });
    killOnExit(started.pid);
    slot.process = started;
    slot.paused = false;
    slot.crashed = false;
    slot.incarnation++;
    started.child.once("exit", (code, signal) => {
      livePids.delete(started.pid);
      if (slot.process !== started) return; // killed on purpose: kill() let go of it first
      slot.process = null;
      slot.paused = false;
      slot.crashed = true;
      this.crashes.push({ node: id, atMs: this.options.now(), exit: signal ?? `code ${code}`, output: started.recentOutput(6) });
    });
    try {
      await started.ready(30_000);
    } catch (error) {
      await this.kill(id);
      throw error;
    }
  }

  /** SIGKILL, by PID; waits for the exit. */
  async kill(id: number): Promise<void> {
    const slot = this.slot(id);
    const running = slot.process;
    if (!running) return;
    slot.process = null;
    slot.paused = false;
    await running.kill();
    livePids.delete(running.pid);
  }

  pause(id: number): void {
    const slot = this.slot(id);
    if (!slot.process || slot.paused) return;
    slot.process.signal("SIGSTOP");
    slot.paused = true;
  }

  resume(id: number): void {
    const slot = this.slot(id);
    if (!slot.process || !slot.paused) return;
    slot.process.signal("SIGCONT");
    slot.paused = false;
  }

  /** Heals every link. */
  healNetwork(): void {
    for (const proxy of this.proxies.values()) proxy.heal();
  }

  /** Restarts the nodes that exited by themselves (not those killed on purpose, which a fault restarts). */
  async restartCrashed(): Promise<void> {
    await Promise.all(this.slots.filter((s) => s.crashed).map((s) => this.startNode(s.id)));
  }

  /** Resumes paused nodes and restarts stopped ones. */
  async healNodes(): Promise<void> {
    for (const slot of this.slots) this.resume(slot.id);
    await Promise.all(this.slots.filter((s) => !s.process).map((s) => this.startNode(s.id)));
  }

  /** Stops every node (SIGKILL by PID), closes the proxies and removes the data directories. */
  async destroy(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.kill(slot.id)));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    for (const slot of this.slots) {
      removeDir(slot.dir);
      liveDirs.delete(slot.dir);
    }
  }

  private slot(id: number): NodeSlot {
    const slot = this.slots[id - 1];
    if (!slot) throw new Error(`no node ${id}`);
    return slot;
  }
}
