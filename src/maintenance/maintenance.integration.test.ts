/**
 * The maintenance server and the backup/restore tools over real gRPC connections on 127.0.0.1:0, against
 * an in-process three-node RaftEngine cluster (in-memory Raft logs, real LMDB tables).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeIdentity } from "../api/cluster.js";
import { RaftEngine } from "../engine/raft/raft-engine.js";
import { InProcessNetwork, MemoryLogStore } from "../engine/raft/testkit.js";
import { pb } from "../proto/index.js";
import { listen, shutdown } from "../server/listen.js";
import { runBackup } from "../cli/backup.js";
import { runRestore } from "../cli/restore.js";
import { createMaintenanceServer, type MaintenanceServer } from "./server.js";

const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";
const dirs: string[] = [];
const quiet = { info() {}, warn() {}, error() {} };
let engines: RaftEngine[] = [];
let open: MaintenanceServer;
let guarded: MaintenanceServer;
let address = "";
let guardedAddress = "";

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function identity(nodeId: number): NodeIdentity {
  return {
    nodeId, nodeName: `n${nodeId}`, clusterName: "test", raftAddress: "", advertiseAddress: "", version: "test",
    renderedConfig: () => ({}), members: () => [],
  };
}

before(async () => {
  const network = new InProcessNetwork();
  const voters = [1, 2, 3];
  engines = voters.map((nodeId) => {
    const dir = tempDir(`armada-maintenance-${nodeId}-`);
    const engine = new RaftEngine({
      nodeId, voters, stateMachineDir: join(dir, "sm"), metadataDir: join(dir, "meta"), rttMs: 10, electionTicks: 10,
      heartbeatTicks: 1, snapshotEntries: 0, compactionOverhead: 5, maxInMemoryLogBytes: 64 * 1024, log: new MemoryLogStore(),
      network: network.port(nodeId), logger: quiet, onFatal: (error) => { throw error; },
    });
    network.attach(nodeId, engine);
    return engine;
  });
  await Promise.all(engines.map((engine) => engine.start()));
  const options = { maxInMemoryLogBytes: 64 * 1024, onUnexpectedError: (method: string, error: unknown) => console.error(method, error) };
  open = createMaintenanceServer(engines[0]!, identity(1), { ...options, token: "" });
  guarded = createMaintenanceServer(engines[0]!, identity(1), { ...options, token: "s3cret" });
  address = await listen(open.server, "http://127.0.0.1:0");
  guardedAddress = await listen(guarded.server, "http://127.0.0.1:0");
});

after(async () => {
  await Promise.all([shutdown(open.server, 100), shutdown(guarded.server, 100)]);
  await Promise.all(engines.map((engine) => engine.close()));
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

/** Captured output of one tool run. */
function capture() {
  const out = { stdout: "", stderr: "" };
  return { out, output: { stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } } };
}

function toolValues(dir: string, extra: Record<string, string | boolean> = {}) {
  return { address, dir, ca: "", token: "", json: false, "ignore-status-errors": false, ...extra };
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function createEverywhere(name: string): Promise<void> {
  await engines[0]!.createTable(name);
  await eventually(() => engines.every((engine) => { try { engine.table(name); return true; } catch { return false; } }));
}

async function put(name: string, key: string, value: string): Promise<void> {
  await engines[0]!.table(name).propose({ table: Buffer.from(name), type: pb.Command.CommandType.PUT, kv: { key: Buffer.from(key), value: Buffer.from(value) } });
}

/** Every key and value of table `name` as node `engine` sees it, after a linearizable barrier. */
async function contents(engine: RaftEngine, name: string): Promise<Record<string, string>> {
  const table = engine.table(name);
  await table.readIndex();
  const result = table.stateMachine.range({ key: Buffer.alloc(0), rangeEnd: Buffer.from([0]) });
  return Object.fromEntries((result.kvs ?? []).map((kv) => [Buffer.from(kv.key!).toString(), Buffer.from(kv.value!).toString()]));
}

function rawCall(target: string, path: string, request: Uint8Array, authorization?: string): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(target.replace("http://", ""), grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set("authorization", authorization);
  return new Promise((resolve) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(request), metadata, (error) => { client.close(); resolve(error); }),
  );
}

/** Sends `messages` on a raw Restore call and returns its status. */
function rawRestore(messages: object[], authorization?: string, target = address): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(target.replace("http://", ""), grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set("authorization", authorization);
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest("/maintenance.v1.Maintenance/Restore", (b: Buffer) => b, (b: Buffer) => b, metadata, (error) => {
      client.close();
      resolve(error);
    });
    for (const message of messages) call.write(Buffer.from(pb.RestoreMessage.encode(message).finish()));
    call.end();
  });
}

