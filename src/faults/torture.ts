/**
 * One torture run: a cluster of real processes behind fault-injecting proxies, concurrent clients, the nemesis,
 * then healing, a final audit, and the checkers. Everything is bounded in time, every process is stopped by PID,
 * and the data directories are removed; the history and the verdict are written to `outDir`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArmadaClient } from "../client/index.js";
import { SeededRandom } from "../raft/prng.js";
import { FaultCluster } from "./cluster.js";
import { HistoryRecorder, type FinalState, type History, type Operation, type OpKind, type Outcome } from "./history.js";
import { FAULT_KINDS, NETWORK_KINDS, Nemesis, type FaultKind } from "./nemesis.js";
import { APPEND_PREFIX, Workload, execute, registerKeys, sleep } from "./workload.js";
import { checkHistory, type CheckReport } from "./checker/index.js";
import { retry as retryEvery } from "../test-support/retry.js";

/** Retries every 200 ms (a harness step waiting for the cluster to settle). */
const retry = <T>(operation: () => Promise<T>, timeoutMs: number): Promise<T> => retryEvery(operation, timeoutMs, 200);

export interface TortureOptions {
  readonly seed: number;
  readonly nodes: number;
  /** How long faults are injected. */
  readonly durationMs: number;
  /** Where the history, the verdict and the node logs go. */
  readonly outDir: string;
  readonly kinds?: readonly FaultKind[];
  readonly clientsPerNode?: number;
  readonly registerKeyCount?: number;
  /** Per-call client deadline. */
  readonly timeoutMs?: number;
  readonly faultMs?: readonly [number, number];
  readonly quietMs?: readonly [number, number];
  /**
   * Two nemeses at once, one for network faults and one for process faults, so that e.g. a partitioned node is
   * also killed. Network heals touch only links and process heals only processes, so they do not interfere.
   */
  readonly overlap?: boolean;
  /** Run past `durationMs` until every fault kind was injected once. */
  readonly coverAllKinds?: boolean;
  /** Broken on purpose: linearizable reads sent as serializable (see WorkloadOptions). */
  readonly unsafeStaleReads?: boolean;
  /**
   * Extra flags for every node (Raft timing). By default the nodes snapshot and compact their logs every few
   * hundred entries, so nodes that were down or cut off catch up by snapshot transfer, through the proxies.
   */
  readonly raftArgs?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface TortureStats {
  readonly operations: Record<string, Record<Outcome, number>>;
  readonly faults: Record<string, number>;
  /** Register keys whose history went through the linearizability search. */
  readonly historiesChecked: number;
  readonly acknowledgedAppends: number;
  readonly serializableScans: number;
  readonly violations: number;
  readonly inconclusive: number;
}

export interface TortureResult {
  readonly passed: boolean;
  /** The harness itself failed (a node did not restart, the table could not be created): the run is void. */
  readonly error?: string;
  readonly history: History;
  readonly report: CheckReport;
  readonly stats: TortureStats;
  readonly outDir: string;
}

const TABLE = "torture";
/** How long the cluster gets to serve writes again once every fault is healed. */
const RECOVERY_TIMEOUT_MS = 60_000;
/** How long the clients keep running on the healed cluster before the final audit. */
const AFTER_HEAL_MS = 2_000;
const CONVERGENCE_TIMEOUT_MS = 30_000;
/** Short Raft timing (30 ms ticks, elections after 300–600 ms) and frequent snapshots; later flags override. */
const DEFAULT_NODE_ARGS = ["--raft.rtt=30ms", "--raft.election-rtt=10", "--raft.snapshot-entries=300", "--raft.compaction-overhead=50"];

export async function runTorture(options: TortureOptions): Promise<TortureResult> {
  const log = options.log ?? (() => undefined);
  const random = new SeededRandom(options.seed);
  mkdirSync(options.outDir, { recursive: true });
  const keys = registerKeys(options.registerKeyCount ?? 4);
  const recorder = new HistoryRecorder({ seed: options.seed, nodes: options.nodes, registerKeys: keys, appendPrefix: APPEND_PREFIX, startedAt: new Date().toISOString() });
  const extraViolations: string[] = [];

  let harnessError: string | undefined;

  log(`starting ${options.nodes} nodes (seed ${options.seed}, output ${options.outDir})`);
  const cluster = await FaultCluster.start({
    size: options.nodes,
    random,
    logDir: options.outDir,
    extraArgs: [...DEFAULT_NODE_ARGS, ...(options.raftArgs ?? [])],
    now: () => recorder.now(),
  });
  let workload: Workload | null = null;
  let nemeses: Nemesis[] = [];
  try {
    await createTable(cluster);
    const timeoutMs = options.timeoutMs ?? 2000;
    workload = new Workload({ table: TABLE, keys, timeoutMs, seed: options.seed, unsafeStaleReads: !!options.unsafeStaleReads }, recorder, (node) => cluster.target(node));
    const clientsPerNode = options.clientsPerNode ?? 2;
    workload.start(cluster.ids.flatMap((id) => Array.from({ length: clientsPerNode }, () => id)));

    const kinds = options.kinds ?? FAULT_KINDS;
    const lanes = options.overlap
      ? [kinds.filter((k) => NETWORK_KINDS.includes(k)), kinds.filter((k) => !NETWORK_KINDS.includes(k))].filter((l) => l.length > 0)
      : [kinds];
    nemeses = lanes.map(
      (laneKinds, i) =>
        new Nemesis(cluster, recorder, i === 0 ? random : new SeededRandom(options.seed + 7919 * i), {
          kinds: laneKinds,
          faultMs: options.faultMs ?? [1000, 6000],
          quietMs: options.quietMs ?? [500, 2000],
          coverAllKinds: options.coverAllKinds ?? false,
          table: TABLE,
          log,
        }),
    );
    log(`workload and ${nemeses.length} nemes${nemeses.length > 1 ? "es" : "is"} running for ${(options.durationMs / 1000).toFixed(0)} s`);
    const deadline = recorder.now() + options.durationMs;
    await Promise.all(nemeses.map((n) => n.run(deadline)));
    log("healing every fault");
    await nemeses[0]!.healEverything();
    recorder.fault("heal-all", "heal", "network healed, nodes resumed and restarted");

    await cluster.restartCrashed();
    const recovered = await waitForWrites(cluster);
    if (!recovered) extraViolations.push(`the cluster did not serve writes through every node within ${RECOVERY_TIMEOUT_MS / 1000} s after every fault was healed`);
    await sleep(AFTER_HEAL_MS);
    await workload.stop();

    log("final audit");
    await cluster.restartCrashed();
    await finalReads(cluster, recorder, keys, timeoutMs);
    recorder.history.final = await finalState(cluster);
  } catch (error) {
    // Keep what was recorded: the history up to here is still checked and written out.
    harnessError = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`run aborted: ${harnessError.split("\n")[0]}`);
  } finally {
    // Idempotent on the normal path; after an error, nothing may keep running against a destroyed cluster.
    for (const nemesis of nemeses) nemesis.stop();
    await workload?.stop();
    recorder.history.crashes = cluster.crashes;
    await cluster.destroy();
  }

