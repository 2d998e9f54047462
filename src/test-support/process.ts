/**
 * Test support: start real `armada` processes on loopback with temporary directories and free ports,
 * and stop them by PID.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { SERVER_NODE_FLAGS } from "../server/gc-tuning.js";

/** The `armada` command of this checkout. */
export const ARMADA_BIN = fileURLToPath(new URL("../../bin/armada.js", import.meta.url));

/** Starts `armada <args>` as the project's launchers do (with the serving Node options), output piped. */
export function spawnArmada(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [...SERVER_NODE_FLAGS, ARMADA_BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
}

/** [lowest, highest) port freePort picks from: 10000 up to the start of the ephemeral range; null if there is no room. */
const PICKABLE_PORTS = ((): [number, number] | null => {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // Not Linux: 32768 is below the IANA ephemeral range (49152 up) that other systems use.
  }
  return ephemeralLow >= 12000 ? [10000, ephemeralLow] : null;
})();

/**
 * A free TCP port on loopback, never one this process handed out before: a node's ports are picked before
 * it binds them, and a killed node's ports are free until it restarts, so another node could otherwise
 * take the same port in the meantime.
 *
 * The port lies below the kernel's ephemeral range (ip_local_port_range). A port from that range is what
 * `connect()` hands out as the local end of outgoing connections: while a killed node is down, one of the
 * hundreds of connections a test makes can take the node's port, and the node's restart then fails with
 * EADDRINUSE (or, for a port bound after the API's, the node exits after it was reported started).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    // A random port, so that test processes running side by side rarely try the same one; the kernel
    // picks (from the ephemeral range) only when there is no room below it or that room seems full.
    const port = PICKABLE_PORTS && attempt < 1000 ? PICKABLE_PORTS[0] + Math.floor(Math.random() * (PICKABLE_PORTS[1] - PICKABLE_PORTS[0])) : await kernelFreePort();
    // A claim is refused for a port this process already handed out, too: never the same port twice.
    if (!claims.claim(port)) continue;
    if (!(await canBind(port))) {
      claims.release(port);
      continue;
    }
    return port;
  }
}

/**
 * Test files run in parallel processes (`--test-concurrency`), each picking ports. A port one of them
 * picked is free until its node binds it, and a killed node's ports are free until it restarts: another
 * process could take either meanwhile (a local run failed so, with EADDRINUSE). So every port handed out
 * is claimed by a file named after it in one directory shared by all test processes, created exclusively
 * and removed when the process exits. A claim whose process is gone (killed) is taken over.
 */
export class PortClaims {
  readonly #claimed = new Set<number>();
  #ready = false;

  constructor(readonly dir: string) {}

