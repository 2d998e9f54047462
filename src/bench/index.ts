/**
 * `npm run bench`: Armada side by side with etcd (and with a no-op server on Armada's gRPC stack), on
 * loopback, with the same load generator (h2load) sending the same pre-encoded gRPC unary calls.
 * Prints one table (req/s, p50, p99 per workload and system, ratio Armada/etcd and Armada/ceiling),
 * checks the issue's targets, and writes every number as JSON. Measures; asserts nothing. The one
 * fixed-rate row (serializable reads at half of each system's peak) uses an open-loop generator of its own
 * instead (open-loop.ts): h2load cannot hold such a schedule.
 *
 * Flags: --duration=S (measured seconds per run, default 5), --warmup=S (default 5), --long (15 s
 * runs, 10 s warm-up), --clients=N and --streams=N (h2load connections and streams per connection),
 * --only=REGEX (workloads whose name matches), --no-1m (skip loading a million keys), --pairs=N
 * (alternating runs per paired row, default 3: Armada's 1-node serializable Range and its half-peak
 * row against the no-op ceiling, each 3-node workload against etcd; 0 = one run each, one system after
 * the other), --shared-cores (the fixed-rate row's generator and server share every core, as before
 * change 51, instead of one core for the generator and the others for a single-threaded server),
 * --json=PATH (default dist/bench/results.json).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { ArmadaClient } from "../client/index.js";
import { pb } from "../proto/index.js";
import { LeaderProcess, removeDir, tempDir, TestCluster } from "../test-support/process.js";
import { EtcdCluster } from "./etcd.js";
import { RawGrpcClient } from "./grpc-raw.js";
import { checkCounts, runLoad, type LoadSpec } from "./h2load.js";
import { ensureTools, etcdVersion } from "./tools.js";
import { runOpenLoopProcess } from "./open-loop.js";
import { collectOwnGarbage } from "./own-gc.js";
import { affinityOf, formatCpuList, splitCpus, withAffinity, type CpuSplit } from "./cpu-affinity.js";
import { SERVER_NODE_FLAGS } from "../server/gc-tuning.js";
import { armadaRequests, etcdRangeKeys, etcdRequests, grpcFrame, prefixEnd, type SystemRequests, type UnaryCall } from "./wire.js";

// ---------------------------------------------------------------------------------------------------
// Options

interface Options {
  durationS: number;
  warmupS: number;
  clients: number;
  streams: number;
  only: RegExp | null;
  million: boolean;
  json: string;
  /** Alternating Armada/etcd runs per 3-node workload (0: one run each, one system after the other). */
  pairs: number;
  /** The open-loop row's generator and server on separate cores (cpu-affinity.ts); off: both float over all cores. */
  separateCores: boolean;
}

/**
 * Unmeasured seconds before every closed-loop run. V8 compiles a workload's hot paths while it runs: on
 * this project's 2-core test machine a 3-node Put run measured after 1 s of warm-up did 1,884–2,242
 * req/s at 702–881 µs of CPU per write, after 6 s 2,805–2,822 at 539–548 µs, after 15 s 2,793–3,474 at
 * 425–541 µs (TurboFan took 11% of the nodes' CPU in the first case, 2% in the last). A server runs
 * warm; the same warm-up is given to every system.
 */
const WARMUP_S_DEFAULT = 5;

/**
 * The 3-node rows, and Armada's 1-node serializable Range with the no-op ceiling, are measured in
 * alternating pairs (Armada then etcd, then etcd then Armada, and so on: inPairOrder), the idle system stopped with SIGSTOP meanwhile, and the run with the median rate of each system is reported. The host
 * these numbers come from changes speed by 2× within minutes (etcd's own 3-node Put: 1,863–9,715 req/s
 * on one day), so one run of each system, minutes apart, can put the ratio anywhere.
 */
const PAIRS_DEFAULT = 3;

/** A mistake on the command line: reported in one line, without a stack. */
class UsageError extends Error {}

const USAGE = `usage: npm run bench -- [flags]   (or: node --no-memory-reducer dist/bench/index.js [flags])

Armada side by side with etcd and a no-op server on Armada's gRPC stack, on loopback; installs etcd-server
and nghttp2-client with apt-get when missing. About 12 minutes with the defaults.

  --duration=S     measured seconds per run (default 5)
  --warmup=S       unmeasured seconds before each run (default ${WARMUP_S_DEFAULT})
  --long           15 s runs after 10 s of warm-up
  --quick          about 4 minutes: 3 s runs after 2 s of warm-up, one run per system (--pairs=0), no
                   million-key rows; a smoke pass, too short and unpaired to judge the targets on a noisy host
  --clients=N      h2load connections (default 8)
  --streams=N      h2load streams per connection (default 8)
  --only=REGEX     only the workloads whose name matches (case-insensitive)
  --no-1m          skip the million-key rows (and their load)
  --pairs=N        alternating runs per paired row (default ${PAIRS_DEFAULT}; 0: one run of each system)
  --shared-cores   the half-peak row's generator and server share every core
  --json=PATH      where the results go (default dist/bench/results.json)
  --help           this text
`;

function parseOptions(argv: string[]): Options {
  const options: Options = { durationS: 5, warmupS: WARMUP_S_DEFAULT, clients: 8, streams: 8, only: null, million: true, json: "dist/bench/results.json", pairs: PAIRS_DEFAULT, separateCores: true };
  for (const arg of argv) {
    const [flag, value] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, ""];
    switch (flag) {
      case "--long": options.durationS = 15; options.warmupS = 10; break;
      case "--quick": options.durationS = 3; options.warmupS = 2; options.pairs = 0; options.million = false; break;
      case "--duration": options.durationS = Number(value); break;
      case "--warmup": options.warmupS = Number(value); break;
      case "--clients": options.clients = Number(value); break;
      case "--streams": options.streams = Number(value); break;
      case "--only": options.only = new RegExp(value, "i"); break;
      case "--no-1m": options.million = false; break;
      case "--json": options.json = value; break;
      case "--pairs": options.pairs = Number(value); break;
      case "--shared-cores": options.separateCores = false; break;
      case "--help": case "-h": process.stdout.write(USAGE); process.exit(0);
      default: throw new UsageError(`unknown flag ${arg} (--help lists them)`);
    }
  }
  if (!(options.durationS > 0) || !(options.warmupS >= 0) || !(options.clients > 0) || !(options.streams > 0) || !(Number.isInteger(options.pairs) && options.pairs >= 0)) throw new UsageError("--duration, --clients and --streams need a number above 0, --warmup one of 0 or more, --pairs a whole number of 0 or more");
  return options;
}

// ---------------------------------------------------------------------------------------------------
// Data of the workloads

