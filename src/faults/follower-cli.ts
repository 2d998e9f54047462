/**
 * `npm run torture:followers -- --minutes N --seed S [--out DIR]`: one follower-mode fault run (see
 * follower-torture.ts); prints faults, operations and violations, exits 1 on a violation.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runFollowerTorture } from "./follower-torture.js";

const { values } = parseArgs({ options: { minutes: { type: "string", default: "2" }, seed: { type: "string" }, out: { type: "string" } } });
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const minutes = Number(values.minutes);
if (!Number.isInteger(seed) || !(minutes > 0)) {
  console.error("usage: npm run torture:followers -- [--minutes N] [--seed S] [--out DIR]");
  process.exit(2);
}
const outDir = values.out ?? join(tmpdir(), `armada-follower-torture-${seed}`);
const result = await runFollowerTorture({ seed, durationMs: minutes * 60_000, outDir, log: (line) => console.log(`[${new Date().toISOString()}] ${line}`) });
console.log(`faults injected: ${JSON.stringify(result.faults)}`);
console.log(`operations: ${JSON.stringify(result.operations)}`);
console.log(result.passed ? `PASS (seed ${seed})` : `FAIL (seed ${seed}):\n${result.violations.join("\n")}`);
console.log(`results in ${outDir}`);
process.exit(result.passed ? 0 : 1);
