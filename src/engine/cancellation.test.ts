import { test } from "node:test";
import assert from "node:assert/strict";
import { Canceller, toAbortSignal } from "./cancellation.js";
import { ProposalWaiters } from "./raft/waiters.js";
import { AbortedError } from "./errors.js";

test("Canceller: fires once, in order, with its reason; removed listeners and late listeners do not run", () => {
  const canceller = new Canceller();
  const calls: string[] = [];
  const removed = () => calls.push("removed");
  canceller.addEventListener("abort", () => calls.push("first"));
  canceller.addEventListener("abort", removed);
  canceller.addEventListener("abort", () => calls.push("last"));
  canceller.removeEventListener("abort", removed);
  assert.equal(canceller.aborted, false);
  const reason = new AbortedError("deadline");
  canceller.abort(reason);
  canceller.abort(new AbortedError("cancelled"));
  canceller.addEventListener("abort", () => calls.push("late"));
  assert.deepEqual(calls, ["first", "last"]);
  assert.equal(canceller.aborted, true);
  assert.equal(canceller.reason, reason);
});

test("toAbortSignal: an AbortSignal as is; a Canceller's signal follows it, also when already fired", () => {
  const native = new AbortController().signal;
  assert.equal(toAbortSignal(native), native);
  const canceller = new Canceller();
  const signal = toAbortSignal(canceller);
  assert.equal(signal.aborted, false);
  canceller.abort(new AbortedError("cancelled"));
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as Error).message, canceller.reason instanceof Error ? canceller.reason.message : "");
  const fired = new Canceller();
  fired.abort("gone");
  assert.equal(toAbortSignal(fired).reason, "gone");
});

test("a waiter given a Canceller is rejected with its reason when it fires, and not after it resolved", async () => {
  const waiters = new ProposalWaiters<string>();
  const canceller = new Canceller();
  const waiting = waiters.wait(5, 1, canceller);
  canceller.abort(new AbortedError("deadline"));
  await assert.rejects(waiting, (error: unknown) => error instanceof AbortedError && /deadline/.test(error.message));
  const second = new Canceller();
  const done = waiters.wait(6, 1, second);
  waiters.applied(6, 1, () => "ok");
  assert.equal(await done, "ok");
  second.abort(new AbortedError("cancelled"));
});
