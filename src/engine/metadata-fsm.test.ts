import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeMetadataCommand, MetadataStateMachine } from "./metadata-fsm.js";

const create = (name: string) => encodeMetadataCommand({ op: "create", name });
const remove = (name: string) => encodeMetadataCommand({ op: "delete", name });

test("shard ids start at 10001, are allocated at apply time, never reused, and survive reopening", async () => {
  // Proves the id sequence of spec §6.2 and that a duplicate create fails identically on every replica.
  const dir = mkdtempSync(join(tmpdir(), "armada-catalogue-"));
  try {
    let catalogue = MetadataStateMachine.open(dir);
    const results = await catalogue.apply([
      { index: 1, data: create("a") },
      { index: 2, data: create("b") },
      { index: 3, data: create("a") },
      { index: 4, data: null },
      { index: 5, data: remove("b") },
    ]);
    assert.deepEqual(results.get(1), { ok: true, table: { name: "a", shardId: 10001 } });
    assert.deepEqual(results.get(2), { ok: true, table: { name: "b", shardId: 10002 } });
    assert.deepEqual(results.get(3), { ok: false, error: "exists" });
    assert.deepEqual(results.get(5), { ok: true, table: { name: "b", shardId: 10002 } });
    assert.equal(catalogue.appliedIndex, 5);
    await catalogue.close();
    catalogue = MetadataStateMachine.open(dir);
    assert.deepEqual(catalogue.list(), [{ name: "a", shardId: 10001 }]);
    const later = await catalogue.apply([{ index: 5, data: create("z") }, { index: 6, data: create("c") }, { index: 7, data: remove("nope") }]);
    assert.equal(later.has(5), false, "an entry at or below the applied index is skipped");
    assert.deepEqual(later.get(6), { ok: true, table: { name: "c", shardId: 10003 } });
    assert.deepEqual(later.get(7), { ok: false, error: "not found" });
    await catalogue.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a snapshot of the catalogue installs elsewhere with the same tables, sequence and index", async () => {
  // Proves the inline snapshot used by the metadata group.
  const dirs = [mkdtempSync(join(tmpdir(), "armada-catalogue-")), mkdtempSync(join(tmpdir(), "armada-catalogue-"))];
  try {
    const source = MetadataStateMachine.open(dirs[0]!);
    await source.apply([{ index: 1, data: create("x") }, { index: 2, data: create("y") }, { index: 3, data: remove("x") }]);
    const target = MetadataStateMachine.open(dirs[1]!);
    await target.apply([{ index: 1, data: create("stale") }]);
    await target.install(source.state());
    assert.deepEqual(target.list(), [{ name: "y", shardId: 10002 }]);
    assert.equal(target.appliedIndex, 3);
    const next = await target.apply([{ index: 4, data: create("w") }]);
    assert.deepEqual(next.get(4), { ok: true, table: { name: "w", shardId: 10003 } });
    await source.close();
    await target.close();
  } finally {
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  }
});

test("restores allocate a fresh shard, switch the table to it only if still pending, and survive reopening and snapshots", async () => {
  // Proves the restore-begin/finish/abort commands of spec §11.3 are decided at apply time, identically everywhere.
  const dirs = [mkdtempSync(join(tmpdir(), "armada-catalogue-")), mkdtempSync(join(tmpdir(), "armada-catalogue-"))];
  const command = (op: "restore-begin" | "restore-finish" | "restore-abort", name: string, shardId = 0) =>
    encodeMetadataCommand(op === "restore-begin" ? { op, name } : { op, name, shardId });
  try {
    let catalogue = MetadataStateMachine.open(dirs[0]!);
    const results = await catalogue.apply([
      { index: 1, data: create("a") },
      { index: 2, data: command("restore-begin", "a") },
      { index: 3, data: command("restore-begin", "new") },
      { index: 4, data: command("restore-begin", "a") },
      { index: 5, data: command("restore-finish", "a", 10002) },
    ]);
    assert.deepEqual(results.get(2), { ok: true, table: { name: "a", shardId: 10002 } });
    assert.deepEqual(results.get(4), { ok: true, table: { name: "a", shardId: 10004 } });
    assert.deepEqual(results.get(5), { ok: false, error: "not found" }, "a superseded restore cannot finish");
    assert.deepEqual(catalogue.list(), [{ name: "a", shardId: 10001 }]);
    await catalogue.close();
    catalogue = MetadataStateMachine.open(dirs[0]!);
    assert.deepEqual(catalogue.pendingRestores(), [{ name: "new", shardId: 10003 }, { name: "a", shardId: 10004 }]);
    const target = MetadataStateMachine.open(dirs[1]!);
    await target.install(catalogue.state());
    assert.deepEqual(target.pendingRestores(), catalogue.pendingRestores());
    const later = await target.apply([
      { index: 6, data: command("restore-finish", "a", 10004) },
      { index: 7, data: command("restore-finish", "new", 10003) },
      { index: 8, data: command("restore-begin", "a") },
      { index: 9, data: command("restore-abort", "a", 10005) },
    ]);
    assert.deepEqual(later.get(9), { ok: true, table: { name: "a", shardId: 10005 } });
    assert.deepEqual(target.list(), [{ name: "a", shardId: 10004 }, { name: "new", shardId: 10003 }]);
    assert.deepEqual(target.pendingRestores(), []);
    await catalogue.close();
    await target.close();
  } finally {
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  }
});
