/**
 * A leader node and a follower node as real processes (spec §9–10): tables and writes replicate, deletes
 * propagate, writes and transactions through the follower are forwarded and read back from it, a follower
 * keeps serving while the leader is down and catches up after, Reset re-replicates, and a follower started
 * after the leader compacted its log catches up by snapshot, then by log.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { ArmadaClient } from "../../client/index.js";
import { pb } from "../../proto/index.js";
import { LeaderProcess, removeDir, tempDir } from "../../test-support/process.js";
import { dump, eventually, FAST_FOLLOWER_FLAGS, retry } from "./support.js";
import { MaintenanceClient } from "../../maintenance/tool-client.js";

describe("leader → follower replication (1 + 1 nodes)", () => {
  const dirs = [tempDir(), tempDir(), tempDir()];
  let leader: LeaderProcess;
  let follower: LeaderProcess;
  let replicationAddress: string;
  const clients: ArmadaClient[] = [];
  const clientOf = (node: LeaderProcess) => {
    const client = new ArmadaClient(node.apiAddress, { timeoutMs: 10_000 });
    clients.push(client);
    return client;
  };

  before(async () => {
    // Snapshot and compact the leader log often, so a late follower finds its log compacted.
    leader = await LeaderProcess.start(dirs[0]!, ["--raft.snapshot-entries=50", "--raft.compaction-overhead=10"]);
    replicationAddress = leader.replicationAddress;
    follower = await LeaderProcess.start(dirs[1]!, [`--replication.leader-address=${replicationAddress}`, ...FAST_FOLLOWER_FLAGS], { command: "follower" });
  });

  after(async () => {
    for (const client of clients) client.close();
    await Promise.all([leader?.stop("SIGKILL"), follower?.stop("SIGKILL")]);
    for (const dir of dirs) removeDir(dir);
  });

  test("a table created on the leader appears on the follower with its data; later writes follow", async () => {
    const onLeader = clientOf(leader);
    const onFollower = clientOf(follower);
    await retry(() => onLeader.createTable("regions"));
    for (let i = 0; i < 20; i++) await onLeader.put("regions", `k${i}`, `v${i}`);
    await eventually("table and data on the follower", async () => (await dump(onFollower, "regions")).length === 20);
    await onLeader.put("regions", "k0", "changed");
    await onLeader.deleteRange("regions", "k1");
    await eventually("update and delete on the follower", async () => {
      const rows = await dump(onFollower, "regions");
      return rows.includes("k0=changed") && !rows.some((row) => row.startsWith("k1="));
    });
    assert.deepEqual(await dump(onFollower, "regions"), await dump(onLeader, "regions"));
  });

  test("the follower refuses to create or delete tables and answers Backup as not implemented", async () => {
    const onFollower = clientOf(follower);
    await assert.rejects(onFollower.createTable("nope"), (error: { code?: number; message: string }) =>
      error.code === grpc.status.UNIMPLEMENTED && /method Create not implemented for follower/.test(error.message));
    await assert.rejects(onFollower.deleteTable("regions"), (error: { code?: number }) => error.code === grpc.status.UNIMPLEMENTED);
  });

  test("Put, DeleteRange and Txn through the follower are forwarded and read back from it at once", async () => {
    const onFollower = clientOf(follower);
    const onLeader = clientOf(leader);
    await eventually("table on follower", async () => (await onFollower.listTables()).some((t) => t.name === "regions"));
    for (let i = 0; i < 10; i++) {
      const put = await onFollower.put("regions", `ryw${i}`, `value${i}`);
      assert.ok(put.header.revision > 0);
      // Read-your-write: the follower answered only after applying the write locally (serializable read).
      const read = await onFollower.range("regions", `ryw${i}`);
      assert.equal(Buffer.from(read.kvs[0]!.value!).toString(), `value${i}`);
    }
    const cas = await onFollower.txn("regions", {
      compare: [{ key: Buffer.from("ryw0"), target: pb.Compare.CompareTarget.VALUE, result: pb.Compare.CompareResult.EQUAL, value: Buffer.from("value0") }],
      success: [{ requestPut: { key: Buffer.from("ryw0"), value: Buffer.from("swapped") } }],
      failure: [],
    });
    assert.equal(cas.succeeded, true);
    assert.equal(Buffer.from((await onFollower.range("regions", "ryw0")).kvs[0]!.value!).toString(), "swapped");
    const failed = await onFollower.txn("regions", {
      compare: [{ key: Buffer.from("ryw0"), target: pb.Compare.CompareTarget.VALUE, result: pb.Compare.CompareResult.EQUAL, value: Buffer.from("value0") }],
      success: [{ requestPut: { key: Buffer.from("ryw0"), value: Buffer.from("again") } }],
      failure: [],
    });
    assert.equal(failed.succeeded, false);
    await onFollower.deleteRange("regions", "ryw1");
    assert.equal((await onFollower.range("regions", "ryw1")).kvs.length, 0);
    assert.equal(Buffer.from((await onLeader.range("regions", "ryw0", { linearizable: true })).kvs[0]!.value!).toString(), "swapped");
    // A leader error comes back with the leader's code and the reference's message shape.
    await assert.rejects(onFollower.put("missing-table", "k", "v"), (error: { code?: number; message: string }) =>
      error.code === grpc.status.NOT_FOUND && /leader error: rpc error: code = NotFound desc = table not found/.test(error.message));
  });

  test("a table deleted on the leader is deleted on the follower", async () => {
    const onLeader = clientOf(leader);
    const onFollower = clientOf(follower);
    await onLeader.createTable("short-lived");
    await onLeader.put("short-lived", "a", "1");
    await eventually("table on follower", async () => (await dump(onFollower, "short-lived")).length === 1);
    await onLeader.deleteTable("short-lived");
    await eventually("table gone on follower", async () => !(await onFollower.listTables()).some((t) => t.name === "short-lived"));
  });

  test("a table deleted and re-created on the leader is re-synchronised on the follower (no stale or skipped data)", async () => {
    const onLeader = clientOf(leader);
    const onFollower = clientOf(follower);
    await onLeader.createTable("replaced");
    for (let i = 0; i < 30; i++) await onLeader.put("replaced", `old${i}`, "x");
    await eventually("old data on follower", async () => (await dump(onFollower, "replaced")).length === 30);
    await onLeader.deleteTable("replaced");
    await onLeader.createTable("replaced");
    for (let i = 0; i < 3; i++) await onLeader.put("replaced", `new${i}`, "y");
    await eventually("follower holds exactly the new table", async () => JSON.stringify(await dump(onFollower, "replaced")) === JSON.stringify(["new0=y", "new1=y", "new2=y"]), 30_000);
    // Later writes keep flowing by log.
    await onLeader.put("replaced", "new3", "z");
    await eventually("later write", async () => (await dump(onFollower, "replaced")).includes("new3=z"));
  });

  test("the follower keeps serving reads while the leader is down, then catches up", async () => {
    const onFollower = clientOf(follower);
    const before = await dump(onFollower, "regions");
    await leader.stop("SIGKILL");
    assert.deepEqual(await dump(onFollower, "regions"), before);
    await assert.rejects(onFollower.put("regions", "while-down", "x", { timeoutMs: 2000 }));
    leader = await LeaderProcess.start(dirs[0]!, ["--raft.snapshot-entries=50", "--raft.compaction-overhead=10"], {
      replicationPort: Number(new URL(replicationAddress).port),
    });
    const onLeader = clientOf(leader);
    await retry(() => onLeader.put("regions", "after-restart", "yes"));
    await eventually("write after the leader's restart on the follower", async () => (await dump(onFollower, "regions")).includes("after-restart=yes"), 30_000);
  });

  test("a follower started after the leader compacted its log catches up by snapshot, then by log", async () => {
    const onLeader = clientOf(leader);
    await retry(() => onLeader.createTable("bulk"));
    for (let i = 0; i < 300; i++) await onLeader.put("bulk", `key${String(i).padStart(4, "0")}`, `value${i}`);
    const late = await LeaderProcess.start(dirs[2]!, [`--replication.leader-address=${replicationAddress}`, ...FAST_FOLLOWER_FLAGS], { command: "follower" });
    try {
      const onLate = clientOf(late);
      await eventually("snapshot recovery on the late follower", async () => (await dump(onLate, "bulk")).length === 300, 30_000);
      // The log line follows the switch to the loaded shard, so it may arrive just after the data is visible.
      await late.waitForLog(/"msg":"table recovered from a leader snapshot","table":"bulk"/, 10_000);
      await onLeader.put("bulk", "key9999", "tail");
      await eventually("log replication after the snapshot", async () => (await dump(onLate, "bulk")).includes("key9999=tail"));
      assert.deepEqual(await dump(onLate, "bulk"), await dump(onLeader, "bulk"));
    } finally {
      await late.stop("SIGKILL");
    }
  });

  test("Reset on the follower re-replicates a table from the leader and leaves the same data", async () => {
    const onFollower = clientOf(follower);
    const onLeader = clientOf(leader);
    await eventually("bulk on follower", async () => (await dump(onFollower, "bulk")).length === 301, 30_000);
    const maintenance = new MaintenanceClient({ address: follower.maintenanceAddress, ca: "", token: "", deadline: new Date(Date.now() + 30_000) });
    try {
      await maintenance.reset({ table: "bulk" });
      await assert.rejects(maintenance.reset({ table: "no-such-table" }), /table not found/);
    } finally {
      maintenance.close();
    }
    await eventually("re-replicated after reset", async () => follower.logs.includes('"table":"bulk","reason":"the table was reset"') || /recovering table.*bulk.*reset/.test(follower.logs), 20_000);
    await eventually("same data after reset", async () => JSON.stringify(await dump(onFollower, "bulk")) === JSON.stringify(await dump(onLeader, "bulk")), 20_000);
  });
});
