import { test } from "node:test";
import assert from "node:assert/strict";
import { LogCache } from "./log-cache.js";

test("the cache keeps the most recent entries of each shard and serves repeats without decoding again", () => {
  const cache = new LogCache(3);
  let made = 0;
  const make = (entry: { index: number }) => { made++; return { leaderIndex: entry.index }; };
  for (const index of [1, 2, 3, 4]) cache.command(10001, { index, command: new Uint8Array(0) }, make);
  assert.equal(made, 4);
  assert.equal(cache.size(10001), 3);
  cache.command(10001, { index: 4, command: new Uint8Array(0) }, make);
  assert.equal(made, 4, "a cached entry is not made again");
  cache.command(10001, { index: 1, command: new Uint8Array(0) }, make);
  assert.equal(made, 5, "the oldest entry was dropped");
  cache.command(10002, { index: 1, command: new Uint8Array(0) }, make);
  assert.equal(made, 6, "shards do not share entries");
});

test("a cache of size 0 makes every command", () => {
  const cache = new LogCache(0);
  let made = 0;
  for (let i = 0; i < 3; i++) cache.command(1, { index: 1, command: new Uint8Array(0) }, () => { made++; return {}; });
  assert.equal(made, 3);
  assert.equal(cache.size(1), 0);
});
