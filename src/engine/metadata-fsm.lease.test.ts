import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeMetadataCommand, MetadataStateMachine, type MetadataCommand } from "./metadata-fsm.js";

async function withCatalogue(run: (apply: (command: MetadataCommand) => Promise<unknown>, catalogue: () => MetadataStateMachine, reopen: () => Promise<void>) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "armada-lease-"));
  let catalogue = MetadataStateMachine.open(dir);
  let index = 0;
  const apply = async (command: MetadataCommand) => (await catalogue.apply([{ index: ++index, data: encodeMetadataCommand(command) }])).get(index);
  try {
    await run(apply, () => catalogue, async () => {
      await catalogue.close();
      catalogue = MetadataStateMachine.open(dir);
    });
  } finally {
    await catalogue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a lease goes to the first node, is renewed by it, refused to others until it expires, and survives a restart", async () => {
  await withCatalogue(async (apply, catalogue, reopen) => {
    await apply({ op: "create", name: "t" });
    assert.deepEqual(await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 1000, durationMs: 400 }), { ok: true, lease: { name: "t", nodeId: 1, expiresAtMs: 1400 } });
    assert.deepEqual(await apply({ op: "lease-acquire", name: "t", nodeId: 2, nowMs: 1399, durationMs: 400 }), { ok: false, error: "leased" });
    assert.equal(((await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 1300, durationMs: 400 })) as { ok: boolean }).ok, true);
    await reopen();
    assert.deepEqual(catalogue().lease("t"), { name: "t", nodeId: 1, expiresAtMs: 1700 });
    assert.deepEqual(await apply({ op: "lease-acquire", name: "t", nodeId: 2, nowMs: 1700, durationMs: 400 }), { ok: true, lease: { name: "t", nodeId: 2, expiresAtMs: 2100 } });
  });
});

test("only the holder releases a lease; deleting the table drops it; unknown tables cannot be leased", async () => {
  await withCatalogue(async (apply, catalogue) => {
    await apply({ op: "create", name: "t" });
    await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 0, durationMs: 1000 });
    await apply({ op: "lease-release", name: "t", nodeId: 2 });
    assert.equal(catalogue().lease("t")?.nodeId, 1);
    await apply({ op: "lease-release", name: "t", nodeId: 1 });
    assert.equal(catalogue().lease("t"), undefined);
    await apply({ op: "lease-acquire", name: "t", nodeId: 3, nowMs: 0, durationMs: 1000 });
    await apply({ op: "delete", name: "t" });
    assert.equal(catalogue().lease("t"), undefined);
    assert.deepEqual(await apply({ op: "lease-acquire", name: "gone", nodeId: 1, nowMs: 0, durationMs: 1000 }), { ok: false, error: "not found" });
    assert.deepEqual(catalogue().state().leases, []);
  });
});
