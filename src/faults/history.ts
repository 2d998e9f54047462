/**
 * The recorded history of a torture run: every client operation with its invocation and completion times and
 * its result, and every fault the nemesis injected. The checkers read only this, so a history written to a file
 * can be checked again later (`node dist/faults/cli.js --check <file>`).
 */

/**
 * What a client did.
 * - `put`: blind write of a unique value to a register key.
 * - `read`: linearizable single-key Range of a register key.
 * - `cas`: Txn "if key == expected then put value else range key" on a register key.
 * - `scan`: serializable Range over every register key on the client's node (one consistent local view).
 * - `append`: Put of a write-once key (never overwritten), for the lost-write audit.
 */
export type OpKind = "put" | "read" | "cas" | "scan" | "append";

/**
 * How an operation ended.
 * - `ok`: acknowledged; `result` holds what the server answered.
 * - `failed`: certainly had no effect (a read that failed, or a write the server refused before proposing it).
 * - `indeterminate`: a write whose outcome is unknown (timeout, UNAVAILABLE, connection lost): it may or may not
 *   have taken effect, now or at any later time.
 */
export type Outcome = "ok" | "failed" | "indeterminate";

export interface OpResult {
  /** `read`: the value seen (null = key absent). `cas`: the value the failure branch read (null when succeeded). */
  value?: string | null;
  /** `cas`: whether the compare held. */
  succeeded?: boolean;
  /** `scan`: register key → value seen (absent keys map to null). */
  values?: Record<string, string | null>;
  /** The response header's revision (0 when the server does not report one, as for reads today). */
  revision: number;
  /** The header's replica id: which node answered. */
  replicaId?: number;
}

export interface Operation {
  /** Unique within the history, in invocation order. */
  readonly id: number;
  /** Client number; the final audit uses negative numbers. */
  readonly client: number;
  /** Node id the client sent the call to. */
  readonly node: number;
  /** Incarnation (start count) of that node when the call was sent; serializable reads are compared within one node. */
  readonly incarnation: number;
  readonly kind: OpKind;
  readonly key: string;
  /** `put`/`append`: the value written; `cas`: the value written if the compare holds. */
  readonly value?: string;
  /** `cas`: the value compared against. */
  readonly expected?: string;
  /** Milliseconds since the start of the run, taken just before the call was sent. */
  readonly invokeMs: number;
  /** Taken just after the answer (or error) arrived. */
  completeMs: number;
  outcome: Outcome;
  result?: OpResult;
  /** The error text of a failed or indeterminate call. */
  error?: string;
}

/** A fault the nemesis injected (start) or removed (heal). */
export interface FaultEvent {
  readonly atMs: number;
  readonly kind: string;
  readonly phase: "start" | "heal";
  readonly detail: string;
}

export interface HistoryMeta {
  readonly seed: number;
  readonly nodes: number;
  /** Register keys (linearizability-checked) used by the workload. */
  readonly registerKeys: readonly string[];
  /** The prefix of write-once keys. */
  readonly appendPrefix: string;
  readonly startedAt: string;
}

/** The final audit: what each node held at the end, after every fault was healed. */
export interface FinalState {
  /** Write-once keys present, read linearizably after healing (key → value); null if the audit read failed. */
  readonly appended: Record<string, string> | null;
  /** Whether every node converged to the same data (serializable full scans equal). */
  readonly converged: boolean;
  readonly convergenceDetail: string;
}

/** A node process that exited without being killed: always a bug (the harness restarts it and goes on). */
export interface NodeCrash {
  readonly node: number;
  readonly atMs: number;
  readonly exit: string;
  /** The process's last output lines. */
  readonly output: string;
}

export interface History {
  readonly meta: HistoryMeta;
  readonly ops: Operation[];
  readonly faults: FaultEvent[];
  crashes?: NodeCrash[];
  final?: FinalState;
}

/** Records operations as clients invoke and complete them. */
export class HistoryRecorder {
  private nextId = 0;
  private readonly started = performance.now();
  readonly history: History;

  constructor(meta: HistoryMeta) {
    this.history = { meta, ops: [], faults: [] };
  }

  /** Milliseconds since the run started. */
  now(): number {
    return performance.now() - this.started;
  }

  /** Records an invocation; the caller completes the returned operation with `complete`. */
  invoke(fields: Omit<Operation, "id" | "invokeMs" | "completeMs" | "outcome">): Operation {
    const op: Operation = { ...fields, id: this.nextId++, invokeMs: this.now(), completeMs: Number.NaN, outcome: "indeterminate" };
    this.history.ops.push(op);
    return op;
  }

  complete(op: Operation, outcome: Outcome, result?: OpResult, error?: string): void {
    op.completeMs = this.now();
    op.outcome = outcome;
    if (result) op.result = result;
    if (error !== undefined) op.error = error;
  }

  fault(kind: string, phase: "start" | "heal", detail: string): void {
    this.history.faults.push({ atMs: this.now(), kind, phase, detail });
  }
}

/** Whether an operation writes (and so may take effect even when it failed ambiguously). */
export function isWrite(kind: OpKind): boolean {
  return kind === "put" || kind === "cas" || kind === "append";
}

/** A one-line rendering of an operation for explanations. */
export function describeOp(op: Operation): string {
  const time = `[${op.invokeMs.toFixed(1)}, ${Number.isNaN(op.completeMs) ? "∞" : op.completeMs.toFixed(1)}] ms`;
  const who = `client ${op.client} → node ${op.node}`;
  let call: string;
  switch (op.kind) {
    case "put": call = `put(${op.key}, ${op.value})`; break;
    case "append": call = `append(${op.key}, ${op.value})`; break;
    case "read": call = `read(${op.key})`; break;
    case "scan": call = `scan(serializable)`; break;
    case "cas": call = `cas(${op.key}, ${op.expected} → ${op.value})`; break;
  }
  let outcome: string;
  if (op.outcome !== "ok") outcome = `${op.outcome}${op.error ? ` (${op.error})` : ""}`;
  else if (op.kind === "read") outcome = `ok = ${fmt(op.result?.value)}`;
  else if (op.kind === "cas") outcome = op.result?.succeeded ? `ok, succeeded, rev ${op.result.revision}` : `ok, failed, saw ${fmt(op.result?.value)}`;
  else if (op.kind === "scan") outcome = `ok = ${JSON.stringify(op.result?.values ?? {})}`;
  else outcome = `ok, rev ${op.result?.revision}`;
  return `#${op.id} ${call} ${outcome} ${time} (${who})`;
}

function fmt(value: string | null | undefined): string {
  return value === null || value === undefined ? "∅" : value;
}