const TABLE = "bench";
const KEYS = 10_000;
const SCAN_KEYS = 100_000;
const MILLION = 1_000_000;
const VALUE = Buffer.alloc(256, 0x61);
const SMALL_VALUE = Buffer.alloc(32, 0x62);
/** 16-byte keys: `key/` and 12 digits. */
const key = (i: number) => Buffer.from(`key/${String(i).padStart(12, "0")}`);
const scanKey = (i: number) => Buffer.from(`scan/${String(i).padStart(11, "0")}`);
const bigKey = (i: number) => Buffer.from(`big/${String(i).padStart(12, "0")}`);
const READ_KEY = key(4242);
const PUT_KEY = key(77);
const CAS_KEY = Buffer.from("cas/000000000001");
/** Matches key(100) … key(199): 100 keys. */
const PREFIX_100 = Buffer.from("key/0000000001");
const SCAN_PREFIX = Buffer.from("scan/");

// ---------------------------------------------------------------------------------------------------
// Systems

type SystemName = "armada" | "etcd" | "noop";

interface System {
  readonly name: SystemName;
  readonly nodes: number;
  readonly addresses: string[];
  readonly requests: SystemRequests;
  /** Loading batch size (keys per transaction). */
  readonly batch: number;
  readonly pids: () => number[];
  /**
   * Whether a node does its work on one thread (Armada, the no-op server): at its peak it used one core,
   * so the fixed-rate row may hold its main thread to the cores the generator leaves (cpu-affinity.ts). etcd spreads
   * its work over every core (about 1.7 of two at its peak, 2026-12-03), and held to one it could not keep
   * the schedule of half that peak (it answered 278 of 2,794 reads/s): it keeps every core, beside the
   * generator, as when its peak was measured.
   */
  readonly singleThreaded: boolean;
  stop(): Promise<void>;
}

async function startArmada(nodes: number): Promise<System> {
  let addresses: string[];
  let stop: () => Promise<void>;
  let pids: () => number[];
  if (nodes === 1) {
    const dir = tempDir("armada-bench-");
    const leader = await LeaderProcess.start(dir);
    addresses = [leader.apiAddress];
    stop = async () => { await leader.stop("SIGTERM"); removeDir(dir); };
    pids = () => [leader.pid];
  } else {
    const cluster = await TestCluster.start(nodes);
    addresses = cluster.nodes.map((_, i) => cluster.apiAddress(i));
    stop = () => cluster.destroy();
    pids = () => cluster.nodes.map((node) => node?.pid ?? 0);
  }
  const requests = await createTable(addresses, TABLE);
  return { name: "armada", nodes, addresses, requests, batch: 2000, pids, singleThreaded: true, stop };
}

/** Creates an Armada table and waits until every member serves it; returns the requests naming it. */
async function createTable(addresses: readonly string[], table: string): Promise<SystemRequests> {
  const client = new ArmadaClient(addresses[0]!);
  try {
    await retry(() => client.createTable(table), 100);
  } finally {
    client.close();
  }
  const requests = armadaRequests(table);
  // Every member must see the table before its reads are measured.
  await Promise.all(addresses.map((address) => verify(address, requests.rangeOne(READ_KEY, true), 20_000)));
  return requests;
}

async function startEtcd(binary: string, nodes: number): Promise<System> {
  const cluster = await EtcdCluster.start(binary, nodes);
  const addresses = Array.from({ length: nodes }, (_, i) => cluster.address(i));
  const pids = () => Array.from({ length: nodes }, (_, i) => cluster.pid(i) ?? 0);
  return { name: "etcd", nodes, addresses, requests: etcdRequests(), batch: 2000, pids, singleThreaded: false, stop: () => cluster.destroy() };
}

const NOOP_BIN = fileURLToPath(new URL("./noop-server.js", import.meta.url));

async function startNoop(): Promise<System> {
  // The node's launch options too (server/gc-tuning.ts): the two differ only in their handlers.
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_FLAGS, NOOP_BIN], { stdio: ["ignore", "pipe", "inherit"] });
  const address = await new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /noop listening (\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`no-op server exited with ${code}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(child.pid!, "SIGTERM");
    await exited;
  };
  return { name: "noop", nodes: 1, addresses: [address], requests: armadaRequests(TABLE), batch: 1, pids: () => [child.pid!], singleThreaded: true, stop };
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

/** Calls `call` at `address` until it answers grpc-status 0 with a message; returns the message size. */
async function verify(address: string, call: UnaryCall, timeoutMs = 10_000): Promise<number> {
  const client = new RawGrpcClient(address);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const result = await client.call(call.path, call.body, { timeoutMs: 5000 }).catch((error: unknown) => ({ status: -1, message: String(error), messages: 0, bytes: 0 }));
      if (result.status === 0 && result.messages === 1) return result.bytes;
      if (Date.now() > deadline) throw new Error(`verification of ${address}${call.path} failed: grpc-status ${result.status} ${result.message}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    client.close();
  }
}

/**
 * Waits (at most 30 s) until the system's processes are nearly idle, so that background work left by
 * loading data (commits, compaction, garbage collection) does not land in the next measurement.
 */
async function settle(system: System): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const before = cpuSeconds(system.pids());
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const busy = cpuSeconds(system.pids()) - before;
    // Idle members still tick and heartbeat: allow 5% of a core per process.
    const idle = 0.05 * system.pids().length;
    if (busy < idle || performance.now() > deadline) {
      if (busy >= idle) log(`${system.name}: still ${Math.round(busy * 100)}% busy after loading; measuring anyway`);
      return;
    }
  }
}

/**
 * Writes `count` keys `keyOf(i)` = `value` with multi-put transactions, a few in flight; returns keys/s.
 * `requests` names the table (the system's own by default).
 */
async function load(system: System, count: number, keyOf: (i: number) => Buffer, value: Buffer, requests: SystemRequests = system.requests): Promise<number> {
  const started = performance.now();
  const clients = system.addresses.map((address) => new RawGrpcClient(address));
  let next = 0;
  const worker = async (w: number) => {
    const client = clients[w % clients.length]!;
    while (next < count) {
      const from = next;
      next = Math.min(count, next + system.batch);
      const pairs: [Buffer, Buffer][] = [];
      for (let i = from; i < next; i++) pairs.push([keyOf(i), value]);
      const call = requests.putMany(pairs);
      await retry(() => client.ok(call.path, call.body, { timeoutMs: 60_000 }), 20);
    }
  };
  try {
    await Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)));
  } finally {
    for (const client of clients) client.close();
  }
  const rate = count / ((performance.now() - started) / 1000);
  await settle(system);
  return rate;
}

// ---------------------------------------------------------------------------------------------------
// Measuring

