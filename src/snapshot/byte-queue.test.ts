import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteQueue } from "./byte-queue.js";

test("ByteQueue reads pieces that straddle pushed chunks", () => {
  // Proves peek/read/skip give the same bytes whatever the chunking of the input.
  const queue = new ByteQueue();
  queue.push(Uint8Array.of(1, 2));
  queue.push(new Uint8Array(0));
  queue.push(Uint8Array.of(3));
  queue.push(Uint8Array.of(4, 5, 6));
  assert.equal(queue.length, 6);
  assert.equal(queue.peek(7), null);
  assert.deepEqual([...queue.peek(4)!], [1, 2, 3, 4]);
  assert.deepEqual([...queue.read(1)!], [1]);
  assert.deepEqual([...queue.read(3)!], [2, 3, 4]);
  assert.equal(queue.read(3), null, "a short read consumes nothing");
  assert.equal(queue.skip(10), 2);
  assert.equal(queue.length, 0);
  assert.deepEqual([...queue.read(0)!], []);
});
