/**
 * etcd 1-node and 3-node clusters on loopback for the benchmark: temporary data directories, free
 * ports, stopped by PID. Settings mirror Armada's durability (etcd fsyncs its WAL on every commit).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort, removeDir, tempDir } from "../test-support/process.js";
import { pollUntilServing } from "./grpc-raw.js";

/** Transactions the benchmark sends when loading data carry this many puts (etcd refuses more than --max-txn-ops). */
export const ETCD_MAX_TXN_OPS = 10_000;

interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  child: ChildProcess | null;
  output: string;
}

export class EtcdCluster {
  private constructor(private readonly binary: string, private readonly members: EtcdMember[]) {}

  /** Starts `size` members and waits until each answers KV calls. */
  static async start(binary: string, size: number): Promise<EtcdCluster> {
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ name: `etcd${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: tempDir("armada-bench-etcd-"), child: null, output: "" });
    }
    const cluster = new EtcdCluster(binary, members);
    for (const member of members) cluster.spawn(member);
    try {
      await Promise.all(members.map((member) => pollUntilServing(cluster.address(members.indexOf(member)), "/etcdserverpb.KV/Range", member.name, 30_000)));
    } catch (error) {
      await cluster.destroy();
      throw new Error(`${String(error)}\n${members.map((m) => m.output.slice(-2000)).join("\n")}`);
    }
    return cluster;
  }

  /** `http://127.0.0.1:port` of member `index`. */
  address(index: number): string {
    return `http://127.0.0.1:${this.members[index]!.clientPort}`;
  }

  get size(): number {
    return this.members.length;
  }

  pid(index: number): number | undefined {
    return this.members[index]?.child?.pid;
  }

  private spawn(member: EtcdMember): void {
    const initialCluster = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(",");
    const args = [
      `--name=${member.name}`,
      `--data-dir=${join(member.dataDir, "data")}`,
      `--listen-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-cluster=${initialCluster}`,
      "--initial-cluster-state=new",
      "--initial-cluster-token=armada-bench",
      `--max-txn-ops=${ETCD_MAX_TXN_OPS}`,
      "--max-request-bytes=10485760",
      "--quota-backend-bytes=8589934592",
      "--log-level=error",
      "--logger=zap",
    ];
    const child = spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => { member.output += chunk.toString(); });
    child.stderr?.on("data", (chunk: Buffer) => { member.output += chunk.toString(); });
    member.child = child;
  }

  /** Stops every member by PID and removes the data directories. */
  async destroy(): Promise<void> {
    await Promise.all(
      this.members.map(async (member) => {
        const child = member.child;
        if (child && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          process.kill(child.pid!, "SIGTERM");
          await exited;
        }
        member.child = null;
        removeDir(member.dataDir);
      }),
    );
  }
}
