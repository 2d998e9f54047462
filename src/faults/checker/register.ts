/**
 * Linearizability of the register keys: the history is partitioned by key (operations on different keys
 * commute, so each key's sub-history is checked alone) and each key is a register with compare-and-swap.
 *
 * Before the search, each key's operations are prepared so that unknown outcomes do not blow the search up.
 * Every value is written at most once (values are unique per write), so an indeterminate write can only matter
 * if its value is seen:
 * - an indeterminate write whose value no determinate operation observes (read, successful CAS compare, failed
 *   CAS read-back), and no possibly-effective indeterminate CAS expects, can be dropped: removing it from any
 *   linearization changes no observation (see `prepareKey`);
 * - an indeterminate write whose value a determinate operation observed must take effect before that operation
 *   completes, so its return is bounded by the earliest such completion instead of +∞.
 */
import { describeOp, type History, type Operation } from "../history.js";
import { checkLinearizable, type CheckOptions, type Model, type TimedOp } from "./linearizability.js";

/** A register's value; null = the key does not exist. */
export type RegisterState = string | null;

export const registerModel: Model<RegisterState, Operation> = {
  init: null,
  step(state, op) {
    switch (op.kind) {
      case "put":
        return { ok: true, state: op.value! };
      case "read":
        return { ok: (op.result?.value ?? null) === state, state };
      case "cas":
        if (op.outcome !== "ok") {
          // Unknown outcome: if it took effect, its compare held.
          return state === op.expected! ? { ok: true, state: op.value! } : { ok: false, state };
        }
        if (op.result!.succeeded) return state === op.expected! ? { ok: true, state: op.value! } : { ok: false, state };
        // The failure branch read the key in the same state the compare saw.
        return { ok: state !== op.expected && state === (op.result!.value ?? null), state };
      default:
        return { ok: false, state };
    }
  },
  key: (state) => (state === null ? "\u0000" : state),
  describeState: (state) => (state === null ? "∅" : state),
};

/** The value an operation observed, if it is determinate and observes one. */
function observed(op: Operation): RegisterState | undefined {
  if (op.outcome !== "ok") return undefined;
  if (op.kind === "read") return op.result?.value ?? null;
  if (op.kind === "cas") return op.result!.succeeded ? op.expected! : (op.result!.value ?? null);
  return undefined;
}

/**
 * Turns one key's operations into timed operations for the search.
 *
 * Why dropping unobserved indeterminate writes is sound: take a linearization that includes such a write w of
 * value v. While v is the register's value, no kept operation observes it (by construction nothing determinate
 * reads v or expects v, and no kept CAS expects v), so every kept operation in that interval is a blind put, or
 * an indeterminate CAS that did not take effect (and may as well be left out). Removing w therefore leaves every
 * kept operation's observation unchanged.
 */
export function prepareKey(ops: readonly Operation[]): TimedOp<Operation>[] {
  const relevant = ops.filter((op) => op.kind === "read" || op.kind === "put" || op.kind === "cas");
  const determinate = relevant.filter((op) => op.outcome === "ok");
  const unknown = relevant.filter((op) => op.outcome === "indeterminate" && op.kind !== "read");

  // Values that must have been written: observed by determinate operations, then closed under "a kept
  // indeterminate CAS writing a needed value needs its expected value too".
  const needed = new Set<string>();
  for (const op of determinate) {
    const value = observed(op);
    if (value !== undefined && value !== null) needed.add(value);
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const op of unknown) {
      if (op.kind === "cas" && needed.has(op.value!) && !needed.has(op.expected!)) {
        needed.add(op.expected!);
        changed = true;
      }
    }
  }
  // Earliest completion of a determinate observer of each value: the write must precede it.
  const firstObserver = new Map<string, number>();
  for (const op of determinate) {
    const value = observed(op);
    if (value === undefined || value === null) continue;
    firstObserver.set(value, Math.min(firstObserver.get(value) ?? Infinity, op.completeMs));
  }

  const timed: TimedOp<Operation>[] = determinate.map((op) => ({ op, call: op.invokeMs, ret: op.completeMs }));
  for (const op of unknown) {
    if (!needed.has(op.value!)) continue;
    timed.push({ op, call: op.invokeMs, ret: firstObserver.get(op.value!) ?? Infinity });
  }
  return timed;
}

