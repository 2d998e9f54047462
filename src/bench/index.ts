/**
 * `npm run bench`: starts a real single-node leader, then a real 3-node leader cluster, and measures the
 * user API through the typed client: durable Put throughput and latency with many writers, and
 * serializable/linearizable Range throughput. Prints numbers; asserts nothing. Each phase runs for a
 * fixed time and stops itself.
 */
import { performance } from "node:perf_hooks";
import { ArmadaClient } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir, TestCluster } from "../test-support/process.js";

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const CONNECTIONS = 4;
const KEYS = 10_000;

interface PhaseResult { name: string; ops: number; seconds: number; p50: number; p99: number }

async function phase(name: string, clients: ArmadaClient[], operation: (client: ArmadaClient, i: number) => Promise<unknown>): Promise<PhaseResult> {
  const latencies: number[] = [];
  const deadline = performance.now() + PHASE_MS;
  let counter = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      const client = clients[worker % clients.length]!;
      while (performance.now() < deadline) {
        const begin = performance.now();
        await operation(client, counter++);
        latencies.push(performance.now() - begin);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { name, ops: latencies.length, seconds, p50: at(0.5), p99: at(0.99) };
}

function report(result: PhaseResult): void {
  const rate = result.ops / result.seconds;
  console.log(
    `${result.name.padEnd(28)} ${rate.toFixed(0).padStart(8)} ops/s   p50 ${result.p50.toFixed(3)} ms   p99 ${result.p99.toFixed(3)} ms   (${result.ops} ops, ${CONCURRENCY} in flight)`,
  );
}

const rate = (result: PhaseResult) => result.ops / result.seconds;

/** Runs the phases against `addresses` (clients spread over them); returns nothing, prints everything. */
async function runPhases(label: string, addresses: string[]): Promise<void> {
  const clients = Array.from({ length: CONNECTIONS }, (_, i) => new ArmadaClient(addresses[i % addresses.length]!));
  try {
    await retry(() => clients[0]!.createTable("bench"));
    const value = Buffer.alloc(128, 7);
    const key = (i: number) => `key-${String(i % KEYS).padStart(6, "0")}`;
    console.log(`\n${label}: ${CONNECTIONS} connections, ${PHASE_MS} ms per phase`);
    const put = await phase("Put (durable, 128 B)", clients, (client, i) => retry(() => client.put("bench", key(i), value)));
    report(put);
    const serializable = await phase("Range serializable (1 key)", clients, (client, i) => client.range("bench", key(i)));
    report(serializable);
    const linearizable = await phase("Range linearizable (1 key)", clients, (client, i) => client.range("bench", key(i), { linearizable: true }));
    report(linearizable);
    const scan = await phase("Range 100 keys", clients, (client, i) => client.range("bench", key(i % (KEYS - 100)), { rangeEnd: "\0", limit: 100 }));
    report(scan);
    console.log(`ratio serializable reads / durable puts: ${(rate(serializable) / rate(put)).toFixed(2)}`);
  } finally {
    for (const client of clients) client.close();
  }
}

/** Retries while a leader is being elected. */
async function retry<T>(operation: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function main(): Promise<void> {
  const dataDir = tempDir("armada-bench-");
  const leader = await LeaderProcess.start(dataDir);
  try {
    await runPhases("single-node leader", [leader.apiAddress]);
  } finally {
    await leader.stop("SIGTERM");
    removeDir(dataDir);
  }
  const cluster = await TestCluster.start(3);
  try {
    await runPhases("3-node leader cluster (clients spread over all nodes; writes on followers are forwarded)", [0, 1, 2].map((i) => cluster.apiAddress(i)));
  } finally {
    await cluster.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
