import { test } from "node:test";
import assert from "node:assert/strict";
import { PollSpeed } from "./speed.js";

test("the poll speed moves one step at a time between the base interval and 1/256 of it", () => {
  const speed = new PollSpeed(1000);
  assert.equal(speed.intervalMs, 1000);
  speed.slower();
  assert.equal(speed.intervalMs, 1000);
  const seen = [];
  for (let i = 0; i < 6; i++) {
    speed.faster();
    seen.push(speed.intervalMs);
  }
  assert.deepEqual(seen, [500, 250, 62.5, 1000 / 256, 1000 / 256, 1000 / 256]);
  speed.slower();
  assert.equal(speed.intervalMs, 62.5);
});
