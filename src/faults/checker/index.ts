/**
 * Every check of a recorded history in one call: linearizability of the register keys, durability of the
 * write-once keys, monotonic serializable reads per node, and convergence of the nodes at the end.
 */
import type { History } from "../history.js";
import { checkRegisters, type KeyReport } from "./register.js";
import { checkLostWrites } from "./lost-writes.js";
import { checkMonotonicReads } from "./monotonic.js";
import type { CheckOptions } from "./linearizability.js";

export interface CheckReport {
  /** Per-key linearizability verdicts ("histories checked"). */
  readonly keys: KeyReport[];
  readonly acknowledgedAppends: number;
  readonly scans: number;
  /** One entry per violation, each a short explanation (several lines for linearizability). */
  readonly violations: string[];
  /** Keys the search gave up on: not violations, but not proven either. */
  readonly inconclusive: string[];
}

export function checkHistory(history: History, options: CheckOptions = {}): CheckReport {
  const keys = checkRegisters(history, options);
  const lost = checkLostWrites(history);
  const monotonic = checkMonotonicReads(history);
  const violations: string[] = [];
  for (const key of keys) if (key.verdict === "illegal") violations.push(`non-linearizable history:\n${key.explanation.join("\n")}`);
  violations.push(...lost.violations, ...monotonic.violations);
  if (history.final && !history.final.converged) violations.push(`nodes did not converge: ${history.final.convergenceDetail}`);
  for (const crash of history.crashes ?? []) {
    violations.push(`node ${crash.node} exited by itself (${crash.exit}) at ${crash.atMs.toFixed(0)} ms; its last output:\n${crash.output}`);
  }
  return {
    keys,
    acknowledgedAppends: lost.acknowledged,
    scans: monotonic.scans,
    violations,
    inconclusive: keys.filter((k) => k.verdict === "unknown").map((k) => `${k.key}: ${k.explanation.join(" ")}`),
  };
}
