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
    assert.deepEqual(await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 1000, durationMs: 400 }), { ok: true, lease: { name: "t", nodeId: 1, expiresAtMs: 1400, acquiredAtMs: 1000 } });
    assert.deepEqual(await apply({ op: "lease-acquire", name: "t", nodeId: 2, nowMs: 1399, durationMs: 400 }), { ok: false, error: "leased" });
    assert.equal(((await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 1300, durationMs: 400 })) as { ok: boolean }).ok, true);
    await reopen();
    // A renewal keeps the tenure's start; a takeover starts a new tenure.
    assert.deepEqual(catalogue().lease("t"), { name: "t", nodeId: 1, expiresAtMs: 1700, acquiredAtMs: 1000 });
    assert.deepEqual(await apply({ op: "lease-acquire", name: "t", nodeId: 2, nowMs: 1700, durationMs: 400 }), { ok: true, lease: { name: "t", nodeId: 2, expiresAtMs: 2100, acquiredAtMs: 1700 } });
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

test("a restore fenced by a lease tenure switches the table only while that tenure lasts", async () => {
  // A follower node recovering a table from a snapshot must not switch the table after another node took the
  // lease over and pulled newer data into it: that took a follower cluster's table back in time (torture run,
  // seed 20261203: every follower node read a counter of 11261, then 11233).
  await withCatalogue(async (apply) => {
    await apply({ op: "create", name: "t" });
    await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 1000, durationMs: 400 });
    const fence = { nodeId: 1, acquiredAtMs: 1000 };
    const begin = async () => ((await apply({ op: "restore-begin", name: "t" })) as { table: { shardId: number } }).table.shardId;

    // The tenure lasts through renewals, and even past expiry while nobody takes the lease over.
    let shardId = await begin();
    await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 1300, durationMs: 400 });
    assert.deepEqual(await apply({ op: "restore-finish", name: "t", shardId, fence }), { ok: true, table: { name: "t", shardId } });

    // Another node took the lease over meanwhile: refused, and the pending shard stays for the abort.
    shardId = await begin();
    await apply({ op: "lease-acquire", name: "t", nodeId: 2, nowMs: 2000, durationMs: 400 });
    assert.deepEqual(await apply({ op: "restore-finish", name: "t", shardId, fence }), { ok: false, error: "leased" });
    assert.equal(((await apply({ op: "restore-abort", name: "t", shardId })) as { ok: boolean }).ok, true);

    // Taken back by node 1 later: a new tenure, so a restore begun under the old one is still refused.
    shardId = await begin();
    await apply({ op: "lease-acquire", name: "t", nodeId: 1, nowMs: 3000, durationMs: 400 });
    assert.deepEqual(await apply({ op: "restore-finish", name: "t", shardId, fence }), { ok: false, error: "leased" });
    assert.deepEqual(await apply({ op: "restore-finish", name: "t", shardId, fence: { nodeId: 1, acquiredAtMs: 3000 } }), { ok: true, table: { name: "t", shardId } });

    // Released: no tenure at all. An unfenced restore (an operator's) is not affected by leases.
    shardId = await begin();
    await apply({ op: "lease-release", name: "t", nodeId: 1 });
    assert.deepEqual(await apply({ op: "restore-finish", name: "t", shardId, fence: { nodeId: 1, acquiredAtMs: 3000 } }), { ok: false, error: "leased" });
    assert.deepEqual(await apply({ op: "restore-finish", name: "t", shardId }), { ok: true, table: { name: "t", shardId } });
  });
});

test("a malformed fence is refused when the command is decoded", async () => {
  const { decodeMetadataCommand } = await import("./metadata-fsm.js");
  const encoded = (fence: unknown) => Buffer.from(JSON.stringify({ op: "restore-finish", name: "t", shardId: 10002, fence }));
  assert.throws(() => decodeMetadataCommand(encoded({ nodeId: "1", acquiredAtMs: 5 })), /invalid metadata command/);
  assert.throws(() => decodeMetadataCommand(encoded({ nodeId: 1 })), /invalid metadata command/);
  assert.deepEqual(decodeMetadataCommand(encoded({ nodeId: 1, acquiredAtMs: 5 })), { op: "restore-finish", name: "t", shardId: 10002, fence: { nodeId: 1, acquiredAtMs: 5 } });
});
