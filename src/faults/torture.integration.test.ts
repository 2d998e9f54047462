/**
 * The short, bounded torture runs of the default test suite: a 3-node cluster through every fault kind, and a
 * 5-node cluster through partitions, kills and pauses, each checked for linearizability, lost writes,
 * backwards serializable reads and convergence. Longer runs: `npm run torture -- --minutes 20`.
 *
 * The seed changes with every run (printed, and kept with the history on failure), so CI explores new
 * schedules; set TORTURE_SEED to replay one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FAULT_KINDS } from "./nemesis.js";
import { formatStats, runTorture, type TortureOptions } from "./torture.js";

const baseSeed = process.env["TORTURE_SEED"] ? Number(process.env["TORTURE_SEED"]) : Math.floor(Math.random() * 1_000_000);

async function tortureRun(options: Omit<TortureOptions, "outDir" | "log">): Promise<void> {
  const outDir = join(tmpdir(), `armada-torture-test-${options.seed}-${options.nodes}`);
  const result = await runTorture({ ...options, outDir, log: (line) => console.log(`[${options.nodes} nodes] ${line}`) });
  console.log(formatStats(result.stats));
  assert.equal(result.error, undefined, `seed ${options.seed}: the run aborted (output kept in ${outDir})`);
  assert.ok(result.passed, `seed ${options.seed}: violations (history and explanation kept in ${outDir}):\n${result.report.violations.join("\n")}`);
  // The run did real work: acknowledged writes, successful CAS, and a fault of every requested kind.
  assert.ok(result.stats.acknowledgedAppends > 20, "writes were acknowledged");
  assert.ok(result.stats.operations["cas-succeeded"]!.ok > 0, "some compare-and-swap succeeded");
  for (const kind of options.kinds ?? FAULT_KINDS) assert.ok((result.stats.faults[kind] ?? 0) > 0, `fault ${kind} was injected`);
  rmSync(outDir, { recursive: true, force: true });
}

test("3 nodes: every fault kind, checked histories", { timeout: 120_000 }, async () => {
  // Eight kinds of about 1 s with short quiet spells: one round, plus restarts (slow on a loaded machine).
  await tortureRun({ seed: baseSeed, nodes: 3, durationMs: 20_000, faultMs: [800, 1800], quietMs: [300, 700], coverAllKinds: true });
});

test("5 nodes: partitions, kills and pauses, checked histories", { timeout: 90_000 }, async () => {
  await tortureRun({
    seed: baseSeed + 1,
    nodes: 5,
    durationMs: 8_000,
    coverAllKinds: true,
    clientsPerNode: 1,
    kinds: ["partition-split", "kill", "pause"],
    faultMs: [1500, 2500],
    quietMs: [300, 800],
  });
});