/** CPU seconds (user + system) used so far by the processes `pids` (Linux /proc; clock ticks of 10 ms). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone: it contributes nothing more.
    }
  }
  return ticks / 100;
}

interface Row {
  readonly workload: string;
  readonly nodes: number;
  readonly system: SystemName;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** IterateRange only. */
  readonly mbPerS?: number;
  readonly note?: string;
  readonly requests?: number;
  /** Server CPU time per request (all server processes, whole run including warm-up), microseconds. */
  readonly cpuUsPerReq?: number;
  /** 1-minute load average when the run started (other work on the machine shows here). */
  readonly load1?: number;
  /** CPU time the bench process itself used during the run, ms (open-loop runs: it should be idle). */
  readonly benchCpuMs?: number;
  readonly problems: string[];
}

const rows: Row[] = [];
const loads: { system: SystemName; nodes: number; keys: number; keysPerS: number }[] = [];

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function selected(options: Options, workload: string): boolean {
  return !options.only || options.only.test(workload);
}

let workDir = "";

/** Verifies the call on every target, runs h2load on all of them at once, records the row. */
async function measure(
  options: Options,
  system: System,
  workload: string,
  call: UnaryCall,
  extra: { rpsTotal?: number; note?: string } = {},
): Promise<Row | null> {
  if (!selected(options, workload)) return null;
  return record(await measureRow(options, system, workload, call, extra));
}

/** One run of `call` on `system`, not yet recorded. */
async function measureRow(options: Options, system: System, workload: string, call: UnaryCall, extra: { rpsTotal?: number; note?: string } = {}): Promise<Row> {
  if (extra.rpsTotal !== undefined) return measureOpenLoop(options, system, workload, call, extra.rpsTotal, extra.note);
  let minBytes = Infinity;
  for (const address of system.addresses) minBytes = Math.min(minBytes, await verify(address, call));
  const perTarget = Math.max(1, Math.round(options.clients / system.addresses.length));
  const clients = system.addresses.length === 1 ? options.clients : perTarget;
  const specs: LoadSpec[] = system.addresses.map((address) => ({ address, call, clients, streamsPerClient: options.streams }));
  const load1 = loadavg()[0]!;
  collectOwnGarbage();
  const cpuBefore = cpuSeconds(system.pids());
  const wallStarted = performance.now();
  const result = await runLoad(h2loadPath, specs, workDir, options.durationS, options.warmupS);
  const cpuUsPerReq = ((cpuSeconds(system.pids()) - cpuBefore) * 1e6) / (result.rps * ((performance.now() - wallStarted) / 1000));
  // Pre-encoded bodies of writes produce same-sized answers except for revision varints.
  const inFlight = specs.reduce((total, spec) => total + spec.clients * spec.streamsPerClient, 0);
  const problems = checkCounts(result, Math.max(0, minBytes - 2), inFlight);
  for (const address of system.addresses) await verify(address, call);
  return {
    workload, nodes: system.nodes, system: system.name, rps: result.rps, p50Ms: result.p50Ms, p99Ms: result.p99Ms, requests: result.requests,
    cpuUsPerReq, load1, problems, ...(extra.note ? { note: extra.note } : {}),
  };
}

/**
 * Latency at a fixed arrival rate: `rate` calls a second, evenly spaced, sent whether or not earlier ones
 * were answered, by the bench's own generator in a process of its own (open-loop.ts).
 */
async function measureOpenLoop(options: Options, system: System, workload: string, call: UnaryCall, rate: number, note?: string): Promise<Row> {
  const address = system.addresses[0]!;
  await verify(address, call);
  const load1 = loadavg()[0]!;
  const split = options.separateCores ? coreSplit() : null;
  // Nothing of this process's own left to collect during the run (own-gc.ts, docs/performance.md change 54).
  collectOwnGarbage();
  const benchCpuBefore = process.cpuUsage();
  const cpuBefore = cpuSeconds(system.pids());
  const wallStarted = performance.now();
  const generate = () => runOpenLoopProcess({
    address, path: call.path, bodyBase64: grpcFrame(call.body).toString("base64"), rate,
    durationS: options.durationS + options.warmupS, warmupS: options.warmupS, connections: 4,
  }, split?.generator);
  const holdServer = split !== null && system.singleThreaded;
  const result = holdServer ? await withAffinity(system.pids(), split.servers, generate) : await generate();
  const cpuUsPerReq = ((cpuSeconds(system.pids()) - cpuBefore) * 1e6) / (rate * ((performance.now() - wallStarted) / 1000));
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const benchCpuMs = (benchCpu.user + benchCpu.system) / 1000;
  await verify(address, call);
  const problems: string[] = [];
  if (result.failed > 0 || result.unanswered > 0) problems.push(`${result.failed} failed and ${result.unanswered} unanswered of ${result.scheduled}`);
  if (result.rps < rate * 0.98) problems.push(`answered ${result.rps.toFixed(0)} of ${rate.toFixed(0)} req/s scheduled`);
  return {
    workload, nodes: system.nodes, system: system.name, rps: result.rps, p50Ms: result.p50Ms, p99Ms: result.p99Ms, requests: result.succeeded,
    cpuUsPerReq, load1, benchCpuMs, problems,
    note: `${note ? `${note}; ` : ""}open loop${split ? `, generator on CPU ${formatCpuList(split.generator)}, server on ${holdServer ? `CPU ${formatCpuList(split.servers)}` : "every CPU"}` : ", generator and server sharing every CPU"}; p99.9 ${result.p999Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(2)} ms; generator late p99 ${result.sendLagP99Ms.toFixed(2)} ms; bench process ${benchCpuMs.toFixed(0)} ms of CPU`,
  };
}

/**
 * Whether V8's memory reducer is off in this process. It runs full collections about 8 s after the last
 * one, when little is allocated, and in the bench that is the middle of a run (the bench only waits for
 * h2load or the generator then). Measured in one run of the 1-node rows: collections of 5–22 ms of the
 * bench process in six runs, Armada's first half-peak run among them (docs/performance.md, change 54).
 * The flag works only on the command line (set at run time, it changed nothing).
 */
function quietHeap(): boolean {
  return process.execArgv.includes("--no-memory-reducer");
}

/** This process's cores split between the generator and the servers, or null (one core, or no taskset). */
function coreSplit(): CpuSplit | null {
  const allowed = affinityOf(process.pid);
  return allowed ? splitCpus(allowed) : null;
}

function record(row: Row): Row {
  rows.push(row);
  logRow(row);
  return row;
}

