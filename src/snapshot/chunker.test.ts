import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { SNAPSHOT_CHUNK_BYTES_MAX, chunkBytes } from "./chunker.js";

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const piece of source) out.push(piece);
  return out;
}

test("chunkBytes coalesces and splits into full pieces of at most maxBytes", async () => {
  // Proves every piece but the last is exactly maxBytes and the concatenation is unchanged.
  const inputs = [randomBytes(3), randomBytes(10), randomBytes(1), randomBytes(25), randomBytes(0), randomBytes(4)];
  const pieces = await collect(chunkBytes(inputs, 8));
  assert.deepEqual(pieces.map((p) => p.length), [8, 8, 8, 8, 8, 3]);
  assert.deepEqual(Buffer.concat(pieces), Buffer.concat(inputs));
});

test("chunkBytes yields nothing for an empty stream and uses 1 MiB by default", async () => {
  // Proves the empty case and the SnapshotChunk default (≤ 1 MiB, spec §9.4).
  assert.deepEqual(await collect(chunkBytes([])), []);
  const big = randomBytes(SNAPSHOT_CHUNK_BYTES_MAX * 2 + 5);
  const pieces = await collect(chunkBytes([big]));
  assert.deepEqual(pieces.map((p) => p.length), [SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_CHUNK_BYTES_MAX, 5]);
  assert.deepEqual(Buffer.concat(pieces), big);
});

test("chunkBytes refuses a non-positive size", async () => {
  // Proves a bad bound is an error rather than an endless loop.
  await assert.rejects(collect(chunkBytes([randomBytes(1)], 0)), RangeError);
});
