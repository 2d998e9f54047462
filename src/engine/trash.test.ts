import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DELETED_TABLE_GRACE_MS, moveToTrash, purgeTrash } from "./trash.js";

test("deleted table data is kept for the grace period, then destroyed", () => {
  // Proves the 5-minute grace of spec §6.3: a purge before it keeps the data, one after removes it.
  const root = mkdtempSync(join(tmpdir(), "armada-trash-"));
  try {
    const table = join(root, "10001");
    mkdirSync(table);
    writeFileSync(join(table, "data.mdb"), "x");
    moveToTrash(root, table, 10001);
    assert.equal(existsSync(table), false);
    const [trashed] = readdirSync(join(root, "trash"));
    assert.match(trashed!, /^10001-\d+$/);
    const deletedAt = Number(trashed!.split("-")[1]);
    assert.deepEqual(purgeTrash(root, deletedAt + DELETED_TABLE_GRACE_MS - 1), []);
    assert.equal(readdirSync(join(root, "trash")).length, 1);
    assert.equal(purgeTrash(root, deletedAt + DELETED_TABLE_GRACE_MS).length, 1);
    assert.equal(readdirSync(join(root, "trash")).length, 0);
    moveToTrash(root, join(root, "missing"), 10002);
    assert.deepEqual(purgeTrash(root), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