  /** Claims `port` for this process; false when a live process (this one included) holds it. */
  claim(port: number): boolean {
    if (this.#claimed.has(port)) return false;
    const file = join(this.dir, String(port));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (!this.#ready) {
          mkdirSync(this.dir, { recursive: true });
          process.once("exit", () => this.releaseAll());
          this.#ready = true;
        }
        writeFileSync(file, String(process.pid), { flag: "wx" });
        this.#claimed.add(port);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          // No shared directory: uniqueness within this process only.
          this.#claimed.add(port);
          return true;
        }
        const owner = claimOwner(file);
        // Unreadable (being written or removed right now): leave the port alone.
        if (owner === 0 || processAlive(owner)) return false;
        rmSync(file, { force: true });
      }
    }
    return false;
  }

  release(port: number): void {
    if (this.#claimed.delete(port)) rmSync(join(this.dir, String(port)), { force: true });
  }

  releaseAll(): void {
    for (const port of [...this.#claimed]) this.release(port);
  }
}

const claims = new PortClaims(join(tmpdir(), "armada-test-ports"));

/** The PID in a claim file; 0 when it cannot be read (just removed, or not yet written). */
function claimOwner(file: string): number {
  try {
    return Number(readFileSync(file, "utf8")) || 0;
  } catch {
    return 0;
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether a listener can bind `port` on loopback right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Asks the kernel for a free TCP port on loopback. */
function kernelFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh temporary directory, removed by `removeDir`. */
export function tempDir(prefix = "armada-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `armada <args>` to completion and returns its exit code and output. */
export function runArmada(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnArmada(args, options.env ?? isolatedEnv());
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`armada ${args.join(" ")} timed out\n${stderr}`)); }, options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** An empty HOME shared by the processes this test process starts (no $HOME/.armada config), removed at exit. */
let sharedHome: string | null = null;

function emptyHome(): string {
  if (sharedHome === null) {
    const home = tempDir("armada-home-");
    sharedHome = home;
    process.once("exit", () => removeDir(home));
  }
  return sharedHome;
}

/** The environment without any ARMADA_ variables of the developer's shell, with an empty HOME. */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("ARMADA_") && !key.includes(".")) env[key] = value;
  return { ...env, HOME: emptyHome(), ...extra };
}

/** A running `armada leader` process. */
export class LeaderProcess {
  private output = "";

  /** Where the Maintenance listener binds (plaintext). */
  maintenanceAddress = "";
  /** Where a leader's replication listener binds (plaintext); empty for a follower. */
  replicationAddress = "";

  private constructor(readonly child: ChildProcess, readonly apiAddress: string, readonly dataDir: string, readonly restAddress: string) {
    child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** Everything the process wrote so far. */
  get logs(): string {
    return this.output;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** How the process ended ("exit code 1", "signal SIGKILL"), or null while it runs. */
  get exitStatus(): string | null {
    if (this.child.exitCode !== null) return `exit code ${this.child.exitCode}`;
    if (this.child.signalCode !== null) return `signal ${this.child.signalCode}`;
    return null;
  }

  /**
   * Starts a single-node leader on free loopback ports with its data under `dataDir`, and waits until
   * its API answers connections. `restAddress` is where its REST listener (metrics, health) binds.
   */
  static async start(
    dataDir: string,
    extraArgs: string[] = [],
    options: { apiPort?: number; raftPort?: number; replicationPort?: number; waitForApi?: boolean; command?: "leader" | "follower"; startTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
  ): Promise<LeaderProcess> {
    const command = options.command ?? "leader";
    const replicationAddress = command === "leader" ? `http://127.0.0.1:${options.replicationPort ?? (await freePort())}` : "";
    const apiPort = options.apiPort ?? (await freePort());
    const apiAddress = `http://127.0.0.1:${apiPort}`;
    const restAddress = `http://127.0.0.1:${await freePort()}`;
    const maintenanceAddress = `http://127.0.0.1:${await freePort()}`;
    const args = [
      command,
      `--raft.address=127.0.0.1:${options.raftPort ?? (await freePort())}`,
      // Short Raft timing keeps elections quick in tests (tick 30 ms, elections after 300–600 ms).
      "--raft.rtt=30ms",
      "--raft.election-rtt=10",
      `--raft.node-host-dir=${join(dataDir, "raft")}`,
      `--raft.state-machine-dir=${join(dataDir, "state-machine")}`,
      `--api.address=${apiAddress}`,
      `--api.advertise-address=${apiAddress}`,
      // Followers have no replication listener (spec §14.6).
      ...(replicationAddress ? [`--replication.address=${replicationAddress}`] : []),
      `--maintenance.address=${maintenanceAddress}`,
      `--rest.address=${restAddress}`,
      ...extraArgs,
    ];
    const child = spawnArmada(args, isolatedEnv(options.env));
    const leader = new LeaderProcess(child, apiAddress, dataDir, restAddress);
    leader.maintenanceAddress = maintenanceAddress;
    leader.replicationAddress = replicationAddress;
    // The REST listener is the last one a node opens: a node that logged it has all its listeners.
    if (options.waitForApi !== false) await leader.waitForLog(/REST listening/, options.startTimeoutMs ?? 20_000);
    return leader;
  }

  /** Waits until the process logs a line matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pattern.test(this.output)) { cleanup(); resolve(); }
      };
      const onExit = (code: number | null) => { cleanup(); reject(new Error(`armada exited with ${code} before ${pattern}:\n${this.output}`)); };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${pattern}:\n${this.output}`)); }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.child.stderr?.off("data", check);
        this.child.stdout?.off("data", check);
        this.child.off("exit", onExit);
      };
      this.child.stderr?.on("data", check);
      this.child.stdout?.on("data", check);
      this.child.once("exit", onExit);
      check();
    });
  }

  /** Sends `signal` to the process (by PID) and waits for it to exit; returns the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once("exit", (code) => resolve(code)));
    process.kill(this.pid, signal);
    return exited;
  }
}

/** The ports of one node of a test cluster. */
export interface ClusterNodePorts {
  readonly nodeId: number;
  readonly apiPort: number;
  readonly raftPort: number;
  readonly replicationPort: number;
}

/** A leader cluster of real processes on loopback, each node with its own data directory. */
export class TestCluster {
  readonly nodes: (LeaderProcess | null)[];

  private constructor(
    readonly ports: ClusterNodePorts[],
    readonly dataDirs: string[],
    readonly extraArgs: string[],
    readonly command: "leader" | "follower",
    /** How long a node may take to open its API (a loaded machine replaying a large log needs more). */
    readonly startTimeoutMs = 20_000,
  ) {
    this.nodes = ports.map(() => null);
  }

  /**
   * Picks ports and directories for `size` nodes and starts them all: a leader cluster, or with
   * `command: "follower"` a follower cluster (give it `--replication.leader-address` in `extraArgs`).
   */
  static async start(size: number, extraArgs: string[] = [], options: { command?: "leader" | "follower"; startTimeoutMs?: number } = {}): Promise<TestCluster> {
    const ports: ClusterNodePorts[] = [];
    for (let nodeId = 1; nodeId <= size; nodeId++) ports.push({ nodeId, apiPort: await freePort(), raftPort: await freePort(), replicationPort: await freePort() });
    const cluster = new TestCluster(ports, ports.map(() => tempDir()), extraArgs, options.command ?? "leader", options.startTimeoutMs);
    await Promise.all(ports.map((_, i) => cluster.startNode(i)));
    return cluster;
  }

  get initialMembers(): string {
    return this.ports.map((p) => `${p.nodeId}=127.0.0.1:${p.raftPort}`).join(",");
  }

  apiAddress(index: number): string {
    return `http://127.0.0.1:${this.ports[index]!.apiPort}`;
  }

  /** The replication listener of leader node `index`. */
  replicationAddress(index: number): string {
    return `http://127.0.0.1:${this.ports[index]!.replicationPort}`;
  }

  /** (Re)starts node `index` on its ports and data directory. */
  async startNode(index: number): Promise<LeaderProcess> {
    const ports = this.ports[index]!;
    const node = await LeaderProcess.start(
      this.dataDirs[index]!,
      [`--raft.node-id=${ports.nodeId}`, `--raft.initial-members=${this.initialMembers}`, ...this.extraArgs],
      { apiPort: ports.apiPort, raftPort: ports.raftPort, replicationPort: ports.replicationPort, command: this.command, startTimeoutMs: this.startTimeoutMs },
    );
    this.nodes[index] = node;
    return node;
  }

  /** Stops node `index` with `signal` (SIGKILL by default), by PID. */
  async stopNode(index: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.nodes[index]?.stop(signal);
    this.nodes[index] = null;
  }

  /** Stops every node and removes the data directories. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.stopNode(i)));
    for (const dir of this.dataDirs) removeDir(dir);
  }
}