function logRow(row: Row, prefix = ""): void {
  const mb = row.mbPerS !== undefined ? `  ${row.mbPerS.toFixed(1)} MB/s` : "";
  const cpu = row.cpuUsPerReq !== undefined ? `  cpu ${row.cpuUsPerReq.toFixed(0)} µs/req` : "";
  log(`${prefix}${row.system.padEnd(6)} ${row.nodes}n  ${row.workload.padEnd(34)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50Ms.toFixed(2)} ms  p99 ${row.p99Ms.toFixed(2)} ms${mb}${cpu}${row.problems.length ? `  PROBLEMS: ${row.problems.join("; ")}` : ""}`);
}

/** The read-heavy mix: 95% linearizable 1-key Range spread over every member, 5% Put (rate-limited to that share). */
async function measureMix(options: Options, system: System, readRps: number): Promise<void> {
  const workload = "Mix 95% Range lin. / 5% Put";
  if (!selected(options, workload)) return;
  const read = system.requests.rangeOne(READ_KEY, false);
  const write = system.requests.put(PUT_KEY, VALUE);
  for (const address of system.addresses) await verify(address, read);
  await verify(system.addresses[0]!, write);
  const perTarget = Math.max(1, Math.round(options.clients / system.addresses.length));
  const writerClients = 2;
  const mixSpecs = (writeRps: number): LoadSpec[] => [
    ...system.addresses.map((address) => ({ address, call: read, clients: perTarget, streamsPerClient: options.streams })),
    { address: system.addresses[0]!, call: write, clients: writerClients, streamsPerClient: options.streams, rpsPerClient: Math.max(1, Math.ceil(writeRps / writerClients)) },
  ];
  // Writes are rate-limited to 5/95 of the read rate. Reads slow down once writes run beside them, so a
  // short calibration run of the mix itself sets the write rate of the measured run.
  const calibration = await runLoad(h2loadPath, mixSpecs((readRps * 5) / 95), workDir, 2, 0);
  const mixReadRps = calibration.parts.slice(0, -1).reduce((total, part) => total + part.rps, 0);
  const specs = mixSpecs((mixReadRps * 5) / 95);
  const load1 = loadavg()[0]!;
  collectOwnGarbage();
  const cpuBefore = cpuSeconds(system.pids());
  const wallStarted = performance.now();
  const result = await runLoad(h2loadPath, specs, workDir, options.durationS, options.warmupS);
  const cpuUsPerReq = ((cpuSeconds(system.pids()) - cpuBefore) * 1e6) / (result.rps * ((performance.now() - wallStarted) / 1000));
  const writes = result.parts[result.parts.length - 1]!.rps;
  const share = (100 * writes) / result.rps;
  const problems = checkCounts(result, 1, specs.reduce((n, spec) => n + spec.clients * spec.streamsPerClient, 0));
  record({
    workload, nodes: system.nodes, system: system.name, rps: result.rps, p50Ms: result.p50Ms, p99Ms: result.p99Ms, requests: result.requests,
    cpuUsPerReq, load1, problems, note: `${share.toFixed(1)}% writes`,
  });
}

