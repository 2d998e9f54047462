/**
 * `npm run torture -- --minutes N --seed S [--nodes 3|5] [--out DIR] [--kinds a,b,...]`: one torture run;
 * exits 1 on a violation (details in DIR/violations.txt, history in DIR/history.json).
 * `node dist/faults/cli.js --check DIR/history.json` checks a recorded history again.
 */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkHistory } from "./checker/index.js";
import type { History } from "./history.js";
import { FAULT_KINDS, type FaultKind } from "./nemesis.js";
import { formatStats, runTorture } from "./torture.js";

const USAGE = `usage: npm run torture -- [--minutes N] [--seed S] [--nodes 3|5] [--out DIR] [--kinds ${FAULT_KINDS.join(",")}]
                            [--clients-per-node N] [--rtt 30ms] [--snapshot-entries 300] [--overlap (network and process faults at once)]
                            [--unsafe-stale-reads (a broken client, to see a violation)]
       node dist/faults/cli.js --check history.json`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "2" },
      seed: { type: "string" },
      nodes: { type: "string", default: "3" },
      out: { type: "string" },
      kinds: { type: "string" },
      "clients-per-node": { type: "string", default: "2" },
      rtt: { type: "string", default: "30ms" },
      check: { type: "string" },
      "unsafe-stale-reads": { type: "boolean", default: false },
      overlap: { type: "boolean", default: false },
      "snapshot-entries": { type: "string", default: "300" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.check) return recheck(values.check);

  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const nodes = Number(values.nodes);
  const minutes = Number(values.minutes);
  const kinds = values.kinds ? (values.kinds.split(",") as FaultKind[]) : [...FAULT_KINDS];
  const unknown = kinds.filter((k) => !FAULT_KINDS.includes(k));
  if (!Number.isInteger(seed) || !(nodes >= 1 && nodes <= 9) || !(minutes > 0) || unknown.length > 0) {
    console.error(unknown.length ? `unknown fault kinds: ${unknown.join(", ")}\n${USAGE}` : USAGE);
    return 2;
  }
  const outDir = values.out ?? join(tmpdir(), `armada-torture-seed-${seed}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const started = Date.now();
  const result = await runTorture({
    seed,
    nodes,
    durationMs: minutes * 60_000,
    outDir,
    kinds,
    clientsPerNode: Number(values["clients-per-node"]),
    unsafeStaleReads: values["unsafe-stale-reads"],
    overlap: values.overlap,
    raftArgs: [`--raft.rtt=${values.rtt}`, `--raft.snapshot-entries=${values["snapshot-entries"]}`],
    log: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
  });
  console.log(formatStats(result.stats));
  console.log(`output: ${result.outDir}`);
  if (result.error) console.log(`RUN ABORTED: ${result.error}`);
  if (!result.passed) {
    console.log(`FAILED (seed ${seed}): see ${result.outDir} (summary.txt, violations.txt)`);
    for (const violation of result.report.violations.slice(0, 5)) console.log(violation);
    return 1;
  }
  console.log(`passed (seed ${seed})`);
  return 0;
}

function recheck(file: string): number {
  const history = JSON.parse(readFileSync(file, "utf8")) as History;
  const report = checkHistory(history);
  for (const key of report.keys) console.log(`${key.key}: ${key.verdict} (${key.operations} operations)`);
  for (const violation of report.violations) console.log(violation);
  console.log(`violations: ${report.violations.length}`);
  return report.violations.length === 0 ? 0 : 1;
}

// Ctrl-C or a kill: exit through process.exit, so the cluster's exit hook kills the nodes and removes their data.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(3);
  },
);
