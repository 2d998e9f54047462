/**
 * Serializable reads may be stale, but one node's view must never go back in time: if scan A on a node completed
 * before scan B on the same node started, B must not observe an older state than A.
 *
 * Reads report no revision today (the header's revision is 0 for reads), so the state a scan observed is bounded
 * from the values it saw, using the revisions the acknowledged writes reported:
 * - lower bound: the largest revision of a write whose value the scan saw (the node had applied at least that);
 * - upper bound: for each key, the smallest revision of an acknowledged write to that key that came after the
 *   write whose value was seen (the node had not applied it yet, or it would have seen it).
 * B went back if lower(A) ≥ upper(B). When the header does carry a revision (> 0) it is compared directly too.
 *
 * The comparison spans restarts of the node: a kill -9 loses no page cache, so a restarted node's state
 * machine must not come back older than what it already served.
 */
import { describeOp, type History, type Operation } from "../history.js";

export interface MonotonicReport {
  readonly scans: number;
  readonly violations: string[];
}

interface Bounds { readonly op: Operation; readonly lower: number; readonly upper: number; readonly revision: number }

export function checkMonotonicReads(history: History): MonotonicReport {
  const writeRevision = new Map<string, number>(); // value → revision of the acknowledged write that wrote it
  const revisionsByKey = new Map<string, number[]>(); // key → sorted revisions of acknowledged writes
  for (const op of history.ops) {
    const wrote = (op.kind === "put" || (op.kind === "cas" && op.result?.succeeded)) && op.outcome === "ok";
    if (!wrote || !op.result?.revision) continue;
    writeRevision.set(op.value!, op.result.revision);
    const list = revisionsByKey.get(op.key) ?? [];
    list.push(op.result.revision);
    revisionsByKey.set(op.key, list);
  }
  for (const list of revisionsByKey.values()) list.sort((a, b) => a - b);

  const scans = history.ops.filter((op) => op.kind === "scan" && op.outcome === "ok");
  const byNode = new Map<number, Bounds[]>();
  for (const op of scans) {
    const list = byNode.get(op.node) ?? [];
    list.push(bounds(op, writeRevision, revisionsByKey));
    byNode.set(op.node, list);
  }

  const violations: string[] = [];
  for (const [node, list] of byNode) {
    // Sweep B in invocation order; A ranges over scans that completed before B was invoked.
    const byCompletion = [...list].sort((a, b) => a.op.completeMs - b.op.completeMs);
    const byInvoke = [...list].sort((a, b) => a.op.invokeMs - b.op.invokeMs);
    let maxLower: Bounds | null = null;
    let maxRevision: Bounds | null = null;
    let i = 0;
    for (const b of byInvoke) {
      while (i < byCompletion.length && byCompletion[i]!.op.completeMs < b.op.invokeMs) {
        const a = byCompletion[i++]!;
        if (!maxLower || a.lower > maxLower.lower) maxLower = a;
        if (!maxRevision || a.revision > maxRevision.revision) maxRevision = a;
      }
      if (maxLower && maxLower.lower >= b.upper) {
        violations.push(
          `node ${node} went back in time: ${describeOp(maxLower.op)} saw a state at revision ≥ ${maxLower.lower}, ` +
            `then ${describeOp(b.op)} saw a state older than revision ${b.upper}`,
        );
      }
      if (maxRevision && b.revision > 0 && maxRevision.revision > b.revision) {
        violations.push(`node ${node} reported revision ${b.revision} in ${describeOp(b.op)} after ${maxRevision.revision} in ${describeOp(maxRevision.op)}`);
      }
    }
  }
  return { scans: scans.length, violations };
}

function bounds(op: Operation, writeRevision: Map<string, number>, revisionsByKey: Map<string, number[]>): Bounds {
  let lower = 0;
  let upper = Infinity;
  for (const [key, value] of Object.entries(op.result?.values ?? {})) {
    const later = revisionsByKey.get(key) ?? [];
    if (value === null) {
      // Nothing written to the key yet: the node had applied none of its writes.
      if (later.length > 0) upper = Math.min(upper, later[0]!);
      continue;
    }
    const revision = writeRevision.get(value);
    if (revision === undefined) continue; // written by an operation of unknown outcome: no revision known
    lower = Math.max(lower, revision);
    const next = later.find((r) => r > revision);
    if (next !== undefined) upper = Math.min(upper, next);
  }
  return { op, lower, upper, revision: op.result?.revision ?? 0 };
}
