/**
 * Concurrent clients, each pinned to one node and running one operation at a time: blind puts, linearizable
 * reads and compare-and-swap transactions on a few register keys (so they contend), serializable scans of those
 * keys, and puts of write-once keys for the durability audit. Every invocation and completion is recorded.
 *
 * Values are unique per write ("<client>.<seq>"), which is what lets the checker tell which write a read saw.
 */
import { ArmadaClient, ArmadaError, prefixEnd, type Header } from "../client/index.js";
import { status as Code } from "@grpc/grpc-js";
import { SeededRandom } from "../raft/prng.js";
import type { NodeTarget } from "./cluster.js";
import type { HistoryRecorder, OpKind, OpResult, Operation } from "./history.js";

export const REGISTER_PREFIX = "r/";
export const APPEND_PREFIX = "a/";

export function registerKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${REGISTER_PREFIX}${i}`);
}

/** Errors after which a write certainly did not happen: the server refused it before proposing anything. */
const DEFINITE_FAILURES = new Set<number>([Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.UNIMPLEMENTED, Code.UNAUTHENTICATED, Code.PERMISSION_DENIED]);

/**
 * UNAVAILABLE errors that say the write was not applied: the call never left the client (no connection), or the
 * server reports it did not propose it (no leader) or that its entry was replaced (leadership change). Taking the
 * server at its word is also a test of its word: if such a write did take effect, the checkers see a value that
 * only a "failed" write wrote and report it.
 */
const NOT_APPLIED = [/No connection established/, /no leader available for this table/, /outcome: not applied/];

/** Whether a write that ended in `error` certainly had no effect. */
export function certainlyNotApplied(error: unknown): boolean {
  if (!(error instanceof ArmadaError)) return false;
  if (DEFINITE_FAILURES.has(error.code)) return true;
  return error.code === Code.UNAVAILABLE && NOT_APPLIED.some((pattern) => pattern.test(error.details));
}

/** Relative weights of the operation kinds. */
const MIX: readonly [OpKind, number][] = [["put", 25], ["read", 25], ["cas", 20], ["scan", 12], ["append", 18]];

export interface WorkloadOptions {
  readonly table: string;
  readonly keys: readonly string[];
  /** Per-call deadline; a write that runs into it is indeterminate. */
  readonly timeoutMs: number;
  readonly seed: number;
  /**
   * A deliberately broken client for proving the suite catches real stale reads: "linearizable" reads are sent
   * as serializable ones, which a partitioned or lagging node answers from its stale replica.
   */
  readonly unsafeStaleReads?: boolean;
}

/** Creates a client connection to a node, on a fresh channel (so no reconnect backoff carries over). */
function connectTo(target: NodeTarget, timeoutMs: number): ArmadaClient {
  return new ArmadaClient(target.apiAddress, { timeoutMs });
}

export class Workload {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly options: WorkloadOptions, private readonly recorder: HistoryRecorder, private readonly target: (node: number) => NodeTarget) {}

  /** Starts one client per entry of `nodes` (a node id per client). */
  start(nodes: readonly number[]): void {
    nodes.forEach((node, i) => {
      const client = new WorkloadClient(i + 1, node, this.options, this.recorder, this.target, new SeededRandom(this.options.seed * 1009 + i));
      this.loops.push(client.run(() => this.stopped));
    });
  }

  /** Lets every client finish its current operation and stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

class WorkloadClient {
  private seq = 0;
  private client: ArmadaClient | null = null;
  /** The last value this client saw or wrote per key: the expected value of its next CAS. */
  private readonly lastSeen = new Map<string, string>();

  constructor(
    readonly id: number,
    readonly node: number,
    private readonly options: WorkloadOptions,
    private readonly recorder: HistoryRecorder,
    private readonly target: (node: number) => NodeTarget,
    private readonly random: SeededRandom,
  ) {}

  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      const ok = await this.step();
      // A short pause keeps a 2-core machine usable; a longer one after errors avoids spinning on a dead node.
      await sleep(ok ? this.random.intBetween(2, 15) : this.random.intBetween(50, 150));
    }
    this.client?.close();
  }

  /** Runs one random operation; false when it did not succeed. */
  private async step(): Promise<boolean> {
    const kind = pickWeighted(this.random, MIX);
    const key = kind === "append" ? `${APPEND_PREFIX}${this.id}/${this.seq}` : kind === "scan" ? "" : this.random.pick(this.options.keys);
    const value = `${this.id}.${this.seq++}`;
    const target = this.target(this.node);
    const fields: Omit<Operation, "id" | "invokeMs" | "completeMs" | "outcome"> = {
      client: this.id,
      node: this.node,
      incarnation: target.incarnation,
      kind,
      key,
      ...(kind === "put" || kind === "append" || kind === "cas" ? { value } : {}),
      ...(kind === "cas" ? { expected: this.lastSeen.get(key) ?? `${this.id}.${this.seq - 2}` } : {}),
    };
    this.client ??= connectTo(target, this.options.timeoutMs);
    const op = this.recorder.invoke(fields);
    try {
      const result = await execute(this.client, this.options, op);
      this.recorder.complete(op, "ok", result);
      this.remember(op, result);
      return true;
    } catch (error) {
      const definite = kind === "read" || kind === "scan" || certainlyNotApplied(error);
      this.recorder.complete(op, definite ? "failed" : "indeterminate", undefined, String((error as Error).message ?? error).slice(0, 200));
      // A fresh channel for the next call: grpc-js would otherwise wait out its reconnect backoff after a restart.
      this.client.close();
      this.client = null;
      return false;
    }
  }

  private remember(op: Operation, result: OpResult): void {
    if (op.kind === "put" || (op.kind === "cas" && result.succeeded)) this.lastSeen.set(op.key, op.value!);
    else if ((op.kind === "read" || op.kind === "cas") && typeof result.value === "string") this.lastSeen.set(op.key, result.value);
  }
}

/** Sends one recorded operation and translates the answer into its result. */
export async function execute(client: ArmadaClient, options: Pick<WorkloadOptions, "table" | "keys" | "unsafeStaleReads">, op: Operation): Promise<OpResult> {
  const { table } = options;
  switch (op.kind) {
    case "put":
    case "append": {
      const put = await client.put(table, op.key, op.value!);
      return headerResult(put.header);
    }
    case "read": {
      const range = await client.range(table, op.key, { linearizable: !options.unsafeStaleReads });
      return { ...headerResult(range.header), value: range.kvs[0] ? range.kvs[0].value.toString("utf8") : null };
    }
    case "cas": {
      const key = Buffer.from(op.key);
      const txn = await client.txn(table, {
        compare: [{ key, value: Buffer.from(op.expected!) }], // result EQUAL, target VALUE (the defaults)
        success: [{ requestPut: { key, value: Buffer.from(op.value!) } }],
        // Reading the key when the compare fails makes a failed CAS an observation the checker can use.
        failure: [{ requestRange: { key } }],
      });
      if (txn.succeeded) return { ...headerResult(txn.header), succeeded: true };
      const kv = txn.responses[0]?.responseRange?.kvs?.[0];
      return { ...headerResult(txn.header), succeeded: false, value: kv ? Buffer.from(kv.value ?? []).toString("utf8") : null };
    }
    case "scan": {
      const range = await client.range(table, REGISTER_PREFIX, { rangeEnd: prefixEnd(REGISTER_PREFIX), linearizable: false });
      const values: Record<string, string | null> = {};
      for (const key of options.keys) values[key] = null;
      for (const kv of range.kvs) values[kv.key.toString("utf8")] = kv.value.toString("utf8");
      return { ...headerResult(range.header), values };
    }
  }
}

function headerResult(header: Header): OpResult {
  return { revision: header.revision, replicaId: header.replicaId };
}

function pickWeighted<T>(random: SeededRandom, weighted: readonly [T, number][]): T {
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  let roll = random.nextFloat() * total;
  for (const [item, weight] of weighted) {
    roll -= weight;
    if (roll < 0) return item;
  }
  return weighted[weighted.length - 1]![0];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
