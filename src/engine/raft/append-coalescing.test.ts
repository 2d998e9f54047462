import { test } from "node:test";
import assert from "node:assert/strict";
import type { AppendMessage, Entry, Message } from "../../raft/index.js";
import { coalesceAppends } from "./append-coalescing.js";

const entry = (index: number, term = 2, bytes = 1): Entry => ({ index, term, type: "normal", data: new Uint8Array(bytes) });
const append = (to: number, index: number, entries: Entry[], commit: number, logTerm = 2): AppendMessage => ({
  type: "append", from: 1, to, term: 2, index, logTerm, entries, commit,
});

test("appends that continue each other become one message per peer, with the highest commit", () => {
  // Proves the common case under write load: one entry per proposal, interleaved over two followers.
  const messages: Message[] = [append(2, 10, [entry(11)], 9), append(3, 10, [entry(11)], 9), append(2, 11, [entry(12)], 10), append(3, 11, [entry(12)], 10)];
  const out = coalesceAppends(messages);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], append(2, 10, [entry(11), entry(12)], 10));
  assert.deepEqual(out[1], append(3, 10, [entry(11), entry(12)], 10));
});

test("an empty append carrying the commit index folds into the run it continues", () => {
  const out = coalesceAppends([append(2, 10, [entry(11)], 9), append(2, 11, [], 11), append(2, 11, [entry(12)], 11)]);
  assert.deepEqual(out, [append(2, 10, [entry(11), entry(12)], 11)]);
});

test("appends that do not continue each other, or are split by another message, stay apart", () => {
  // A gap (a resend after a rejection), another term, or a heartbeat in between keep their order.
  const gap = [append(2, 10, [entry(11)], 9), append(2, 5, [entry(6)], 9)];
  assert.deepEqual(coalesceAppends(gap), gap);
  const otherTerm = [append(2, 10, [entry(11)], 9), append(2, 11, [entry(12)], 9, 1)];
  assert.deepEqual(coalesceAppends(otherTerm), otherTerm);
  const heartbeat: Message = { type: "heartbeat", from: 1, to: 2, term: 2, commit: 9 };
  const split = [append(2, 10, [entry(11)], 9), heartbeat, append(2, 11, [entry(12)], 9)];
  assert.deepEqual(coalesceAppends(split), split);
});

test("merging stops at the byte limit of a message", () => {
  const messages = [append(2, 10, [entry(11, 2, 600)], 9), append(2, 11, [entry(12, 2, 600)], 9), append(2, 12, [entry(13, 2, 10)], 9)];
  const out = coalesceAppends(messages, 1000);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], messages[0]);
  assert.deepEqual(out[1], append(2, 11, [entry(12, 2, 600), entry(13, 2, 10)], 9));
});
