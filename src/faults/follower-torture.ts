/**
 * The follower mode of the fault suite: a 3-node leader cluster and a 3-node follower cluster of real
 * processes; the follower cluster reaches the leader's replication listener through a fault-injecting proxy.
 * While clients write on the leader and through the followers, a seeded nemesis cuts the replication link
 * (reset or blackhole), kills follower and leader nodes with SIGKILL and restarts them, and pauses follower
 * nodes with SIGSTOP. Checked:
 * - read-your-writes: a write acknowledged by a follower node is visible in that node's next serializable read;
 * - monotonic reads: serializable reads of a counter on each follower node never go back;
 * - no lost write: every acknowledged write (on the leader or through a follower) is in the final data;
 * - convergence: after healing, every follower node holds exactly the leader's data.
 * Follower reads are not checked for linearizability: a follower is asynchronous by design (spec §10.4).
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ArmadaClient } from "../client/index.js";
import { SeededRandom } from "../raft/prng.js";
import { freePort, TestCluster } from "../test-support/process.js";
import { LinkProxy } from "./proxy.js";
import { retry } from "../test-support/retry.js";

export const FOLLOWER_FAULT_KINDS = ["replication-reset", "replication-blackhole", "kill-follower", "pause-follower", "kill-leader-node"] as const;
export type FollowerFaultKind = (typeof FOLLOWER_FAULT_KINDS)[number];

export interface FollowerTortureOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** Where the verdict goes (violations.txt, stats.json); nothing is written when empty. */
  readonly outDir?: string;
  readonly log?: (line: string) => void;
}

export interface FollowerTortureResult {
  readonly passed: boolean;
  readonly violations: string[];
  readonly faults: Record<string, number>;
  readonly operations: Record<string, { ok: number; failed: number }>;
}

const TABLE = "edge";
/** Fast follower timing: poll 100 ms, reconcile 500 ms, lease 4 × 300 ms. */
const FOLLOWER_FLAGS = ["--replication.poll-interval=100ms", "--replication.reconcile-interval=500ms", "--replication.lease-interval=300ms", "--replication.log-rpc-timeout=5s"];
/** Frequent snapshots on the leader, so that a follower cut off long enough recovers by snapshot. */
const LEADER_FLAGS = ["--raft.snapshot-entries=300", "--raft.compaction-overhead=50"];
const CONVERGENCE_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 3000;
/** A restarted node on a loaded machine may take a while to replay its log and open its API. */
const NODE_START_TIMEOUT_MS = 90_000;