  log(`checking ${recorder.history.ops.length} operations`);
  const report = checkHistory(recorder.history);
  report.violations.push(...extraViolations);
  const stats = summarize(recorder.history, report);
  writeResults(options.outDir, recorder.history, report, stats, harnessError);
  return {
    passed: report.violations.length === 0 && harnessError === undefined,
    ...(harnessError !== undefined ? { error: harnessError } : {}),
    history: recorder.history,
    report,
    stats,
    outDir: options.outDir,
  };
}

async function createTable(cluster: FaultCluster): Promise<void> {
  await retry(async () => {
    const client = new ArmadaClient(cluster.target(1).apiAddress, { timeoutMs: 3000 });
    try {
      await client.createTable(TABLE);
    } catch (error) {
      if (!/already exists/i.test((error as Error).message)) throw error;
    } finally {
      client.close();
    }
  }, 30_000);
  // Every node must know the table before its clients start, or their first calls fail NOT_FOUND.
  for (const id of cluster.ids) {
    await retry(async () => {
      const client = new ArmadaClient(cluster.target(id).apiAddress, { timeoutMs: 3000 });
      try {
        if (!(await client.listTables()).some((t) => t.name === TABLE)) throw new Error(`node ${id} does not list the table yet`);
      } finally {
        client.close();
      }
    }, 30_000);
  }
}