export interface KeyReport {
  readonly key: string;
  readonly verdict: "ok" | "illegal" | "unknown";
  readonly operations: number;
  /** A minimal explanation for `illegal` (and why for `unknown`). */
  readonly explanation: string[];
}

/** Checks every register key of the history. */
export function checkRegisters(history: History, options: CheckOptions = {}): KeyReport[] {
  const byKey = new Map<string, Operation[]>();
  for (const key of history.meta.registerKeys) byKey.set(key, []);
  for (const op of history.ops) byKey.get(op.key)?.push(op);
  const reports: KeyReport[] = [];
  for (const [key, ops] of byKey) reports.push(checkKey(key, ops, options));
  return reports;
}

export function checkKey(key: string, ops: readonly Operation[], options: CheckOptions = {}): KeyReport {
  const timed = prepareKey(ops);
  const orphan = orphanRead(ops);
  if (orphan) {
    return { key, verdict: "illegal", operations: timed.length, explanation: [`${describeOp(orphan)} observed a value that no operation ever wrote`] };
  }
  const result = checkLinearizable(registerModel, timed, options);
  if (result.verdict === "ok") return { key, verdict: "ok", operations: timed.length, explanation: [] };
  if (result.verdict === "unknown") {
    return { key, verdict: "unknown", operations: timed.length, explanation: [`search gave up after ${result.steps} steps`] };
  }
  const explanation: string[] = [];
  const tail = result.longest.slice(-8);
  explanation.push(`key ${key}: no linearization exists. The longest linearization found has ${result.longest.length} operations; its last ${tail.length}:`);
  for (const { op, after } of tail) explanation.push(`  ${describeOp(op)}  ⇒ ${after}`);
  if (result.blockedAt) {
    explanation.push(`It cannot get past the completion of:`);
    explanation.push(`  ${describeOp(result.blockedAt)}`);
    explanation.push(`because in state ${tail.length ? tail[tail.length - 1]!.after : "∅"} none of the operations invoked before then can be linearized next:`);
    for (const op of [result.blockedAt, ...result.pendingAtBlock.filter((o) => o !== result.blockedAt)].slice(0, 12)) explanation.push(`  ${describeOp(op)}`);
  }
  const hint = result.blockedAt ? staleHint(ops, result.blockedAt) : null;
  if (hint) explanation.push(hint);
  for (const op of ops) {
    // A CAS whose compare failed but whose read-back is its own new value: it took effect and was then evaluated
    // again, i.e. the server applied one request twice.
    if (op.kind === "cas" && op.outcome === "ok" && !op.result!.succeeded && op.result!.value === op.value) {
      explanation.push(`Applied twice: ${describeOp(op)} reports its compare failed, yet the key holds the value this very CAS writes.`);
    }
  }
  return { key, verdict: "illegal", operations: timed.length, explanation };
}

/**
 * The plainest reading of a blocked observation, when there is one: the value it saw had been overwritten by a
 * write that began after the observed write completed and itself completed before the observation began.
 */
function staleHint(ops: readonly Operation[], blocked: Operation): string | null {
  const value = observed(blocked);
  if (value === undefined || value === null) return null;
  const writer = ops.find((op) => (op.kind === "put" || op.kind === "cas") && op.value === value);
  if (!writer || writer.outcome !== "ok") return null;
  const overwrite = ops.find(
    (op) =>
      (op.kind === "put" || (op.kind === "cas" && op.result?.succeeded)) && op.outcome === "ok" && op !== writer &&
      op.invokeMs > writer.completeMs && op.completeMs < blocked.invokeMs,
  );
  if (!overwrite) return null;
  return `In short: #${blocked.id} observed ${value}, written by #${writer.id} (done at ${writer.completeMs.toFixed(1)} ms), but #${overwrite.id} overwrote it (${overwrite.invokeMs.toFixed(1)}–${overwrite.completeMs.toFixed(1)} ms) before #${blocked.id} began at ${blocked.invokeMs.toFixed(1)} ms: a stale observation.`;
}

/** A determinate operation that observed a value nobody wrote (the plainest kind of violation). */
function orphanRead(ops: readonly Operation[]): Operation | undefined {
  const written = new Set<string>();
  for (const op of ops) if ((op.kind === "put" || op.kind === "cas") && op.outcome !== "failed") written.add(op.value!);
  return ops.find((op) => {
    const value = observed(op);
    return value !== undefined && value !== null && !written.has(value);
  });
}
