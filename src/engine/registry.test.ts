import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TableRegistry } from "./registry.js";

test("shard ids start at 10001, are never reused and survive reopening", async () => {
  // Proves the id sequence of spec §6.2: deleting the newest table does not free its id.
  const dir = mkdtempSync(join(tmpdir(), "armada-registry-"));
  try {
    let registry = TableRegistry.open(dir);
    assert.equal((await registry.create("a"))?.shardId, 10001);
    assert.equal((await registry.create("b"))?.shardId, 10002);
    assert.equal(await registry.create("a"), undefined);
    assert.equal((await registry.remove("b"))?.shardId, 10002);
    await registry.close();
    registry = TableRegistry.open(dir);
    assert.deepEqual(registry.list(), [{ name: "a", shardId: 10001 }]);
    assert.equal((await registry.create("c"))?.shardId, 10003);
    await registry.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("concurrent creates of one name: exactly one wins", async () => {
  // Proves the create-if-absent condition under concurrency.
  const dir = mkdtempSync(join(tmpdir(), "armada-registry-"));
  try {
    const registry = TableRegistry.open(dir);
    const results = await Promise.all([registry.create("x"), registry.create("x"), registry.create("y")]);
    assert.equal(results.filter((r) => r?.name === "x").length, 1);
    assert.deepEqual(registry.list().map((t) => [t.name, t.shardId]), [["x", 10001], ["y", 10002]]);
    await registry.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
