/**
 * `armada backup` and `armada restore` as real processes against a real leader's Maintenance listener:
 * a round trip that brings back the backed-up contents in a new shard, the manifest format, and a
 * corrupted backup file refused before anything is restored.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArmadaClient } from "../client/index.js";
import { readCommandStream } from "../snapshot/index.js";
import { LeaderProcess, removeDir, runArmada, tempDir, TestCluster } from "../test-support/process.js";

let dataDir: string;
let backupDir: string;
let leader: LeaderProcess;
let client: ArmadaClient;

before(async () => {
  dataDir = tempDir();
  backupDir = tempDir("armada-backup-");
  leader = await LeaderProcess.start(dataDir);
  client = new ArmadaClient(leader.apiAddress, { timeoutMs: 10_000 });
});

after(async () => {
  client?.close();
  await leader?.stop("SIGKILL");
  removeDir(dataDir);
  removeDir(backupDir);
});

test("backup then restore brings the table back in a new shard; the manifest lists tables sorted with MD5s", async () => {
  // Proves the operator's round trip through the real CLI and the Maintenance listener (spec §11).
  const { id: originalId } = await client.createTable("users");
  await client.createTable("empty");
  for (let i = 0; i < 100; i++) await client.put("users", `user-${String(i).padStart(3, "0")}`, `value-${i}`);
  const backup = await runArmada(["backup", `--address=${leader.maintenanceAddress}`, `--dir=${backupDir}`]);
  assert.equal(backup.code, 0, backup.stderr);
  const manifest = JSON.parse(readFileSync(join(backupDir, "manifest.json"), "utf8")) as {
    cluster: string; started: string; finished: string; tables: { name: string; file_name: string; md5: string; size: number; index: number }[];
  };
  assert.deepEqual(manifest.tables.map((t) => t.name), ["empty", "users"]);
  assert.equal(manifest.cluster, "default");
  assert.ok(Date.parse(manifest.started) <= Date.parse(manifest.finished));
  const usersStatus = (await client.status()).tables["users"];
  assert.equal(manifest.tables[1]!.index, Number(usersStatus?.raftAppliedIndex), "the manifest records the view's applied index");
  assert.equal(manifest.tables[1]!.size, readFileSync(join(backupDir, "users.bak")).length);
  assert.equal(manifest.tables[0]!.md5, "d41d8cd98f00b204e9800998ecf8427e");
  const usersFile = readFileSync(join(backupDir, "users.bak"));
  assert.equal(manifest.tables[1]!.md5, createHash("md5").update(usersFile).digest("hex"));

  await client.deleteRange("users", "\0", { rangeEnd: "\0" });
  await client.put("users", "written-after-backup", "x");
  const restore = await runArmada(["restore", `--address=${leader.maintenanceAddress}`, `--dir=${backupDir}`]);
  assert.equal(restore.code, 0, restore.stderr);
  const restored = await client.range("users", "\0", { rangeEnd: "\0", linearizable: true });
  assert.equal(restored.count, 100);
  assert.equal(restored.kvs[42]?.value.toString(), "value-42");
  assert.equal((await client.range("users", "written-after-backup")).count, 0);
  const tables = await client.listTables();
  assert.ok(Number(tables.find((t) => t.name === "users")!.id) > Number(originalId), "restore uses a new, higher shard id");
});

test("corrupted, truncated or missing backup files and a broken manifest are refused before any table is restored", async () => {
  // Proves restore verifies every file first (spec §11.7 [FIX]) and leaves the cluster untouched.
  await client.put("users", "marker", "before");
  const manifestPath = join(backupDir, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { tables: { md5: string }[] };
  manifest.tables[1]!.md5 = "0".repeat(32);
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const restore = await runArmada(["restore", `--address=${leader.maintenanceAddress}`, `--dir=${backupDir}`]);
  assert.equal(restore.code, 1);
  assert.match(restore.stderr, /table 'users' file 'users.bak' corrupted \(checksum mismatch\)/);
  assert.equal((await client.range("users", "marker")).kvs[0]?.value.toString(), "before");

  // A truncated file, a missing file and a manifest that is not JSON are refused the same way.
  manifest.tables[1]!.md5 = createHash("md5").update(readFileSync(join(backupDir, "users.bak"))).digest("hex");
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const original = readFileSync(join(backupDir, "users.bak"));
  writeFileSync(join(backupDir, "users.bak"), original.subarray(0, original.length - 10));
  const truncated = await runArmada(["restore", `--address=${leader.maintenanceAddress}`, `--dir=${backupDir}`]);
  assert.equal(truncated.code, 1);
  assert.match(truncated.stderr, /checksum mismatch/);
  rmSync(join(backupDir, "users.bak"));
  const missing = await runArmada(["restore", `--address=${leader.maintenanceAddress}`, `--dir=${backupDir}`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such file or directory/);
  writeFileSync(manifestPath, "{ not json");
  const badManifest = await runArmada(["restore", `--address=${leader.maintenanceAddress}`, `--dir=${backupDir}`]);
  assert.equal(badManifest.code, 1);
  assert.match(badManifest.stderr, /manifest/i);
  assert.equal((await client.range("users", "marker")).kvs[0]?.value.toString(), "before", "the cluster is untouched");
});

test("a backup taken while writes run holds every key as of one index", async () => {
  // Proves the point-in-time view end to end: a writer appends increasing keys during the backup, and the
  // backup holds exactly a prefix of them (no gaps), as of the index the manifest records.
  await client.createTable("stream");
  const dir = tempDir("armada-backup-");
  let writing = true;
  let written = 0;
  const writer = (async () => {
    for (; writing; written++) await client.put("stream", `s${String(written).padStart(6, "0")}`, Buffer.alloc(2048, 1));
  })();
  while (written < 200) await new Promise((resolve) => setTimeout(resolve, 10));
  const backup = await runArmada(["backup", `--address=${leader.maintenanceAddress}`, `--dir=${dir}`]);
  writing = false;
  await writer;
  assert.equal(backup.code, 0, backup.stderr);
  const keys: string[] = [];
  for await (const command of readCommandStream(chunksOf(readFileSync(join(dir, "stream.bak"))))) keys.push(Buffer.from(command.kv!.key!).toString());
  assert.ok(keys.length >= 200 && keys.length <= written, `${keys.length} keys of ${written} written`);
  assert.deepEqual(keys, Array.from({ length: keys.length }, (_, i) => `s${String(i).padStart(6, "0")}`), "a gap-free prefix");
  removeDir(dir);
});

async function* chunksOf(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

test("with --maintenance.token set, a backup without the token is refused; with none set, a warning is logged", async () => {
  // Proves the token guard on a real listener (the CLI never sends a token over plaintext, so no token is sent).
  assert.match(leader.logs, /maintenance API has no token/);
  const guardedDir = tempDir();
  const guarded = await LeaderProcess.start(guardedDir, ["--maintenance.token=s3cret"]);
  const guardedClient = new ArmadaClient(guarded.apiAddress, { timeoutMs: 10_000 });
  try {
    await guardedClient.createTable("guarded");
    const refused = await runArmada(["backup", `--address=${guarded.maintenanceAddress}`, `--dir=${backupDir}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Request unauthenticated with bearer/);
    const plaintext = await runArmada(["backup", `--address=${guarded.maintenanceAddress}`, `--dir=${backupDir}`, "--token=s3cret"]);
    assert.equal(plaintext.code, 1);
    assert.match(plaintext.stderr, /token requires a TLS connection/);
  } finally {
    guardedClient.close();
    await guarded.stop("SIGKILL");
    removeDir(guardedDir);
  }
});

describe("on a 3-node cluster", () => {
  let cluster: TestCluster;
  const clients: ArmadaClient[] = [];
  let dir: string;

  before(async () => {
    cluster = await TestCluster.start(3);
    dir = tempDir("armada-backup-");
    for (let i = 0; i < 3; i++) clients.push(new ArmadaClient(cluster.apiAddress(i), { timeoutMs: 10_000 }));
  });

  after(async () => {
    clients.forEach((c) => c.close());
    await cluster?.destroy();
    removeDir(dir);
  });

  test("backup through one node → change → restore through another: every node reads exactly the backed-up data", async () => {
    // Proves the operator round trip on a real cluster, read linearizably from every node.
    for (;;) {
      try {
        await clients[0]!.createTable("orders");
        break;
      } catch (error) {
        if (!/UNAVAILABLE/.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const expected = Array.from({ length: 50 }, (_, i) => `order-${String(i).padStart(2, "0")}`);
    for (const [i, key] of expected.entries()) await clients[i % 3]!.put("orders", key, `v${i}`);
    const backup = await runArmada(["backup", `--address=${cluster.nodes[1]!.maintenanceAddress}`, `--dir=${dir}`], { timeoutMs: 60_000 });
    assert.equal(backup.code, 0, backup.stderr);
    await clients[2]!.deleteRange("orders", "order-1", { rangeEnd: "order-2" });
    await clients[0]!.put("orders", "order-new", "x");
    const restore = await runArmada(["restore", `--address=${cluster.nodes[2]!.maintenanceAddress}`, `--dir=${dir}`], { timeoutMs: 60_000 });
    assert.equal(restore.code, 0, restore.stderr);
    // Serializable (local) reads on every node after the restore returns: a node shows the old table until it
    // applies the switch and the whole restored table after it, never a partial one.
    const before = [...expected.filter((key) => !key.startsWith("order-1")), "order-new"].sort();
    for (const client of clients) {
      for (let attempt = 0; ; attempt++) {
        const local = (await client.range("orders", "\0", { rangeEnd: "\0" })).kvs.map((kv) => kv.key.toString());
        if (JSON.stringify(local) === JSON.stringify(expected)) break;
        assert.deepEqual(local, before, "a node shows either the old or the restored table");
        assert.ok(attempt < 100, "the node switched to the restored table");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
});
