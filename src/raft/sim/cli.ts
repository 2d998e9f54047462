/**
 * Runs many simulator seeds, in parallel on worker threads, and prints a report.
 *
 *   node dist/raft/sim/cli.js --seeds 10000 [--start 1] [--nodes 3|5] [--steps 600] [--workers N]
 *                             [--regime calm|mixed|leaderChurn] [--unsafe skipVoteLogCheck|commitPriorTermEntries]
 *
 * `--unsafe` runs a deliberately broken Raft, to watch the checkers catch it.
 * Exit status 1 if any seed violates a property; each failing seed is printed with a trace and the
 * command that reproduces it.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { UnsafeTestingKnobs } from '../config.js';
import type { Regime } from './params.js';
import { runSeedWithTraceOnFailure, FAULT_PHASE_TICKS_DEFAULT } from './simulation.js';
import { addResult, emptySummary, formatSummary, mergeSummary, type SimSummary } from './summary.js';

interface CliOptions {
  readonly seeds: number;
  readonly start: number;
  readonly nodes: number | undefined;
  readonly ticks: number;
  readonly workers: number;
  readonly regime: Regime | undefined;
  readonly unsafe: UnsafeTestingKnobs | undefined;
}

/** Seeds handed to a worker at a time: small enough to balance load, large enough to keep messages rare. */
const CHUNK_SEEDS = 50;
const FAILURES_PRINTED_MAX = 5;

function parseArgs(argv: readonly string[]): CliOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) values.set(arg.slice(2, eq), arg.slice(eq + 1));
    else values.set(arg.slice(2), argv[++i] ?? '');
  }
  const known = new Set(['seeds', 'start', 'nodes', 'steps', 'workers', 'regime', 'unsafe']);
  for (const key of values.keys()) if (!known.has(key)) throw new Error(`Unknown option --${key}`);
  const int = (key: string, fallback: number, min: number): number => {
    const raw = values.get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${key} must be an integer >= ${min}, got "${raw}"`);
    return n;
  };
  const nodes = values.has('nodes') ? int('nodes', 3, 1) : undefined;
  if (nodes !== undefined && nodes !== 3 && nodes !== 5) throw new Error(`--nodes must be 3 or 5, got ${nodes}`);
  const regime = values.get('regime');
  if (regime !== undefined && !['calm', 'mixed', 'leaderChurn'].includes(regime)) throw new Error(`--regime must be calm, mixed or leaderChurn`);
  const unsafe = values.get('unsafe');
  if (unsafe !== undefined && unsafe !== 'skipVoteLogCheck' && unsafe !== 'commitPriorTermEntries') {
    throw new Error('--unsafe must be skipVoteLogCheck or commitPriorTermEntries');
  }
  return {
    seeds: int('seeds', 1000, 1),
    start: int('start', 1, 0),
    nodes,
    ticks: int('steps', FAULT_PHASE_TICKS_DEFAULT, 1),
    workers: Math.max(1, int('workers', availableParallelism(), 1)),
    regime: regime as Regime | undefined,
    unsafe: unsafe === undefined ? undefined : { [unsafe]: true },
  };
}

/** Runs seeds [from, to) in this thread. */
function runRange(options: CliOptions, from: number, to: number): SimSummary {
  const summary = emptySummary();
  for (let seed = from; seed < to; seed++) {
    addResult(summary, runSeedWithTraceOnFailure({
      seed,
      ticks: options.ticks,
      ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
      ...(options.regime === undefined ? {} : { regime: options.regime }),
      ...(options.unsafe === undefined ? {} : { unsafe: options.unsafe }),
    }));
  }
  return summary;
}

/** Worker side: run every chunk the main thread sends, answer with its summary. */
function serveWorker(): void {
  const options = workerData as CliOptions;
  parentPort!.on('message', (chunk: { from: number; to: number } | null) => {
    if (chunk === null) {
      parentPort!.close();
      return;
    }
    parentPort!.postMessage(runRange(options, chunk.from, chunk.to));
  });
}

/** Main side: hand out chunks to workers until all seeds ran. */
async function runParallel(options: CliOptions): Promise<SimSummary> {
  const total = emptySummary();
  const end = options.start + options.seeds;
  let next = options.start;
  const takeChunk = (): { from: number; to: number } | null => {
    if (next >= end) return null;
    const chunk = { from: next, to: Math.min(end, next + CHUNK_SEEDS) };
    next = chunk.to;
    return chunk;
  };
  const workerCount = Math.min(options.workers, Math.ceil(options.seeds / CHUNK_SEEDS));
  await Promise.all(Array.from({ length: workerCount }, () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: options });
    worker.on('message', (summary: SimSummary) => {
      mergeSummary(total, summary);
      worker.postMessage(takeChunk());
    });
    worker.on('error', reject);
    worker.on('exit', () => resolve());
    worker.postMessage(takeChunk());
  })));
  return total;
}

function printFailures(summary: SimSummary, options: CliOptions): void {
  const failures = [...summary.failures].sort((a, b) => a.seed - b.seed);
  for (const f of failures.slice(0, FAILURES_PRINTED_MAX)) {
    console.log(`\nVIOLATION in seed ${f.seed} (${f.nodeCount} nodes): ${f.message}`);
    console.log('last events:');
    for (const t of f.trace) console.log(`  ${t}`);
    const nodes = options.nodes === undefined ? '' : ` --nodes ${options.nodes}`;
    const regime = options.regime === undefined ? '' : ` --regime ${options.regime}`;
    const unsafe = options.unsafe === undefined ? '' : ` --unsafe ${Object.keys(options.unsafe)[0]}`;
    console.log(`reproduce: node dist/raft/sim/cli.js --seeds 1 --start ${f.seed} --steps ${options.ticks}${nodes}${regime}${unsafe}`);
  }
  console.log(`\nfailing seeds: ${failures.map((f) => f.seed).join(' ')}`);
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const summary = options.workers === 1 ? runRange(options, options.start, options.start + options.seeds) : await runParallel(options);
  const seconds = (performance.now() - started) / 1000;
  const nodes = options.nodes === undefined ? '3 or 5 (drawn per seed)' : String(options.nodes);
  const header = [
    'Armada Raft simulator',
    `seeds ${options.start}..${options.start + options.seeds - 1}, nodes ${nodes}, ${options.ticks} fault ticks + liveness phase, ${options.workers} worker(s)`,
    ...(options.unsafe === undefined ? [] : [`DELIBERATELY BROKEN RAFT: ${Object.keys(options.unsafe)[0]}`]),
  ].join('\n');
  console.log(formatSummary(summary, header, seconds));
  if (summary.failures.length > 0) {
    printFailures(summary, options);
    process.exitCode = 1;
  }
}

if (isMainThread) await main();
else serveWorker();
