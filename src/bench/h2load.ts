/**
 * Drives gRPC unary calls with h2load: one pre-encoded request body (gRPC prefix + protobuf) POSTed
 * over h2c with `content-type: application/grpc` and `te: trailers`. Throughput and the counts come from
 * h2load's summary, latency percentiles from its per-request log file. Several h2load processes can run
 * at once (one per cluster member, or reads and writes of a mix); their results are merged.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { grpcFrame, type UnaryCall } from "./wire.js";

/** One h2load process: where it sends what, with how many connections and streams. */
export interface LoadSpec {
  readonly address: string;
  readonly call: UnaryCall;
  readonly clients: number;
  readonly streamsPerClient: number;
  /** Requests per second per client (h2load --rps); unlimited when absent. */
  readonly rpsPerClient?: number;
}

/** What one or more h2load processes measured together. */
export interface LoadResult {
  readonly requests: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly status2xx: number;
  /** Response DATA bytes (gRPC messages with their prefixes). */
  readonly dataBytes: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Per process, in spec order (for mixes: the share of each part). */
  readonly parts: { requests: number; rps: number }[];
  /** HTTP statuses other than 200 in the per-request logs, with their counts ("0": no answer before the run ended). */
  readonly otherStatuses: Record<string, number>;
}

export interface ParsedSummary {
  seconds: number;
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  status2xx: number;
  dataBytes: number;
}

export function parseSummary(output: string): ParsedSummary {
  const number = (pattern: RegExp) => {
    const match = pattern.exec(output);
    if (!match) throw new Error(`unexpected h2load output (no ${pattern}):\n${output}`);
    return Number(match[1]);
  };
  // "finished in" counts the warm-up too (10 s for a 5 s run after 5 s of warm-up), while the request
  // counts and h2load's own req/s cover the measured part only: the measured time is requests / req/s.
  const finished = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(output);
  if (!finished) throw new Error(`unexpected h2load output:\n${output}`);
  const requests = number(/requests: \d+ total, \d+ started, (\d+) done/);
  const rps = Number(finished[3]);
  const wallSeconds = Number(finished[1]) / (finished[2] === "ms" ? 1000 : 1);
  return {
    seconds: rps > 0 ? requests / rps : wallSeconds,
    requests,
    succeeded: number(/(\d+) succeeded/),
    failed: number(/(\d+) failed/),
    errored: number(/(\d+) errored/),
    status2xx: number(/status codes: (\d+) 2xx/),
    dataBytes: number(/headers \(space savings [^)]*\), [\d.]+[KMG]?B \((\d+)\) data/),
  };
}

/**
 * Appends the durations (µs) of the requests in an h2load log to `into`: one line per request, three
 * tab-separated integers (start µs, HTTP status, duration µs). Statuses other than 200 are counted in
 * `otherStatuses` (0: no answer before the run ended). Other lines are skipped.
 *
 * Parsed from the bytes, without a string per line or per field: a closed-loop run logs over half a
 * million lines, and until 2026-12-03 their strings were still being collected in the bench process
 * during the next row's runs. Those collections took CPU from the half-peak row's generator and server
 * (docs/performance.md, change 54).
 */
export function parseDurationLog(bytes: Uint8Array, into: number[], otherStatuses: Map<string, number>): void {
  const TAB = 9, NEWLINE = 10, MINUS = 45, ZERO = 48, NINE = 57;
  let fields = 0; // fields ended on this line so far
  let value = 0;
  let digits = 0;
  let negative = false;
  let wellFormed = true;
  let status = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const byte = i < bytes.length ? bytes[i]! : NEWLINE;
    if (byte >= ZERO && byte <= NINE) {
      value = value * 10 + (byte - ZERO);
      digits++;
    } else if (byte === MINUS && digits === 0 && !negative) {
      negative = true;
    } else if (byte === TAB || byte === NEWLINE) {
      if (digits === 0) wellFormed = false;
      if (fields === 1) status = negative ? -value : value;
      fields++;
      if (byte === NEWLINE) {
        if (wellFormed && fields === 3) {
          into.push(negative ? -value : value);
          if (status !== 200) {
            const name = String(status);
            otherStatuses.set(name, (otherStatuses.get(name) ?? 0) + 1);
          }
        }
        fields = 0;
        wellFormed = true;
      }
      value = 0;
      digits = 0;
      negative = false;
    } else {
      wellFormed = false;
    }
  }
}