/** Liveness after healing: a write through every node succeeds in time. */
async function waitForWrites(cluster: FaultCluster): Promise<boolean> {
  try {
    for (const id of cluster.ids) {
      await retry(async () => {
        const client = new ArmadaClient(cluster.target(id).apiAddress, { timeoutMs: 3000 });
        try {
          // A write-once key outside both key spaces the checkers audit.
          await client.put(TABLE, `probe/${id}`, "probe");
        } finally {
          client.close();
        }
      }, RECOVERY_TIMEOUT_MS);
    }
    return true;
  } catch {
    return false;
  }
}

/** A linearizable read of every register key through every node, recorded like any client operation. */
async function finalReads(cluster: FaultCluster, recorder: HistoryRecorder, keys: readonly string[], timeoutMs: number): Promise<void> {
  for (const id of cluster.ids) {
    const target = cluster.target(id);
    for (const key of keys) {
      await retry(async () => {
        const client = new ArmadaClient(target.apiAddress, { timeoutMs });
        const op = recorder.invoke({ client: -id, node: id, incarnation: target.incarnation, kind: "read", key });
        try {
          recorder.complete(op, "ok", await execute(client, { table: TABLE, keys }, op));
        } catch (error) {
          recorder.complete(op, "failed", undefined, (error as Error).message);
          throw error;
        } finally {
          client.close();
        }
      }, 20_000);
    }
  }
}

/** The write-once keys present (linearizable), and whether every node holds the same data (serializable). */
async function finalState(cluster: FaultCluster): Promise<FinalState> {
  let appended: Record<string, string> | null = null;
  try {
    appended = await retry(() => scanAll(cluster.target(1).apiAddress, APPEND_PREFIX, true), 20_000);
  } catch {
    appended = null;
  }
  const deadline = Date.now() + CONVERGENCE_TIMEOUT_MS;
  let detail = "";
  while (Date.now() < deadline) {
    try {
      const views = await Promise.all(cluster.ids.map((id) => scanAll(cluster.target(id).apiAddress, "", false)));
      const first = JSON.stringify(views[0]);
      const differing = views.map((v, i) => (JSON.stringify(v) === first ? null : cluster.ids[i])).filter((id) => id !== null);
      if (differing.length === 0) return { appended, converged: true, convergenceDetail: `${Object.keys(views[0]!).length} keys on every node` };
      detail = `nodes ${differing.join(",")} differ from node ${cluster.ids[0]} (${views.map((v) => Object.keys(v).length).join("/")} keys)`;
    } catch (error) {
      detail = `scan failed: ${(error as Error).message}`;
    }
    await sleep(500);
  }
  return { appended, converged: false, convergenceDetail: detail };
}

/** Every key with `prefix` ("" = the whole table) through one node. */
async function scanAll(address: string, prefix: string, linearizable: boolean): Promise<Record<string, string>> {
  const client = new ArmadaClient(address, { timeoutMs: 10_000 });
  try {
    const out: Record<string, string> = {};
    const start = prefix === "" ? "\0" : prefix;
    const end = prefix === "" ? "\0" : prefixEndString(prefix);
    for await (const part of client.iterateRange(TABLE, start, { rangeEnd: end, linearizable })) {
      for (const kv of part.kvs) out[kv.key.toString("utf8")] = kv.value.toString("utf8");
    }
    return out;
  } finally {
    client.close();
  }
}

