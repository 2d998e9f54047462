/**
 * One `armada leader` process of a fault cluster. Unlike the test-support LeaderProcess, its output goes straight
 * to a log file (a long run produces a lot of it, and it is only read after a violation), it gets one HOME for
 * all of its incarnations (removed with the cluster), and it only ever stops by SIGKILL to its own PID.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { freePort, spawnArmada } from "../test-support/process.js";

export interface NodeLaunch {
  readonly dataDir: string;
  readonly homeDir: string;
  readonly apiPort: number;
  readonly raftPort: number;
  /** Appended to; "" discards the output. */
  readonly logFile: string;
  readonly args: readonly string[];
}

/** How much of the most recent output is kept in memory to recognise the startup line. */
const TAIL_CHARS = 64 * 1024;

export class NodeProcess {
  private tail = "";
  private readonly exited: Promise<void>;
  private readonly log: WriteStream | null;

  private constructor(readonly child: ChildProcess, logFile: string, header: string) {
    this.log = logFile ? createWriteStream(logFile, { flags: "a" }) : null;
    this.log?.write(header);
    const onData = (chunk: Buffer) => {
      this.log?.write(chunk);
      this.tail = (this.tail + chunk.toString()).slice(-TAIL_CHARS);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The last lines the process wrote (for reports when it died by itself). */
  recentOutput(lines: number): string {
    return this.tail.trimEnd().split("\n").slice(-lines).join("\n");
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the node; `ready()` waits for its API. */
  static async launch(launch: NodeLaunch): Promise<NodeProcess> {
    const apiAddress = `http://127.0.0.1:${launch.apiPort}`;
    const args = [
      "leader",
      `--raft.address=127.0.0.1:${launch.raftPort}`,
      `--raft.node-host-dir=${join(launch.dataDir, "raft")}`,
      `--raft.state-machine-dir=${join(launch.dataDir, "state-machine")}`,
      `--api.address=${apiAddress}`,
      `--api.advertise-address=${apiAddress}`,
      `--replication.address=http://127.0.0.1:${await freePort()}`,
      `--maintenance.address=http://127.0.0.1:${await freePort()}`,
      `--rest.address=http://127.0.0.1:${await freePort()}`,
      ...launch.args,
    ];
    const child = spawnArmada(args, nodeEnv(launch.homeDir));
    return new NodeProcess(child, launch.logFile, `--- pid ${child.pid}: ${args.join(" ")}\n`);
  }

  /**
   * Resolves once the node logged that its REST listener listens (the last of its listeners to open);
   * rejects if it exits first or `timeoutMs` passes.
   */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (/REST listening/.test(this.tail)) finish(null);
      };
      const onExit = () => finish(new Error(`armada exited before its listeners opened:\n${this.tail.slice(-4000)}`));
      const timer = setTimeout(() => finish(new Error(`armada did not start within ${timeoutMs} ms:\n${this.tail.slice(-4000)}`)), timeoutMs);
      const finish = (error: Error | null) => {
        clearTimeout(timer);
        this.child.stdout?.off("data", check);
        this.child.stderr?.off("data", check);
        this.child.off("exit", onExit);
        if (error) reject(error);
        else resolve();
      };
      this.child.stdout?.on("data", check);
      this.child.stderr?.on("data", check);
      this.child.once("exit", onExit);
      if (!this.running) onExit();
      else check();
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, signal);
  }

  /** SIGKILL by PID, then waits for the exit and flushes the log. */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
  }
}

/** The harness's environment without the developer's ARMADA_ settings (which would override flags), with its own HOME. */
function nodeEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("ARMADA_") && !key.includes(".")) env[key] = value;
  return { ...env, HOME: home };
}