/** Streams every key under `scan/` repeatedly for the measured duration; MB/s of response messages. */
async function measureScan(options: Options, system: System): Promise<void> {
  const workload = `IterateRange ${SCAN_KEYS / 1000}k keys`;
  if (!selected(options, workload)) return;
  const client = new RawGrpcClient(system.addresses[0]!);
  const problems: string[] = [];
  try {
    const scanOnce = async (check: boolean) => {
      let keys = 0;
      const onMessage = check
        ? (message: Buffer) => { keys += system.name === "etcd" ? etcdRangeKeys(message).length : pb.RangeResponse.decode(message).kvs.length; }
        : undefined;
      let result;
      if (system.name === "etcd") {
        // etcd has no server stream: one Range of the whole prefix (what `etcdctl get --prefix` sends).
        const call = system.requests.rangePrefix(SCAN_PREFIX, 0);
        result = await client.ok(call.path, call.body, { timeoutMs: 120_000, ...(onMessage ? { onMessage } : {}) });
      } else {
        const body = pb.RangeRequest.encode({ table: Buffer.from(TABLE), key: SCAN_PREFIX, rangeEnd: prefixEnd(SCAN_PREFIX) }).finish();
        result = await client.ok("/regatta.v1.KV/IterateRange", body, { timeoutMs: 120_000, ...(onMessage ? { onMessage } : {}) });
      }
      if (check && keys !== SCAN_KEYS) problems.push(`scan returned ${keys} keys, expected ${SCAN_KEYS}`);
      return result.bytes;
    };
    await scanOnce(true);
    let bytes = 0;
    let scans = 0;
    const started = performance.now();
    while (performance.now() - started < options.durationS * 1000) {
      bytes += await scanOnce(false);
      scans += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    record({
      workload, nodes: system.nodes, system: system.name, rps: scans / seconds, p50Ms: (seconds * 1000) / scans, p99Ms: Number.NaN,
      mbPerS: bytes / seconds / 1e6, problems, note: "scans/s; p50 = mean scan time; one Node client",
    });
  } finally {
    client.close();
  }
}

/**
 * Seconds of writes before a cluster's measured runs. A fresh 3-node Armada cluster needs about 40 s of
 * writes before its CPU per write settles (835 µs in the first 5 s, ~300 µs after 45 s; docs/performance.md,
 * changes 24 and 26); etcd gets the same.
 */
const CLUSTER_WRITE_WARMUP_S = 30;

/**
 * Unmeasured load on every member before the first measurement: Node's JIT needs a few seconds of
 * traffic before the serving path runs optimized code (Go's etcd needs none, and gets the same runs).
 */
async function warmUp(options: Options, system: System): Promise<void> {
  const r = system.requests;
  const seconds = Math.max(1, Math.round(options.durationS / 2));
  const writeSeconds = system.nodes > 1 ? CLUSTER_WRITE_WARMUP_S : seconds;
  const phases: [UnaryCall, number][] = [[r.rangeOne(READ_KEY, true), seconds], [r.rangeOne(READ_KEY, false), seconds], [r.put(PUT_KEY, VALUE), writeSeconds]];
  for (const [call, duration] of phases) {
    const specs = system.addresses.map((address) => ({ address, call, clients: Math.max(1, Math.round(options.clients / system.addresses.length)), streamsPerClient: options.streams }));
    await runLoad(h2loadPath, specs, workDir, duration, 0);
  }
}

// ---------------------------------------------------------------------------------------------------
// The run

async function warmUpNoop(options: Options, noop: System): Promise<void> {
  const call = noop.requests.rangeOne(READ_KEY, true);
  await runLoad(h2loadPath, [{ address: noop.addresses[0]!, call, clients: options.clients, streamsPerClient: options.streams }], workDir, options.warmupS, 0);
}

let h2loadPath = "";

/** The fixed-rate row: serializable reads at half of the peak each system reached in this run. */
const HALF_PEAK = "Range ser. at 50% of peak";

/**
 * The 1-node rows of `system`. With `ceiling` (the no-op server, warmed up and stopped), Armada's
 * serializable Range is measured in alternating pairs with it.
 */
async function singleNode(options: Options, system: System, ceiling?: System): Promise<void> {
  const r = system.requests;
  if (system.name === "noop") {
    await warmUpNoop(options, system);
    await measure(options, system, "Range serializable 1 key", r.rangeOne(READ_KEY, true));
    return;
  }
  log(`${system.name}: loading ${KEYS} keys (256 B values)`);
  loads.push({ system: system.name, nodes: 1, keys: KEYS, keysPerS: await load(system, KEYS, key, VALUE) });
  await load(system, 1, () => CAS_KEY, VALUE);
  await warmUp(options, system);
  const serializable = ceiling
    ? await pairedWithCeiling(options, system, ceiling, r.rangeOne(READ_KEY, true))
    : await measure(options, system, "Range serializable 1 key", r.rangeOne(READ_KEY, true));
  if (serializable) {
    // Each system at half of its own peak: Armada's half peak is above etcd's whole peak on this machine.
    const halfPeak = { rpsTotal: serializable.rps / 2, note: `${(serializable.rps / 2).toFixed(0)} req/s scheduled (half of this system's peak), evenly spaced` };
    if (ceiling && options.pairs > 0) {
      // The same schedule on the no-op server, runs alternating: the tail that Armada's gRPC stack and
      // this machine give anyway. One 5 s run's p99 moves by 2× from run to run on this host, so each
      // system's row is its run with the median p99.
      if (selected(options, HALF_PEAK)) {
        halfPeakRuns = await alternatingWithCeiling(options, system, ceiling, HALF_PEAK, r.rangeOne(READ_KEY, true), halfPeak);
        const p99s = (runs: readonly Row[]) => runs.map((run) => run.p99Ms.toFixed(2)).join(" / ");
        log(`1n ${HALF_PEAK}: p99 of Armada's runs ${p99s(halfPeakRuns.armada)} ms, of the no-op server's ${p99s(halfPeakRuns.noop)} ms`);
        for (const runs of [halfPeakRuns.armada, halfPeakRuns.noop]) {
          const median = medianBy(runs, (run) => run.p99Ms);
          const note = `${median.note ?? ""}; the run with the median p99 of ${options.pairs}, alternating with the other server's`;
          record({ ...median, problems: runs.flatMap((run) => run.problems), note });
        }
      }
    } else {
      await measure(options, system, HALF_PEAK, r.rangeOne(READ_KEY, true), halfPeak);
    }
  }
  await measure(options, system, "Range linearizable 1 key", r.rangeOne(READ_KEY, false));
  await measure(options, system, "Put 16 B key / 256 B value", r.put(PUT_KEY, VALUE));
  await measure(options, system, "Txn CAS (compare value, put)", r.cas(CAS_KEY, VALUE, VALUE));
  await measure(options, system, "Range 100 keys by prefix", r.rangePrefix(PREFIX_100, 0));
  if (selected(options, `IterateRange ${SCAN_KEYS / 1000}k keys`)) {
    log(`${system.name}: loading ${SCAN_KEYS} keys (256 B values)`);
    loads.push({ system: system.name, nodes: 1, keys: SCAN_KEYS, keysPerS: await load(system, SCAN_KEYS, scanKey, VALUE) });
    await measureScan(options, system);
  }
  if (options.million && selected(options, MILLION_ROW)) {
    const small = system.name === "armada" ? await smallTable(system) : null;
    log(`${system.name}: loading ${MILLION} more keys (32 B values)`);
    loads.push({ system: system.name, nodes: 1, keys: MILLION, keysPerS: await load(system, MILLION, bigKey, SMALL_VALUE) });
    if (ceiling) await millionPairedWithCeiling(options, system, ceiling);
    else await measure(options, system, MILLION_ROW, r.rangeOne(READ_KEY, true), { note: "≥1.01M keys in the table" });
    if (small) millionSideBySide = await millionBesideSmallTable(options, system, small);
  }
}

/** A second table of the 1-node leader, with the 10k keys the main table had before the million. */
const SMALL_TABLE = "bench-10k";

/** Creates {@link SMALL_TABLE} and loads it like the main table's first 10k keys; returns its requests. */
async function smallTable(system: System): Promise<SystemRequests> {
  const requests = await createTable(system.addresses, SMALL_TABLE);
  log(`${system.name}: loading ${KEYS} keys into table ${SMALL_TABLE}`);
  await load(system, KEYS, key, VALUE, requests);
  return requests;
}

/** The 1M-key table's reads beside the 10k-key table's, on one node, runs alternating. */
let millionSideBySide: PairedRuns | null = null;

/**
 * The flatness check itself: the same read on the million-key table and on a 10k-key table of the same
 * node, in alternating runs seconds apart. The host's speed drifts by more than the target's 10% between
 * runs minutes apart (and even the ceiling beside each, 10 s away, does not cancel it, see
 * docs/performance.md, "Reads at 1M keys"); two tables in one process, read turn about, see the same host.
 */
async function millionBesideSmallTable(options: Options, system: System, small: SystemRequests): Promise<PairedRuns> {
  const runs: PairedRuns = { first: [], second: [], ratios: [] };
  const measureBig = () => measureRow(options, system, `${MILLION_ROW} (beside 10k)`, system.requests.rangeOne(READ_KEY, true));
  const measureTenK = () => measureRow(options, system, `Range serializable 1 key, ${SMALL_TABLE} table`, small.rangeOne(READ_KEY, true));
  for (let pair = 1; pair <= options.pairs; pair++) {
    const [big, tenK] = await inPairOrder(pair, measureBig, measureTenK);
    runs.first.push(big);
    runs.second.push(tenK);
    runs.ratios.push(big.rps / tenK.rps);
    log(`pair ${pair}/${options.pairs}  armada 1n  1M-key table ${big.rps.toFixed(0)} req/s (cpu ${big.cpuUsPerReq?.toFixed(0) ?? "-"} µs/req), ${SMALL_TABLE} table ${tenK.rps.toFixed(0)} req/s (cpu ${tenK.cpuUsPerReq?.toFixed(0) ?? "-"} µs/req)`);
  }
  log(`1n reads at 1M / at 10k, same node, per pair: ${runs.ratios.map((x) => x.toFixed(2)).join(", ")}`);
  return runs;
}

const MILLION_ROW = "Range serializable 1 key at 1M";

/** The 1M-key row's runs alternating with the no-op ceiling, and each pair's Armada/ceiling ratio. */
let millionCeilingRuns: CeilingRuns | null = null;

/** The half-peak row's runs, Armada's and the no-op server's, alternating. */
let halfPeakRuns: CeilingRuns | null = null;

/**
 * The serializable Range at 1M keys in alternating pairs with the no-op ceiling, as at 10k keys. The two
 * sizes are measured minutes apart on one node, and this host changes speed by more than the 10% the
 * target allows in that time; the ceiling run beside each gives the host's speed at that moment, so the
 * flatness check compares Armada/ceiling at 1M with Armada/ceiling at 10k (and reports the raw rates too).
 */
async function millionPairedWithCeiling(options: Options, armada: System, noop: System): Promise<void> {
  millionCeilingRuns = await alternatingWithCeiling(options, armada, noop, MILLION_ROW, armada.requests.rangeOne(READ_KEY, true));
  recordMedian(millionCeilingRuns.armada, `≥1.01M keys in the table; median of ${options.pairs} runs alternating with the ceiling's`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The closed-loop 3-node workloads (the mix follows them, at the linearizable rate measured). */
const THREE_NODE_WORKLOADS: readonly [string, (r: SystemRequests) => UnaryCall][] = [
  ["Range serializable 1 key", (r) => r.rangeOne(READ_KEY, true)],
  ["Range linearizable 1 key", (r) => r.rangeOne(READ_KEY, false)],
  ["Put 16 B key / 256 B value", (r) => r.put(PUT_KEY, VALUE)],
];

async function threeNodes(options: Options, system: System): Promise<void> {
  await load(system, KEYS, key, VALUE);
  await warmUp(options, system);
  for (const [workload, callOf] of THREE_NODE_WORKLOADS) await measure(options, system, workload, callOf(system.requests));
  const linearizable = find(system.name, 3, "Range linearizable 1 key");
  if (linearizable) await measureMix(options, system, linearizable.rps);
}

/** Every run of the paired 3-node rows, and each pair's ratio (written to the JSON). */
const pairedRuns: { workload: string; armada: Row[]; etcd: Row[]; ratios: number[] }[] = [];

/**
 * The 3-node rows with both clusters up, measured in alternating pairs (see PAIRS_DEFAULT): while one
 * system loads, warms up or is measured, every process of the other is stopped (SIGSTOP), so it takes
 * no CPU. Raft counts ticks, not wall time, so a cluster that was stopped as a whole resumes without an
 * election. Each system's row is its run with the median rate.
 */
async function pairedThreeNodes(options: Options, etcdBinary: string): Promise<void> {
  const started: System[] = [];
  const alone = async <T>(system: System, work: () => Promise<T>): Promise<T> => {
    for (const other of started) if (other !== system) pause(other, "SIGSTOP");
    pause(system, "SIGCONT");
    return work();
  };
  try {
    for (const start of [() => startArmada(3), () => startEtcd(etcdBinary, 3)]) {
      for (const other of started) pause(other, "SIGSTOP");
      const system = await start();
      started.push(system);
      announce(system);
      await load(system, KEYS, key, VALUE);
      await warmUp(options, system);
    }
    for (const [workload, callOf] of THREE_NODE_WORKLOADS) {
      if (!selected(options, workload)) continue;
      const [armada, etcd] = started as [System, System];
      const runs = await alternatingRuns(options, armada, etcd, workload, callOf);
      log(`3n ${workload}: Armada/etcd per pair ${runs.ratios.map((r) => r.toFixed(2)).join(", ")}`);
      pairedRuns.push({ workload, armada: runs.first, etcd: runs.second, ratios: runs.ratios });
      for (const systemRuns of [runs.first, runs.second]) recordMedian(systemRuns, `median of ${options.pairs} alternating runs`);
    }
    for (const system of started) {
      const linearizable = find(system.name, 3, "Range linearizable 1 key");
      if (linearizable) await alone(system, () => measureMix(options, system, linearizable.rps));
    }
  } finally {
    for (const system of started) pause(system, "SIGCONT");
    for (const system of started.reverse()) await system.stop();
  }
}

/** Stops (SIGSTOP) or resumes (SIGCONT) every process of `system`: a stopped system takes no CPU. */
function pause(system: System, signal: "SIGSTOP" | "SIGCONT"): void {
  for (const pid of system.pids()) {
    try {
      if (pid > 0) process.kill(pid, signal);
    } catch {
      // A member that is gone: the verification around the next run reports it.
    }
  }
}

/** Armada's serializable 1-node Range and the no-op ceiling's, run in alternating pairs, with each pair's ratio. */
let ceilingRuns: CeilingRuns | null = null;

interface CeilingRuns {
  readonly armada: Row[];
  readonly noop: Row[];
  /** Armada / ceiling, pair by pair. */
  readonly ratios: number[];
}

/**
 * `workload` on Armada's 1-node leader and on the no-op server in alternating pairs (the same request to
 * both), each measured with the other stopped; leaves the no-op server stopped. `extra` as for
 * measureRow (a fixed rate makes the runs open-loop).
 */
async function alternatingWithCeiling(
  options: Options,
  armada: System,
  noop: System,
  workload: string,
  call: UnaryCall,
  extra: { rpsTotal?: number; note?: string } = {},
): Promise<CeilingRuns> {
  let runs: PairedRuns;
  try {
    runs = await alternatingRuns(options, armada, noop, workload, () => call, extra);
  } finally {
    pause(noop, "SIGSTOP");
    pause(armada, "SIGCONT");
  }
  log(`1n ${workload}: Armada/ceiling per pair ${runs.ratios.map((r) => r.toFixed(2)).join(", ")}`);
  return { armada: runs.first, noop: runs.second, ratios: runs.ratios };
}

/**
 * The serializable 1-key Range on the 1-node leader and on the no-op server in alternating pairs, the
 * other one stopped (SIGSTOP) during each run, as the 3-node rows are measured against etcd: the two
 * halves of the ceiling ratio were minutes apart before. Records each system's median run.
 */
async function pairedWithCeiling(options: Options, armada: System, noop: System, call: UnaryCall): Promise<Row | null> {
  const workload = "Range serializable 1 key";
  if (!selected(options, workload)) return null;
  ceilingRuns = await alternatingWithCeiling(options, armada, noop, workload, call);
  recordMedian(ceilingRuns.noop, `median of ${options.pairs} runs alternating with Armada's`);
  return recordMedian(ceilingRuns.armada, `median of ${options.pairs} runs alternating with the ceiling's`);
}

interface PairedRuns {
  readonly first: Row[];
  readonly second: Row[];
  /** first / second, pair by pair. */
  readonly ratios: number[];
}

/**
 * Runs pair `pair` (from 1) of two measurements and returns their results as [first, second]. Pairs
 * alternate the order in which they run (A B, B A, A B, ...): a host that speeds up or slows down over
 * a minute, or a server still busy after a load, then favours neither side. With the same order in every pair, the 1M/10k ratio was 0.89, 0.90 and
 * 0.88 in one run, and 0.74 in the first pair after the million-key load of another (docs/performance.md,
 * change 55).
 */
async function inPairOrder<T>(pair: number, first: () => Promise<T>, second: () => Promise<T>): Promise<[T, T]> {
  if (pair % 2 === 1) {
    const a = await first();
    return [a, await second()];
  }
  const b = await second();
  return [await first(), b];
}

/**
 * `options.pairs` pairs of runs of `workload`, one of `first` and one of `second`, in the order
 * inPairOrder gives; each measured alone (every process of the other stopped with SIGSTOP).
 */
async function alternatingRuns(
  options: Options,
  first: System,
  second: System,
  workload: string,
  callOf: (requests: SystemRequests) => UnaryCall,
  extra: { rpsTotal?: number; note?: string } = {},
): Promise<PairedRuns> {
  const runs: PairedRuns = { first: [], second: [], ratios: [] };
  for (let pair = 1; pair <= options.pairs; pair++) {
    const turn = async (system: System, other: System) => {
      pause(other, "SIGSTOP");
      pause(system, "SIGCONT");
      const row = await measureRow(options, system, workload, callOf(system.requests), extra);
      logRow(row, `pair ${pair}/${options.pairs}  `);
      return row;
    };
    const [a, b] = await inPairOrder(pair, () => turn(first, second), () => turn(second, first));
    runs.first.push(a);
    runs.second.push(b);
    runs.ratios.push(a.rps / b.rps);
  }
  return runs;
}

/** Records the median run of `runs`; a problem in any run marks the row, not only one in the median run. */
function recordMedian(runs: readonly Row[], note: string): Row {
  return record({ ...medianRun(runs), problems: runs.flatMap((run) => run.problems), note });
}

/** The run with the median rate (the lower middle one of an even count). */
function medianRun(runs: readonly Row[]): Row {
  return medianBy(runs, (run) => run.rps);
}

/** The run with the median `value` (the lower middle one of an even count). */
function medianBy(runs: readonly Row[], value: (run: Row) => number): Row {
  const sorted = [...runs].sort((a, b) => value(a) - value(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function announce(system: System): void {
  log(`${system.name} ${system.nodes}-node up at ${system.addresses.join(", ")} (pids ${system.pids().join(", ")})`);
}

/** The systems up now, for the signal handler (stopSystemsOnSignal). */
const running = new Set<System>();

async function withSystem(start: () => Promise<System>, body: (system: System) => Promise<void>): Promise<void> {
  const system = await start();
  running.add(system);
  announce(system);
  try {
    await body(system);
  } finally {
    running.delete(system);
    await system.stop();
  }
}

/**
 * On SIGINT or SIGTERM, stops the servers the bench started (continuing any it had paused) and removes
 * their data before exiting: a bench stopped with `kill` used to leave etcd and Armada nodes running (only
 * Ctrl-C, which reaches the whole process group, stopped them). Load generators end on their own within
 * their run's duration. A second signal, or 15 s without the servers gone, kills them.
 */
function stopSystemsOnSignal(): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === "SIGINT" ? 130 : 143;
    const systems = [...running];
    const kill = () => {
      for (const system of systems) for (const pid of system.pids()) try { if (pid > 0) process.kill(pid, "SIGKILL"); } catch { /* gone */ }
      process.exit(code);
    };
    if (stopping) return kill();
    stopping = true;
    log(`${signal}: stopping ${systems.map((system) => `${system.name} ${system.nodes}n`).join(", ") || "nothing"}`);
    setTimeout(kill, 15_000).unref();
    for (const system of systems) pause(system, "SIGCONT");
    void Promise.allSettled(systems.map((system) => system.stop())).then(() => {
      if (workDir) removeDir(workDir);
      process.exit(code);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!quietHeap()) log("warning: started without --no-memory-reducer (npm run bench passes it): this process's own collections may land in the latency runs");
  stopSystemsOnSignal();
  const tools = ensureTools(log);
  h2loadPath = tools.h2load;
  workDir = tempDir("armada-bench-h2load-");
  const started = performance.now();
  try {
    if (options.pairs > 0) {
      // The ceiling stays up, stopped, while Armada's 1-node rows run: its row pairs with Armada's.
      await withSystem(startNoop, async (noop) => {
        try {
          await warmUpNoop(options, noop);
          pause(noop, "SIGSTOP");
          await withSystem(() => startArmada(1), (system) => singleNode(options, system, noop));
        } finally {
          pause(noop, "SIGCONT");
        }
      });
    } else {
      await withSystem(startNoop, (system) => singleNode(options, system));
      await withSystem(() => startArmada(1), (system) => singleNode(options, system));
    }
    await withSystem(() => startEtcd(tools.etcd, 1), (system) => singleNode(options, system));
    if (options.pairs > 0) {
      await pairedThreeNodes(options, tools.etcd);
    } else {
      await withSystem(() => startArmada(3), (system) => threeNodes(options, system));
      await withSystem(() => startEtcd(tools.etcd, 3), (system) => threeNodes(options, system));
    }
  } finally {
    removeDir(workDir);
  }
  const seconds = (performance.now() - started) / 1000;
  const table = renderTable(options);
  console.log(table);
  const targets = checkTargets();
  console.log(targets.map((t) => `${t.met ? "MET   " : "MISSED"} ${t.target}: ${t.detail}`).join("\n"));
  const environment = {
    node: process.version, etcd: etcdVersion(tools.etcd), cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgAtEnd: loadavg(),
    durationS: options.durationS, warmupS: options.warmupS, clients: options.clients, streamsPerClient: options.streams, pairs: options.pairs, totalSeconds: seconds,
    benchWithoutMemoryReducer: quietHeap(),
    openLoopCores: options.separateCores ? coreSplit() ?? "shared (one core, or no taskset)" : "shared (--shared-cores)",
  };
  writeFileSync(options.json, JSON.stringify({ date: new Date().toISOString(), environment, rows, pairedRuns, ceilingRuns, millionCeilingRuns, halfPeakRuns, millionSideBySide, loads, targets, table }, null, 2));
  console.log(`\nresults: ${options.json} (${seconds.toFixed(0)} s; load average at end ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
  if (rows.some((row) => row.problems.length > 0)) {
    console.log("some runs had problems (see PROBLEMS above): their numbers are not comparable");
    process.exitCode = 2;
  }
}

// ---------------------------------------------------------------------------------------------------
// Reporting

function find(system: SystemName, nodes: number, workload: string): Row | undefined {
  return rows.find((row) => row.system === system && row.nodes === nodes && row.workload === workload);
}

function renderTable(options: Options): string {
  const ceiling = find("noop", 1, "Range serializable 1 key");
  const keys: [string, number][] = [];
  for (const row of rows) if (row.system !== "noop" && !keys.some(([w, n]) => w === row.workload && n === row.nodes)) keys.push([row.workload, row.nodes]);
  const cell = (row: Row | undefined) => {
    if (!row) return ["-", "-", "-"];
    const rate = row.mbPerS !== undefined ? `${row.mbPerS.toFixed(1)} MB/s` : row.rps.toFixed(0);
    const p99 = Number.isNaN(row.p99Ms) ? "-" : row.p99Ms.toFixed(2);
    return [rate + (row.problems.length ? " !" : ""), row.p50Ms.toFixed(2), p99];
  };
  const header = ["workload", "n", "Armada req/s", "p50 ms", "p99 ms", "etcd req/s", "p50 ms", "p99 ms", "A/etcd", "A/ceiling", "cpu µs/req A|etcd", "note"];
  const lines: string[][] = [header];
  const cpu = (row: Row | undefined) => (row?.cpuUsPerReq !== undefined ? row.cpuUsPerReq.toFixed(0) : "-");
  if (ceiling) lines.push(["no-op gRPC server (ceiling)", "1", ...cell(ceiling), "", "", "", "", "", `${cpu(ceiling)}`, ["Armada's gRPC stack, empty answer", ceiling.note].filter(Boolean).join("; ")]);
  for (const [workload, nodes] of keys) {
    const a = find("armada", nodes, workload);
    const e = find("etcd", nodes, workload);
    const value = (row: Row | undefined) => (row ? (row.mbPerS ?? row.rps) : Number.NaN);
    const ratio = a && e ? (value(a) / value(e)).toFixed(2) : "-";
    const toCeiling = a && ceiling && a.mbPerS === undefined && nodes === 1 ? (a.rps / ceiling.rps).toFixed(2) : "";
    lines.push([workload, String(nodes), ...cell(a), ...cell(e), ratio, toCeiling, `${cpu(a)}|${cpu(e)}`, [a?.note, e?.note && e.note !== a?.note ? `etcd: ${e.note}` : ""].filter(Boolean).join("; ")]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((line) => (line[i] ?? "").length)));
  const format = (line: string[]) => line.map((c, i) => (i === 0 || i === line.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [
    "",
    `Armada vs etcd on loopback, ${cpus().length} CPUs, h2load ${options.clients}×${options.streams} streams, ${options.durationS} s runs (+${options.warmupS} s warm-up)`,
    format(header),
    rule,
    ...lines.slice(1).map(format),
  ].join("\n");
}

interface TargetCheck { target: string; met: boolean; detail: string }

function checkTargets(): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const ratio = (a?: Row, b?: Row) => (a && b ? a.rps / b.rps : Number.NaN);
  const add = (target: string, value: number, threshold: number, detail: string) => {
    if (!Number.isNaN(value)) checks.push({ target, met: value >= threshold, detail });
  };
  const ser = find("armada", 1, "Range serializable 1 key");
  const serEtcd = find("etcd", 1, "Range serializable 1 key");
  const ceiling = find("noop", 1, "Range serializable 1 key");
  const vsEtcd = ratio(ser, serEtcd);
  add("serializable Range 1-node ≥ 1.0× etcd", vsEtcd, 1, `${vsEtcd.toFixed(2)}×`);
  const vsCeiling = ratio(ser, ceiling);
  const ceilingPairs = ceilingRuns ? ` (each pair: ${ceilingRuns.ratios.map((x) => x.toFixed(2)).join(", ")})` : "";
  add("serializable Range 1-node ≥ 0.8× no-op ceiling", vsCeiling, 0.8, `${vsCeiling.toFixed(2)}×${ceilingPairs}`);
  for (const workload of ["Range linearizable 1 key", "Put 16 B key / 256 B value"]) {
    const r = ratio(find("armada", 3, workload), find("etcd", 3, workload));
    const pairs = pairedRuns.find((runs) => runs.workload === workload)?.ratios;
    add(`${workload} 3-node ≥ 1.0× etcd`, r, 1, `${r.toFixed(2)}×${pairs ? ` (each pair: ${pairs.map((x) => x.toFixed(2)).join(", ")})` : ""}`);
  }
  const half = find("armada", 1, HALF_PEAK);
  const noopHalf = find("noop", 1, HALF_PEAK);
  const floor = noopHalf ? `; the no-op server on the same schedule: p99 ${noopHalf.p99Ms.toFixed(2)} ms` : "";
  if (half) checks.push({ target: "serializable p99 < 1 ms at half of peak", met: half.p99Ms < 1, detail: `p99 ${half.p99Ms.toFixed(2)} ms at ${half.rps.toFixed(0)} req/s${floor}` });
  const million = find("armada", 1, MILLION_ROW);
  const flat = ratio(million, ser);
  const raw = `1M ${million?.rps.toFixed(0)} vs 10k ${ser?.rps.toFixed(0)} req/s`;
  if (millionSideBySide) {
    const sideBySide = median(millionSideBySide.ratios);
    const normalized = millionCeilingRuns && ceilingRuns ? `; against the ceiling beside each ${(median(millionCeilingRuns.ratios) / median(ceilingRuns.ratios)).toFixed(2)}×` : "";
    add("reads at 1M keys within 10% of 10k", sideBySide, 0.9, `${sideBySide.toFixed(2)}× against a 10k-key table on the same node, runs alternating (each pair: ${millionSideBySide.ratios.map((x) => x.toFixed(2)).join(", ")})${normalized}; raw ${flat.toFixed(2)}× (${raw})`);
  } else if (millionCeilingRuns && ceilingRuns) {
    // Host-normalized (see millionPairedWithCeiling): each size against the ceiling measured beside it.
    const at1M = median(millionCeilingRuns.ratios);
    const at10k = median(ceilingRuns.ratios);
    add("reads at 1M keys within 10% of 10k", at1M / at10k, 0.9, `${(at1M / at10k).toFixed(2)}× against the ceiling beside each (Armada/ceiling ${at1M.toFixed(2)} at 1M, ${at10k.toFixed(2)} at 10k); raw ${flat.toFixed(2)}× (${raw})`);
  } else {
    add("reads at 1M keys within 10% of 10k", flat, 0.9, `${flat.toFixed(2)}× (${raw})`);
  }
  return checks;
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`bench: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
