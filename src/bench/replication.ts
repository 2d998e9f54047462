/**
 * `npm run bench:replication`: a real leader node and real follower nodes on loopback. Measures
 *  1. replication lag under a steady write load on the leader: for each write, the time from the leader's
 *     acknowledgement until a reader polling the follower (serializable, every ~2 ms) sees it; p50/p99 for
 *     the default poll interval (1 s) and for 100 ms;
 *  2. the catch-up rate of an empty follower: keys/s and MB/s by log replay, and by snapshot recovery (the
 *     leader's log compacted past the start).
 * Prints numbers; asserts nothing. Bounded by its settings (about a minute by default).
 */
import { performance } from "node:perf_hooks";
import { ArmadaClient } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";

const LOAD_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 15);
const WRITES_PER_SECOND = Number(process.env.BENCH_LAG_RATE ?? 100);
const CATCH_UP_KEYS = Number(process.env.BENCH_CATCHUP_KEYS ?? 100_000);
const VALUE_BYTES = 100;
const KEYS_PER_TXN = 100;

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function withNodes<T>(leaderArgs: string[], run: (leader: LeaderProcess, startFollower: (args: string[]) => Promise<LeaderProcess>) => Promise<T>): Promise<T> {
  const dirs: string[] = [];
  const nodes: LeaderProcess[] = [];
  const dir = () => { const d = tempDir("armada-bench-"); dirs.push(d); return d; };
  try {
    const leader = await LeaderProcess.start(dir(), leaderArgs);
    nodes.push(leader);
    const startFollower = async (args: string[]) => {
      const follower = await LeaderProcess.start(dir(), [`--replication.leader-address=${leader.replicationAddress}`, ...args], { command: "follower" });
      nodes.push(follower);
      return follower;
    };
    return await run(leader, startFollower);
  } finally {
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
    for (const d of dirs) removeDir(d);
  }
}

async function retry<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Lag of writes made at a steady rate, as seen by a reader polling the follower. */
async function measureLag(pollInterval: string): Promise<void> {
  await withNodes([], async (leader, startFollower) => {
    const follower = await startFollower([`--replication.poll-interval=${pollInterval}`, "--replication.reconcile-interval=1s", "--replication.lease-interval=1s"]);
    const writer = new ArmadaClient(leader.apiAddress, { timeoutMs: 10_000 });
    const reader = new ArmadaClient(follower.apiAddress, { timeoutMs: 10_000 });
    try {
      await retry(() => writer.createTable("lag"));
      await retry(() => writer.put("lag", "seq", "0"));
      await retry(async () => { if ((await reader.range("lag", "seq")).kvs.length === 0) throw new Error("not yet"); });
      const ackedAt: number[] = [];
      const lags: number[] = [];
      let seen = 0;
      let writing = true;
      const read = async () => {
        while (writing || seen < ackedAt.length - 1) {
          const result = await reader.range("lag", "seq").catch(() => null);
          const value = Number(Buffer.from(result?.kvs[0]?.value ?? []).toString() || 0);
          const now = performance.now();
          for (let i = seen + 1; i <= value; i++) if (ackedAt[i] !== undefined) lags.push(Math.max(0, now - ackedAt[i]!));
          seen = Math.max(seen, value);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      const reading = read();
      const started = performance.now();
      const total = LOAD_SECONDS * WRITES_PER_SECOND;
      for (let i = 1; i <= total; i++) {
        const due = started + (i * 1000) / WRITES_PER_SECOND;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        await writer.put("lag", "seq", String(i));
        ackedAt[i] = performance.now();
      }
      writing = false;
      await reading;
      lags.sort((a, b) => a - b);
      console.log(
        `lag  poll-interval=${pollInterval.padEnd(6)} ${WRITES_PER_SECOND} writes/s for ${LOAD_SECONDS}s: ` +
          `writes seen ${lags.length}/${total}, p50 ${percentile(lags, 0.5).toFixed(1)} ms, p99 ${percentile(lags, 0.99).toFixed(1)} ms, max ${lags[lags.length - 1]?.toFixed(1)} ms`,
      );
    } finally {
      writer.close();
      reader.close();
    }
  });
}

/** Time for an empty follower to hold all of CATCH_UP_KEYS keys. */
async function measureCatchUp(mode: "log" | "snapshot"): Promise<void> {
  // With frequent snapshots and little retained log the follower must start from a snapshot.
  const leaderArgs = mode === "snapshot" ? ["--raft.snapshot-entries=100", "--raft.compaction-overhead=10"] : ["--raft.snapshot-entries=100000"];
  await withNodes(leaderArgs, async (leader, startFollower) => {
    const writer = new ArmadaClient(leader.apiAddress, { timeoutMs: 30_000 });
    try {
      await retry(() => writer.createTable("bulk"));
      const value = Buffer.alloc(VALUE_BYTES, 7);
      const loadStarted = performance.now();
      const txns = Math.ceil(CATCH_UP_KEYS / KEYS_PER_TXN);
      const inFlight = 8;
      let next = 0;
      await Promise.all(Array.from({ length: inFlight }, async () => {
        for (let t = next++; t < txns; t = next++) {
          const success = Array.from({ length: KEYS_PER_TXN }, (_, i) => ({ requestPut: { key: Buffer.from(`key${String(t * KEYS_PER_TXN + i).padStart(8, "0")}`), value } }));
          await writer.txn("bulk", { success });
        }
      }));
      const loadSeconds = (performance.now() - loadStarted) / 1000;
      const dataMb = (CATCH_UP_KEYS * (VALUE_BYTES + 11)) / 1e6;
      const started = performance.now();
      const follower = await startFollower(["--replication.poll-interval=100ms", "--replication.reconcile-interval=1s", "--replication.lease-interval=1s"]);
      const reader = new ArmadaClient(follower.apiAddress, { timeoutMs: 30_000 });
      try {
        for (;;) {
          const count = await reader.range("bulk", "\0", { rangeEnd: "\0", countOnly: true }).then((r) => r.count, () => 0);
          if (count >= CATCH_UP_KEYS) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        reader.close();
      }
      const seconds = (performance.now() - started) / 1000;
      const how = /table recovered from a leader snapshot/.test(follower.logs) ? "snapshot" : "log";
      if (process.env.BENCH_VERBOSE) console.log(follower.logs);
      console.log(
        `catch-up from empty (${mode} expected, ${how} used): ${CATCH_UP_KEYS} keys, ${dataMb.toFixed(1)} MB in ${seconds.toFixed(2)} s ` +
          `(incl. process start) = ${(CATCH_UP_KEYS / seconds).toFixed(0)} keys/s, ${(dataMb / seconds).toFixed(2)} MB/s; leader load took ${loadSeconds.toFixed(1)} s`,
      );
    } finally {
      writer.close();
    }
  });
}

// BENCH_ONLY=lag|log|snapshot runs one part.
const only = process.env.BENCH_ONLY;
if (!only || only === "lag") {
  await measureLag("1s");
  await measureLag("100ms");
}
if (!only || only === "log") await measureCatchUp("log");
if (!only || only === "snapshot") await measureCatchUp("snapshot");
