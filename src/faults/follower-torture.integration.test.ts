/**
 * The short follower-mode fault run of the default test suite (about a minute): replication link cuts,
 * follower and leader nodes killed and paused, with read-your-writes, monotonic reads, no lost writes and
 * convergence checked. Longer runs: `npm run torture:followers -- --minutes 20`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runFollowerTorture } from "./follower-torture.js";

test("leader + follower clusters under replication-link cuts, kills and pauses: no violation", async (t) => {
  const seed = Number(process.env.ARMADA_TORTURE_SEED ?? 4242);
  const result = await runFollowerTorture({ seed, durationMs: 25_000 });
  t.diagnostic(`faults: ${JSON.stringify(result.faults)}; operations: ${JSON.stringify(result.operations)}`);
  assert.deepEqual(result.violations, [], `seed ${seed}`);
});