test("a backup of a cluster without tables writes a manifest with tables: null", async () => {
  // Proves §11.5's reference manifest shape and the exact log lines of a successful run.
  const dir = tempDir("armada-backup-none-");
  const { out, output } = capture();
  assert.equal(await runBackup(toolValues(dir), output), 0, out.stderr);
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Record<string, unknown>;
  assert.equal(manifest.tables, null);
  assert.match(String(manifest.started), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d$/);
  assert.equal(out.stdout, "starting backup\ntables backed up, writing manifest\nbackup complete\n");
  assert.deepEqual(readdirSync(dir), ["manifest.json"]);
});

test("backup → change data → restore gives back the backup's contents on every node, in a new shard", async () => {
  // Proves name order, the empty-table MD5, MD5s that match the files, and the Raft restore path of §11.3.
  await createEverywhere("b");
  await createEverywhere("a");
  for (let i = 0; i < 200; i++) await put("b", `key-${String(i).padStart(3, "0")}`, "v".repeat(1000));
  const dir = tempDir("armada-backup-two-");
  const { out, output } = capture();
  assert.equal(await runBackup(toolValues(dir, { json: true }), output), 0, out.stderr);
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { tables: { name: string; file_name: string; md5: string }[] };
  assert.deepEqual(manifest.tables.map((table) => table.name), ["a", "b"]);
  assert.equal(manifest.tables[0]!.md5, EMPTY_MD5);
  assert.equal(readFileSync(join(dir, "a.bak")).length, 0);
  assert.ok(out.stdout.split("\n").filter(Boolean).every((line) => (JSON.parse(line) as { level: string }).level === "info"));

  const before = await contents(engines[0]!, "b");
  const oldShard = engines[0]!.table("b").info.shardId;
  await put("b", "key-000", "changed");
  await put("b", "extra", "gone after restore");
  await put("a", "extra", "gone after restore");
  const restored = capture();
  assert.equal(await runRestore(toolValues(dir), restored.output), 0, restored.out.stderr);
  assert.match(restored.out.stdout, /^manifest loaded\ngoing to restore a, b\ntable 'a' checksum valid\ntable 'b' checksum valid\ntable 'a' stream started\n/);
  assert.match(restored.out.stdout, /table 'b' streamed\ntable 'b' restored\n$/);
  for (const engine of engines) {
    await eventually(() => { try { return engine.table("b").info.shardId > oldShard; } catch { return false; } });
    await eventually(async () => JSON.stringify(await contents(engine, "b")) === JSON.stringify(before));
    assert.deepEqual(await contents(engine, "a"), {});
  }
});

test("restore refuses a corrupted or missing file before touching any table", async () => {
  // Proves the [FIX] of §11.7: every file is checked first, with the exact checksum text.
  await createEverywhere("c");
  await put("c", "k", "original");
  const dir = tempDir("armada-backup-corrupt-");
  assert.equal(await runBackup(toolValues(dir), capture().output), 0);
  await put("c", "k", "after backup");
  const bak = join(dir, "c.bak");
  const original = readFileSync(bak);
  writeFileSync(bak, Buffer.concat([original.subarray(0, original.length - 1), Buffer.from([original.at(-1)! ^ 1])]));
  const corrupted = capture();
  assert.equal(await runRestore(toolValues(dir), corrupted.output), 1);
  assert.match(corrupted.out.stderr, /table 'c' file 'c.bak' corrupted \(checksum mismatch\)/);
  rmSync(bak);
  const missing = capture();
  assert.equal(await runRestore(toolValues(dir), missing.output), 1);
  assert.match(missing.out.stderr, /restore failed: .*no such file or directory/);
  assert.deepEqual(await contents(engines[0]!, "c"), { k: "after backup" });
});

test("a backup that misses its deadline fails with exit 1 and leaves no file behind", async () => {
  // Proves DEADLINE_EXCEEDED handling and the [FIX] of §11.6: temporary files are removed on failure.
  const dir = tempDir("armada-backup-deadline-");
  const { out, output } = capture();
  assert.equal(await runBackup(toolValues(dir), output, { timeoutMs: 0.001 }), 1);
  assert.match(out.stderr, /^backup failed: DEADLINE_EXCEEDED/);
  assert.deepEqual(readdirSync(dir), []);
});

