// Proves the reconnection backoff doubles from its base to its cap, draws each delay from the upper half of the
// current ceiling (jitter), and starts over after reset().
import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff } from "./backoff.js";

test("delays double up to the cap with jitter in [ceiling/2, ceiling], and reset starts over", () => {
  const low = new Backoff(50, 2_000, () => 0);
  assert.deepEqual(Array.from({ length: 8 }, () => low.nextDelayMs()), [25, 50, 100, 200, 400, 800, 1000, 1000]);
  const high = new Backoff(50, 2_000, () => 0.999_999);
  assert.deepEqual(Array.from({ length: 8 }, () => high.nextDelayMs()), [50, 100, 200, 400, 800, 1600, 2000, 2000]);
  high.reset();
  assert.equal(high.nextDelayMs(), 50);
});
