import { test } from "node:test";
import assert from "node:assert/strict";
import { StatusError, Code } from "../api/status.js";
import { StreamWorkers, streamWorkersLimit } from "./stream-workers.js";

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test("the flag maps to a bound: 0 is CPUs + 1, negative is none", () => {
  assert.equal(streamWorkersLimit(0, 4), 5);
  assert.equal(streamWorkersLimit(3, 4), 3);
  assert.equal(streamWorkersLimit(-1, 4), undefined);
});

test("a stream past the bound waits for a running one to end, then runs", async () => {
  // Proves queueing (FIFO) rather than failure while a worker frees in time.
  const workers = new StreamWorkers(1, 5000);
  const first = gate();
  const order: string[] = [];
  const running = workers.run(new AbortController().signal, async () => { order.push("first"); await first.promise; });
  const queued = workers.run(new AbortController().signal, async () => { order.push("second"); });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(workers.counts(), { running: 1, waiting: 1 });
  first.open();
  await Promise.all([running, queued]);
  assert.deepEqual(order, ["first", "second"]);
  assert.deepEqual(workers.counts(), { running: 0, waiting: 0 });
});

test("a stream that waits too long gets RESOURCE_EXHAUSTED; a cancelled one leaves the queue", async () => {
  // Proves the bounded wait and that neither failure leaks a worker slot.
  const workers = new StreamWorkers(1, 50);
  const first = gate();
  const running = workers.run(new AbortController().signal, () => first.promise);
  await assert.rejects(workers.run(new AbortController().signal, async () => undefined), (error: StatusError) => error.code === Code.RESOURCE_EXHAUSTED && /stream workers are busy/.test(error.message));
  const cancel = new AbortController();
  const cancelled = workers.run(cancel.signal, async () => assert.fail("must not run"));
  cancel.abort(new Error("client went away"));
  await assert.rejects(cancelled, /client went away/);
  assert.deepEqual(workers.counts(), { running: 1, waiting: 0 });
  first.open();
  await running;
  await workers.run(new AbortController().signal, async () => undefined);
  assert.deepEqual(workers.counts(), { running: 0, waiting: 0 });
});