test("Backup of an unknown table is NOT_FOUND, Reset is UNIMPLEMENTED, Restore checks its stream", async () => {
  // Proves the [FIX]ed codes and texts of §11.2, §11.1 and §11.3 (Appendix A).
  const backup = await new Promise<grpc.ServiceError | null>((resolve) => {
    const client = new grpc.Client(address.replace("http://", ""), grpc.credentials.createInsecure());
    const call = client.makeServerStreamRequest("/armada.v1.Maintenance/Backup", (b: Buffer) => b, (b: Buffer) => b, Buffer.from(pb.BackupRequest.encode({ table: Buffer.from("nope") }).finish()));
    call.on("data", () => {});
    call.on("error", (error: grpc.ServiceError) => { client.close(); resolve(error); });
    call.on("end", () => { client.close(); resolve(null); });
  });
  assert.equal(backup?.code, grpc.status.NOT_FOUND);
  assert.equal(backup?.details, "table not found");
  const reset = await rawCall(address, "/maintenance.v1.Maintenance/Reset", pb.ResetRequest.encode({ table: Buffer.from("a") }).finish());
  assert.equal(reset?.code, grpc.status.UNIMPLEMENTED);
  assert.equal(reset?.details, "method Reset not implemented");
  const cases: [object[], string][] = [
    [[{ chunk: { data: Buffer.from("x") } }], "first message should contain info"],
    [[{ info: {} }], "table must be set"],
    [[{ info: { table: Buffer.from("a") } }, { info: { table: Buffer.from("a") } }], "chunk expected"],
    [[{ info: { table: Buffer.from("a") } }, { chunk: { data: Buffer.from("garbage") } }], "invalid backup stream: "],
  ];
  for (const [messages, details] of cases) {
    const error = await rawRestore(messages);
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT, details);
    assert.ok(error?.details.startsWith(details), `${error?.details} should start with ${details}`);
  }
});

test("with a maintenance token, Maintenance needs the bearer token and Cluster stays open", async () => {
  // Proves §6.1 on the maintenance listener, and that the tools never send a token in plaintext.
  const reset = (authorization?: string) => rawCall(guardedAddress, "/armada.v1.Maintenance/Reset", pb.ResetRequest.encode({}).finish(), authorization);
  assert.equal((await reset())?.details, "Request unauthenticated with bearer");
  assert.equal((await reset("Bearer"))?.details, "Bad authorization string");
  assert.equal((await reset("Bearer wrong"))?.details, "Invalid token");
  assert.equal((await reset("Bearer s3cret"))?.code, grpc.status.UNIMPLEMENTED);
  assert.equal((await rawRestore([{ info: {} }], undefined, guardedAddress))?.code, grpc.status.UNAUTHENTICATED);
  assert.equal(await rawCall(guardedAddress, "/regatta.v1.Cluster/Status", pb.StatusRequest.encode({}).finish()), null);
  const { out, output } = capture();
  assert.equal(await runBackup(toolValues(tempDir("armada-backup-token-"), { address: guardedAddress, token: "s3cret" }), output), 1);
  assert.equal(out.stderr, "backup failed: token requires a TLS connection\n");
});

test("a backup taken while writes run is one point in time, and restoring it under a new name creates that table", async () => {
  // Proves §11.2's consistent view (sequential writes appear as a gap-free prefix) and that restore creates unknown tables.
  await createEverywhere("seq");
  let writing = true;
  let written = 0;
  const writer = (async () => {
    while (writing) await put("seq", `k-${String(written++).padStart(6, "0")}`, "x".repeat(500));
  })();
  await eventually(() => written > 50);
  const dir = tempDir("armada-backup-seq-");
  const result = await runBackup(toolValues(dir), capture().output);
  writing = false;
  await writer;
  assert.equal(result, 0);
  const manifestPath = join(dir, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { tables: { name: string }[] };
  manifest.tables = manifest.tables.filter((table) => table.name === "seq").map((table) => ({ ...table, name: "seq-copy" }));
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const restored = capture();
  assert.equal(await runRestore(toolValues(dir), restored.output), 0, restored.out.stderr);
  await eventually(() => { try { engines[2]!.table("seq-copy"); return true; } catch { return false; } });
  const keys = Object.keys(await contents(engines[2]!, "seq-copy"));
  assert.ok(keys.length > 50 && keys.length <= written, `${keys.length} keys of ${written}`);
  assert.deepEqual(keys, keys.map((_, i) => `k-${String(i).padStart(6, "0")}`));
});
