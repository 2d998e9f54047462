/**
 * The short follower-mode fault run of the default test suite (about a minute): replication link cuts,
 * follower and leader nodes killed and paused, with read-your-writes, monotonic reads, no lost writes and
 * convergence checked. Longer runs: `npm run torture:followers -- --minutes 20`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, tempDir } from "../test-support/process.js";
import { runFollowerTorture } from "./follower-torture.js";

/**
 * Lines of a failed run's node logs worth reading first: warnings, errors and the replication's own (not
 * the startup warning every test node gives, a maintenance API without a token).
 */
const TELLING_LINE = /"level":"(warn|error)"|replicat|lease/;
const STARTUP_NOISE = /maintenance API has no token/;
const TELLING_LINES_PER_NODE = 40;

test("leader + follower clusters under replication-link cuts, kills and pauses: no violation", async (t) => {
  const seed = Number(process.env.ARMADA_TORTURE_SEED ?? 4242);
  const outDir = tempDir("armada-follower-torture-");
  try {
    const result = await runFollowerTorture({ seed, durationMs: 25_000, outDir });
    t.diagnostic(`faults: ${JSON.stringify(result.faults)}; operations: ${JSON.stringify(result.operations)}`);
    if (result.violations.length > 0) {
      // CI keeps only this output: show what each node said near the end, or the failure cannot be studied.
      for (const file of readdirSync(outDir).filter((name) => name.endsWith(".log")).sort()) {
        const telling = readFileSync(join(outDir, file), "utf8").split("\n").filter((line) => TELLING_LINE.test(line) && !STARTUP_NOISE.test(line));
        // One diagnostic per line: the test runner escapes the line breaks inside one.
        for (const line of telling.slice(-TELLING_LINES_PER_NODE)) t.diagnostic(`${file}: ${line}`);
      }
    }
    assert.deepEqual(result.violations, [], `seed ${seed}`);
  } finally {
    removeDir(outDir);
  }
});