export async function runFollowerTorture(options: FollowerTortureOptions): Promise<FollowerTortureResult> {
  const log = options.log ?? (() => undefined);
  const random = new SeededRandom(options.seed);
  const violations: string[] = [];
  const faults: Record<string, number> = {};
  const operations: Record<string, { ok: number; failed: number }> = {};
  const count = (kind: string, ok: boolean) => {
    const entry = (operations[kind] ??= { ok: 0, failed: 0 });
    if (ok) entry.ok++;
    else entry.failed++;
  };
  const leaders = await TestCluster.start(3, LEADER_FLAGS, { startTimeoutMs: NODE_START_TIMEOUT_MS });
  /** What each node printed, kept across restarts, written to the output directory at the end. */
  const nodeLogs = new Map<string, string[]>();
  const keepLogs = (name: "leader" | "follower", cluster: TestCluster | null, node: number) => {
    const output = cluster?.nodes[node]?.logs;
    if (output === undefined) return;
    const key = `${name}-node-${node}`;
    nodeLogs.set(key, [...(nodeLogs.get(key) ?? []), output]);
  };
  const proxy = new LinkProxy(100, 1, leaders.ports[0]!.replicationPort, random);
  const clients: ArmadaClient[] = [];
  let followers: TestCluster | null = null;
  try {
    await proxy.listen(await freePort());
    followers = await TestCluster.start(3, [`--replication.leader-address=http://127.0.0.1:${proxy.port}`, ...FOLLOWER_FLAGS], {
      command: "follower",
      startTimeoutMs: NODE_START_TIMEOUT_MS,
    });
    const fleet = followers;
    const client = (address: string) => {
      const created = new ArmadaClient(address, { timeoutMs: CALL_TIMEOUT_MS });
      clients.push(created);
      return created;
    };
    const leaderClients = [0, 1, 2].map((i) => client(leaders.apiAddress(i)));
    const followerClients = [0, 1, 2].map((i) => client(fleet.apiAddress(i)));
    await retry(() => leaderClients[0]!.createTable(TABLE), 30_000);
    await retry(async () => {
      for (const c of followerClients) if (!(await c.listTables()).some((t) => t.name === TABLE)) throw new Error("table not replicated yet");
    }, 30_000);
    log(`leader and follower clusters up (seed ${options.seed}); running ${Math.round(options.durationMs / 1000)} s of faults`);

    const deadline = Date.now() + options.durationMs;
    const running = () => Date.now() < deadline;
    const ackedItems = new Set<number>();
    const ackedFollowerWrites = new Map<number, number>();

    // The leader's writer: item<i> for every i, and the counter set to i after it.
    const leaderWriter = async () => {
      for (let i = 1; running(); i++) {
        const via = leaderClients[i % 3]!;
        const ok = await via.put(TABLE, `item${String(i).padStart(6, "0")}`, String(i)).then(() => true, () => false);
        count("leader-put", ok);
        if (!ok) {
          await sleep(50);
          continue;
        }
        ackedItems.add(i);
        count("leader-counter-put", await via.put(TABLE, "counter", String(i)).then(() => true, () => false));
      }
    };
    // One writer per follower node: its own key, increasing values, each followed by a read on the same node.
    const followerWriter = async (node: number) => {
      for (let j = 1; running(); j++) {
        if (!fleet.nodes[node]) {
          await sleep(100);
          continue;
        }
        const ok = await followerClients[node]!.put(TABLE, `fw${node}`, String(j)).then(() => true, () => false);
        count("follower-put", ok);
        if (!ok) {
          await sleep(50);
          continue;
        }
        ackedFollowerWrites.set(node, j);
        const read = await followerClients[node]!.range(TABLE, `fw${node}`).catch(() => null);
        count("follower-read-own-write", read !== null);
        const seen = read?.kvs[0] ? Number(Buffer.from(read.kvs[0].value ?? []).toString()) : 0;
        if (read && seen < j) violations.push(`read-your-writes: node ${node} acknowledged fw${node}=${j} and then read ${seen} (${new Date().toISOString()})`);
      }
    };
    // One reader per follower node: the counter must never go back on a node.
    const reader = async (node: number) => {
      let seen = 0;
      while (running()) {
        const read = fleet.nodes[node] ? await followerClients[node]!.range(TABLE, "counter").catch(() => null) : null;
        count("follower-serializable-read", read !== null);
        if (read?.kvs[0]) {
          const value = Number(Buffer.from(read.kvs[0].value ?? []).toString());
          if (value < seen) violations.push(`monotonic reads: node ${node} read counter ${seen} and then ${value} (${new Date().toISOString()})`);
          seen = Math.max(seen, value);
        }
        await sleep(20);
      }
    };
    // A node that ends without being killed is a finding: reported with the end of its output, then restarted
    // so that the run goes on (and convergence can still be checked).
    const reportExitedNodes = async () => {
      for (const [name, cluster] of [["leader", leaders], ["follower", fleet]] as const) {
        for (let node = 0; node < cluster.nodes.length; node++) {
          const exitStatus = cluster.nodes[node]?.exitStatus;
          if (!exitStatus) continue;
          const tail = cluster.nodes[node]!.logs.split("\n").slice(-15).join("\n");
          violations.push(`${name} node ${node} ended on its own (${exitStatus}) (${new Date().toISOString()}); its last output:\n${tail}`);
          keepLogs(name, cluster, node);
          await cluster.startNode(node);
        }
      }
    };
    const nemesis = async () => {
      while (running()) {
        try {
          await reportExitedNodes();
          await injectOne();
        } catch (error) {
          // A node that does not come back is a finding, not a reason to stop: record it and heal.
          violations.push(`harness: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
          proxy.heal();
          await Promise.all([restartMissing(fleet), restartMissing(leaders)]).catch(() => undefined);
        }
      }
    };
    const injectOne = async () => {
      await sleep(random.intBetween(500, 1500));
      if (!running()) return;
      const kind = FOLLOWER_FAULT_KINDS[random.nextInt(FOLLOWER_FAULT_KINDS.length)]!;
      const holdMs = random.intBetween(1000, 4000);
      faults[kind] = (faults[kind] ?? 0) + 1;
      log(`fault ${kind} for ${holdMs} ms`);
      switch (kind) {
        case "replication-reset":
        case "replication-blackhole":
          proxy.cut(kind === "replication-reset" ? "reset" : "blackhole");
          await sleep(holdMs);
          proxy.heal();
          break;
        case "kill-follower": {
          const node = random.nextInt(3);
          keepLogs("follower", fleet, node);
          await fleet.stopNode(node, "SIGKILL");
          await sleep(holdMs);
          await fleet.startNode(node);
          break;
        }
        case "pause-follower": {
          const node = random.nextInt(3);
          const pid = fleet.nodes[node]?.pid;
          if (pid === undefined) break;
          process.kill(pid, "SIGSTOP");
          await sleep(holdMs);
          process.kill(pid, "SIGCONT");
          break;
        }
        case "kill-leader-node": {
          const node = random.nextInt(3);
          keepLogs("leader", leaders, node);
          await leaders.stopNode(node, "SIGKILL");
          await sleep(holdMs);
          await leaders.startNode(node);
          break;
        }
      }
    };
    await Promise.all([leaderWriter(), ...[0, 1, 2].map(followerWriter), ...[0, 1, 2].map(reader), nemesis()]);
    proxy.heal();
    await reportExitedNodes();
    log("faults healed; waiting for every follower node to converge");

    /** A linearizable dump from the first leader node that answers. */
    const leaderData = async () => {
      const failures: string[] = [];
      for (const [node, leaderClient] of leaderClients.entries()) {
        try {
          return await dump(leaderClient, true);
        } catch (error) {
          failures.push(`node ${node}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      throw new Error(`no leader node answered: ${failures.join("; ")}`);
    };
    let converged = false;
    const convergeBy = Date.now() + CONVERGENCE_TIMEOUT_MS;
    let expected: Map<string, string> | null = null;
    let differences: string[] = [];
    while (!converged && Date.now() < convergeBy) {
      try {
        const leaderCopy = await leaderData();
        expected = leaderCopy;
        const copies = await Promise.all(followerClients.map((c) => dump(c, false).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))));
        differences = copies.map((copy, node) => (copy instanceof Error ? `follower node ${node}: ${copy.message}` : describeDifference(node, copy, leaderCopy))).filter((text) => text !== "");
        converged = differences.length === 0;
      } catch (error) {
        differences = [`leader cluster: ${error instanceof Error ? error.message : String(error)}`];
        converged = false;
      }
      if (!converged) await sleep(250);
    }
    if (!converged) violations.push(`the follower cluster did not converge to the leader's data within ${CONVERGENCE_TIMEOUT_MS / 1000} s: ${differences.join("; ")}`);
    // Without the leader's data there is nothing to check acknowledged writes against; that is reported above.
    if (expected !== null) violations.push(...lostWrites(expected, ackedItems, ackedFollowerWrites));
  } finally {
    for (const c of clients) c.close();
    for (const node of [0, 1, 2]) {
      keepLogs("leader", leaders, node);
      keepLogs("follower", followers, node);
    }
    await proxy.close();
    await Promise.all([followers?.destroy(), leaders.destroy()]);
  }
  const result = { passed: violations.length === 0, violations, faults, operations };
  if (options.outDir) {
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(join(options.outDir, "follower-stats.json"), JSON.stringify({ seed: options.seed, ...result }, null, 2));
    if (violations.length > 0) writeFileSync(join(options.outDir, "follower-violations.txt"), violations.join("\n") + "\n");
    for (const [name, outputs] of nodeLogs) writeFileSync(join(options.outDir, `${name}.log`), outputs.join("\n--- restarted ---\n"));
  }
  return result;
}

/** Starts every node of `cluster` that is not running. */
async function restartMissing(cluster: TestCluster): Promise<void> {
  for (let i = 0; i < cluster.nodes.length; i++) if (!cluster.nodes[i]) await cluster.startNode(i);
}

async function dump(client: ArmadaClient, linearizable: boolean): Promise<Map<string, string>> {
  const result = await client.range(TABLE, "\0", { rangeEnd: "\0", linearizable, timeoutMs: 10_000 });
  return new Map(result.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value ?? []).toString()]));
}

