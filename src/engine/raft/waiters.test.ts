import assert from "node:assert/strict";
import { test } from "node:test";
import { TransientError } from "../errors.js";
import { ProposalWaiters, ResultUnknownError } from "./waiters.js";

test("a waiter resolves with its entry's result when the term matches", async () => {
  const waiters = new ProposalWaiters<string>();
  const waiting = waiters.wait(7, 2);
  waiters.applied(7, 2, () => "ok");
  assert.equal(await waiting, "ok");
});

test("an entry of another term at the waiter's index means the proposal was dropped", async () => {
  const waiters = new ProposalWaiters<string>();
  const waiting = waiters.wait(7, 2);
  waiters.applied(7, 3, () => "someone else's");
  await assert.rejects(waiting, (error: Error) => error instanceof TransientError && !(error instanceof ResultUnknownError) && /not applied/.test(error.message));
});

test("an entry applied without a result here (it came with a snapshot stream) is an unknown outcome, never a value", async () => {
  const waiters = new ProposalWaiters<string | undefined>();
  const waiting = waiters.wait(7, 2);
  waiters.applied(7, 2, null);
  await assert.rejects(waiting, ResultUnknownError);
  // The same for a waiter that arrives after the apply (a forwarded proposal's answer came late).
  waiters.applied(8, 2, null);
  await assert.rejects(waiters.wait(8, 2), ResultUnknownError);
});

test("a late waiter gets the result kept for it", async () => {
  const waiters = new ProposalWaiters<string>();
  waiters.applied(9, 4, () => "late");
  assert.equal(await waiters.wait(9, 4), "late");
});

test("an installed snapshot fails the waiters it covers at once and leaves later ones waiting", async () => {
  const waiters = new ProposalWaiters<string>();
  const covered = waiters.wait(10, 1);
  const later = waiters.wait(12, 1);
  waiters.applied(11, 1, () => "kept before the snapshot");
  waiters.snapshotInstalled(11);
  await assert.rejects(covered, ResultUnknownError);
  // A waiter for an index the snapshot covers, arriving afterwards, is told at once too.
  await assert.rejects(waiters.wait(11, 1), ResultUnknownError);
  waiters.applied(12, 1, () => "after");
  assert.equal(await later, "after");
});