function prefixEndString(prefix: string): string {
  // Only ASCII prefixes ending below 0x7f are used here ("a/", "r/"), so incrementing the last character is exact.
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}


function summarize(history: History, report: CheckReport): TortureStats {
  const operations: Record<string, Record<Outcome, number>> = {};
  const kinds: OpKind[] = ["put", "read", "cas", "scan", "append"];
  for (const kind of kinds) operations[kind] = { ok: 0, failed: 0, indeterminate: 0 };
  for (const op of history.ops) operations[op.kind]![op.outcome]++;
  const casSucceeded = history.ops.filter((op: Operation) => op.kind === "cas" && op.result?.succeeded).length;
  operations["cas-succeeded"] = { ok: casSucceeded, failed: 0, indeterminate: 0 };
  const faults: Record<string, number> = {};
  for (const event of history.faults) if (event.phase === "start") faults[event.kind] = (faults[event.kind] ?? 0) + 1;
  return {
    operations,
    faults,
    historiesChecked: report.keys.length,
    acknowledgedAppends: report.acknowledgedAppends,
    serializableScans: report.scans,
    violations: report.violations.length,
    inconclusive: report.inconclusive.length,
  };
}

function writeResults(outDir: string, history: History, report: CheckReport, stats: TortureStats, harnessError?: string): void {
  writeFileSync(join(outDir, "history.json"), JSON.stringify(history));
  const lines = [
    `seed ${history.meta.seed}, ${history.meta.nodes} nodes, started ${history.meta.startedAt}`,
    `operations: ${history.ops.length}`,
    ...Object.entries(stats.operations).map(([kind, o]) => `  ${kind}: ok ${o.ok}, failed ${o.failed}, indeterminate ${o.indeterminate}`),
    `faults injected: ${Object.entries(stats.faults).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`,
    `histories checked (register keys): ${stats.historiesChecked} (${report.keys.map((k) => `${k.key}: ${k.verdict}, ${k.operations} ops`).join("; ")})`,
    `acknowledged write-once keys audited: ${stats.acknowledgedAppends}; serializable scans checked: ${stats.serializableScans}`,
    `final state: ${history.final ? history.final.convergenceDetail : "not taken"}`,
    `violations: ${stats.violations}`,
    ...(report.inconclusive.length ? [`inconclusive: ${report.inconclusive.join("; ")}`] : []),
    ...(harnessError !== undefined ? [`RUN ABORTED by a harness error (the checks above cover the history up to it):`, harnessError] : []),
  ];
  writeFileSync(join(outDir, "summary.txt"), lines.join("\n") + "\n");
  if (report.violations.length > 0) {
    const text = [
      `VIOLATIONS in run with seed ${history.meta.seed} (${history.meta.nodes} nodes); history in history.json, node logs in node-*.log`,
      "",
      ...report.violations.map((v, i) => `${i + 1}. ${v}`),
      "",
      "faults around the run:",
      ...history.faults.map((f) => `  ${f.atMs.toFixed(0)} ms ${f.phase} ${f.kind}: ${f.detail}`),
    ];
    writeFileSync(join(outDir, "violations.txt"), text.join("\n") + "\n");
  }
}

/** A human-readable summary for logs. */
export function formatStats(stats: TortureStats): string {
  const ops = Object.entries(stats.operations).map(([k, o]) => `${k} ${o.ok}/${o.failed}/${o.indeterminate}`).join(", ");
  const faults = Object.entries(stats.faults).map(([k, n]) => `${k} ${n}`).join(", ");
  return `operations (ok/failed/indeterminate): ${ops}\nfaults: ${faults}\nhistories checked: ${stats.historiesChecked}, acknowledged appends audited: ${stats.acknowledgedAppends}, scans: ${stats.serializableScans}\nviolations: ${stats.violations}, inconclusive: ${stats.inconclusive}`;
}