/** Durations (µs) of the requests in the h2load log `file` (see parseDurationLog); a missing file adds none. */
function readDurations(file: string, into: number[], otherStatuses: Map<string, number>): void {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return;
  }
  parseDurationLog(bytes, into, otherStatuses);
}

function runOne(h2load: string, spec: LoadSpec, index: number, workDir: string, durationS: number, warmupS: number): Promise<{ summary: ParsedSummary; logFile: string }> {
  const bodyFile = join(workDir, `body-${index}.bin`);
  const logFile = join(workDir, `log-${index}.tsv`);
  writeFileSync(bodyFile, grpcFrame(spec.call.body));
  writeFileSync(logFile, "");
  // What every run shares: one thread, the request body and headers, the per-request log.
  const common = ["-t", "1", "-m", String(spec.streamsPerClient), "-d", bodyFile, "-H", "content-type: application/grpc", "-H", "te: trailers", `--log-file=${logFile}`];
  const args = [
    ...common,
    "-c", String(spec.clients),
    "-D", String(durationS),
    `--warm-up-time=${warmupS}`,
    ...(spec.rpsPerClient ? [`--rps=${spec.rpsPerClient}`] : []),
    `${spec.address}${spec.call.path}`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(h2load, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.on("error", reject);
    // "close", not "exit": the process can exit before its last output (the summary) has been read.
    child.on("close", (code, signal) => {
      if (code !== 0) reject(new Error(`h2load exited with ${code ?? signal}:\n${output}`));
      else {
        try {
          resolve({ summary: parseSummary(output), logFile });
        } catch (error) {
          reject(error as Error);
        }
      }
    });
  });
}

/** The value at quantile `q` of sorted `values`. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runs every spec at once for `durationS` seconds (after `warmupS` unmeasured) and merges the results. */
export async function runLoad(h2load: string, specs: readonly LoadSpec[], workDir: string, durationS: number, warmupS: number): Promise<LoadResult> {
  const runs = await Promise.all(specs.map((spec, i) => runOne(h2load, spec, i, workDir, durationS, warmupS)));
  const durations: number[] = [];
  const otherStatuses = new Map<string, number>();
  for (const run of runs) readDurations(run.logFile, durations, otherStatuses);
  const sorted = Float64Array.from(durations).sort();
  const sum = (pick: (s: ParsedSummary) => number) => runs.reduce((total, run) => total + pick(run.summary), 0);
  const seconds = Math.max(...runs.map((run) => run.summary.seconds));
  const parts = runs.map((run) => ({ requests: run.summary.requests, rps: run.summary.requests / run.summary.seconds }));
  return {
    requests: sum((s) => s.requests),
    succeeded: sum((s) => s.succeeded),
    failed: sum((s) => s.failed),
    errored: sum((s) => s.errored),
    status2xx: sum((s) => s.status2xx),
    dataBytes: sum((s) => s.dataBytes),
    seconds,
    rps: parts.reduce((total, part) => total + part.rps, 0),
    p50Ms: quantile(sorted, 0.5) / 1000,
    p99Ms: quantile(sorted, 0.99) / 1000,
    parts,
    otherStatuses: Object.fromEntries(otherStatuses),
  };
}

/**
 * Checks h2load's counts: every request done, succeeded with HTTP 200, and answered with a gRPC message
 * (a gRPC error is a trailers-only response without DATA, so fewer than `5 × requests` data bytes means
 * some calls failed). Returns the problems found (empty when none).
 */
export function checkCounts(result: LoadResult, minMessageBytes: number, inFlight: number): string[] {
  const problems: string[] = [];
  if (result.requests === 0) problems.push("no request completed");
  if (result.failed > 0 || result.errored > 0) problems.push(`${result.failed} failed, ${result.errored} errored`);
  // Streams still open when the measured period ends are logged with status 0 and no response: at most
  // one per stream in flight. Any other status, or more of those, is a problem.
  const cutOff = result.otherStatuses["0"] ?? 0;
  const others = Object.entries(result.otherStatuses).filter(([status]) => status !== "0");
  if (others.length > 0 || cutOff > inFlight) problems.push(`responses that were not HTTP 200: ${JSON.stringify(result.otherStatuses)}`);
  const answered = Math.min(result.succeeded, result.status2xx);
  const expected = answered * (5 + minMessageBytes);
  if (result.dataBytes < expected) problems.push(`only ${result.dataBytes} response bytes for ${answered} responses (≥ ${expected} expected): some calls answered without a message`);
  return problems;
}
