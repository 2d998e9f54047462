/**
 * Hand-written and generated histories for the checkers' tests.
 */
import { SeededRandom } from "../../raft/prng.js";
import type { History, OpKind, OpResult, Operation, Outcome } from "../history.js";

export const KEYS = ["r0", "r1"];

export function emptyHistory(keys: readonly string[] = KEYS): History {
  return { meta: { seed: 0, nodes: 3, registerKeys: keys, appendPrefix: "a/", startedAt: "test" }, ops: [], faults: [] };
}

let nextId = 0;

export interface OpSpec {
  kind: OpKind;
  key?: string;
  value?: string;
  expected?: string;
  at: [number, number];
  outcome?: Outcome;
  result?: Partial<OpResult>;
  node?: number;
  client?: number;
}

/** Builds one operation; `at` is [invoke, complete] in ms. */
export function op(spec: OpSpec): Operation {
  const base: Operation = {
    id: nextId++,
    client: spec.client ?? 1,
    node: spec.node ?? 1,
    incarnation: 1,
    kind: spec.kind,
    key: spec.key ?? "r0",
    invokeMs: spec.at[0],
    completeMs: spec.at[1],
    outcome: spec.outcome ?? "ok",
    ...(spec.value !== undefined ? { value: spec.value } : {}),
    ...(spec.expected !== undefined ? { expected: spec.expected } : {}),
  };
  if (base.outcome === "ok") base.result = { revision: 0, ...spec.result };
  else base.error = "UNAVAILABLE: test";
  return base;
}

export const put = (value: string, at: [number, number], extra: Partial<OpSpec> = {}) => op({ kind: "put", value, at, ...extra });
export const read = (value: string | null, at: [number, number], extra: Partial<OpSpec> = {}) =>
  op({ kind: "read", at, result: { value }, ...extra });

/**
 * A random history that is linearizable by construction: each client runs operations one after another, each
 * takes effect at a random instant inside its interval, and results are computed in that order. Some writes end
 * indeterminate; half of those took effect, half did not.
 */
export function linearizableHistory(seed: number, options: { clients: number; opsPerClient: number; keys: readonly string[] }): History {
  const random = new SeededRandom(seed);
  interface Planned { op: Operation; point: number; applies: boolean }
  const planned: Planned[] = [];
  let unique = 0;
  for (let client = 0; client < options.clients; client++) {
    let t = random.nextFloat() * 5;
    for (let i = 0; i < options.opsPerClient; i++) {
      const start = t + random.nextFloat() * 3;
      const end = start + 0.5 + random.nextFloat() * 20;
      const key = random.pick(options.keys);
      const roll = random.nextFloat();
      const kind: OpKind = roll < 0.35 ? "put" : roll < 0.7 ? "read" : "cas";
      const indeterminate = kind !== "read" && random.chance(0.1);
      const spec: OpSpec = { kind, key, at: [start, end], client, outcome: indeterminate ? "indeterminate" : "ok" };
      if (kind !== "read") spec.value = `v${unique++}`;
      if (kind === "cas") spec.expected = `v${Math.max(0, unique - 1 - random.nextInt(4))}`;
      const built = op(spec);
      planned.push({ op: built, point: start + random.nextFloat() * (end - start), applies: !indeterminate || random.chance(0.5) });
      t = end;
    }
  }
  planned.sort((a, b) => a.point - b.point);
  const state = new Map<string, string | null>();
  for (const p of planned) {
    const current = state.get(p.op.key) ?? null;
    const o = p.op;
    if (o.kind === "read") o.result = { value: current, revision: 0 };
    else if (o.kind === "put") {
      if (p.applies) state.set(o.key, o.value!);
    } else if (o.kind === "cas") {
      const holds = current === o.expected;
      if (holds && p.applies) state.set(o.key, o.value!);
      if (o.outcome === "ok") o.result = holds ? { succeeded: true, revision: 0 } : { succeeded: false, value: current, revision: 0 };
    }
  }
  const history = emptyHistory(options.keys);
  history.ops.push(...planned.map((p) => p.op).sort((a, b) => a.invokeMs - b.invokeMs));
  history.final = { appended: {}, converged: true, convergenceDetail: "" };
  return history;
}
