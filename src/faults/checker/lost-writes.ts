/**
 * The durability audit: every acknowledged write-once key must be present, with its value, in the final
 * linearizable read taken after every fault was healed; and nothing may be present that no client wrote.
 */
import { describeOp, type History } from "../history.js";

export interface AuditReport {
  /** Acknowledged appends checked. */
  readonly acknowledged: number;
  readonly violations: string[];
}

export function checkLostWrites(history: History): AuditReport {
  const appends = history.ops.filter((op) => op.kind === "append");
  const acknowledged = appends.filter((op) => op.outcome === "ok");
  const final = history.final?.appended;
  if (!final) return { acknowledged: acknowledged.length, violations: ["the final audit read never succeeded, so durability could not be checked"] };
  const violations: string[] = [];
  for (const op of acknowledged) {
    const found = final[op.key];
    if (found === undefined) violations.push(`lost write: ${describeOp(op)} was acknowledged but the key is missing at the end`);
    else if (found !== op.value) violations.push(`corrupted write: ${describeOp(op)} was acknowledged but the key holds ${found} at the end`);
  }
  const attempted = new Map(appends.filter((op) => op.outcome !== "failed").map((op) => [op.key, op.value!]));
  for (const [key, value] of Object.entries(final)) {
    if (attempted.get(key) !== value) violations.push(`phantom write: ${key} = ${value} is present at the end but no client wrote it`);
  }
  return { acknowledged: acknowledged.length, violations };
}
