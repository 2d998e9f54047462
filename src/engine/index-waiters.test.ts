import { test } from "node:test";
import assert from "node:assert/strict";
import { IndexWaiters } from "./index-waiters.js";

test("waiters are released once the index reaches their target, in order", async () => {
  const waiters = new IndexWaiters(5);
  await waiters.wait(5); // already there
  const released: number[] = [];
  const all = [9, 7, 12].map((target) => waiters.wait(target).then(() => released.push(target)));
  assert.equal(waiters.pending, 3);
  waiters.advance(8);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(released, [7]);
  waiters.advance(12);
  await Promise.all(all);
  assert.deepEqual(released, [7, 9, 12]);
  assert.equal(waiters.pending, 0);
});

test("an aborted waiter is rejected with the signal's reason and removed", async () => {
  const waiters = new IndexWaiters(0);
  const controller = new AbortController();
  const waiting = waiters.wait(3, controller.signal);
  controller.abort(new Error("deadline passed"));
  await assert.rejects(waiting, /deadline passed/);
  assert.equal(waiters.pending, 0);
});

test("failAll rejects pending and later waiters", async () => {
  const waiters = new IndexWaiters(0);
  const waiting = waiters.wait(3);
  waiters.failAll(new Error("table stopped"));
  await assert.rejects(waiting, /table stopped/);
  await assert.rejects(waiters.wait(1), /table stopped/);
});