/** The acknowledged writes that the leader's final data does not hold. */
function lostWrites(final: Map<string, string>, ackedItems: Set<number>, ackedFollowerWrites: Map<number, number>): string[] {
  const lost: string[] = [];
  for (const i of ackedItems) if (!final.has(`item${String(i).padStart(6, "0")}`)) lost.push(`lost write: item${i} was acknowledged by the leader cluster but is missing`);
  for (const [node, j] of ackedFollowerWrites) {
    const held = Number(final.get(`fw${node}`) ?? 0);
    if (held < j) lost.push(`lost write: fw${node}=${j} was acknowledged through follower node ${node} but the leader holds ${held}`);
  }
  return lost;
}

/** "" when `copy` equals `expected`; otherwise what differs, with a few examples (for the violation report). */
function describeDifference(node: number, copy: Map<string, string>, expected: Map<string, string>): string {
  const missing = [...expected.keys()].filter((key) => !copy.has(key));
  const extra = [...copy.keys()].filter((key) => !expected.has(key));
  const changed = [...copy.keys()].filter((key) => expected.has(key) && expected.get(key) !== copy.get(key));
  if (missing.length + extra.length + changed.length === 0) return "";
  const sample = (keys: string[]) => keys.slice(0, 3).map((key) => `${key}=${copy.get(key) ?? "∅"}/${expected.get(key) ?? "∅"}`).join(",");
  return `follower node ${node} holds ${copy.size} keys, the leader ${expected.size}: ${missing.length} missing [${sample(missing)}], ` +
    `${extra.length} extra [${sample(extra)}], ${changed.length} different [${sample(changed)}] (follower/leader)`;
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
