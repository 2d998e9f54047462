/**
 * A 3-node leader cluster of real processes on loopback: formation from --raft.initial-members, tables
 * and writes through any node, failover after kill -9 of a table's leader, catch-up by snapshot, all
 * nodes killed and restarted, and a corrupted write-ahead-log tail.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, existsSync, ftruncateSync, openSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ArmadaClient } from "../client/index.js";
import { TestCluster } from "../test-support/process.js";
import { retry } from "../test-support/retry.js";

/** Retries `operation` until it succeeds (transient errors while leaders are elected) or time runs out. */

async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function countKeys(client: ArmadaClient, table: string, linearizable = false): Promise<number> {
  return (await client.range(table, "\0", { rangeEnd: "\0", countOnly: true, linearizable })).count;
}

describe("3-node leader cluster", () => {
  let cluster: TestCluster;
  const clients: ArmadaClient[] = [];
  const client = (index: number) => {
    const created = new ArmadaClient(cluster.apiAddress(index), { timeoutMs: 5000 });
    clients.push(created);
    return created;
  };

  before(async () => {
    cluster = await TestCluster.start(3, ["--raft.snapshot-entries=100", "--raft.compaction-overhead=20"]);
  });

  after(async () => {
    for (const c of clients) c.close();
    await cluster?.destroy();
  });

  test("the cluster forms; a table created through one node exists on all; writes through any node are read everywhere", async () => {
    // Proves formation from --raft.initial-members, catalogue replication, forwarding and linearizable reads.
    const created = await retry(() => client(1).createTable("shared"));
    assert.equal(created.id, "10001");
    for (let i = 0; i < 3; i++) await eventually(async () => (await client(i).listTables()).some((t) => t.name === "shared"));
    let last = 0;
    for (let i = 0; i < 3; i++) {
      const put = await retry(() => client(i).put("shared", `from-${i}`, `value-${i}`));
      assert.ok(put.header.revision > last, "revisions grow");
      last = put.header.revision;
    }
    for (let i = 0; i < 3; i++) assert.equal(await countKeys(client(i), "shared", true), 3, `node ${i + 1} sees every write`);
    await eventually(async () => {
      const members = (await client(0).memberList()).members;
      return members.length === 3 && members.every((m) => m.name !== "" && (m.clientURLs ?? []).length === 1);
    });
    const members = (await client(0).memberList()).members.sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(members.map((m) => m.clientURLs?.[0]), [0, 1, 2].map((i) => cluster.apiAddress(i)));
    assert.deepEqual(members.map((m) => m.peerURLs?.[0]), cluster.ports.map((p) => `127.0.0.1:${p.raftPort}`));
    const status = (await client(2).status()).tables["shared"];
    assert.ok(Number(status?.leader) >= 1, "the table's leader is reported");
    assert.ok(Number(status?.raftTerm) >= 1);
    assert.ok(Number(status?.raftAppliedIndex) >= 3);
    assert.ok(Number(status?.dbSize) > 0);
  });

  test("a table deleted through one node disappears on every node and its data moves to the trash", async () => {
    // Proves catalogue-driven stop of a table's group on all nodes and the removal of its data.
    const { id } = await retry(() => client(0).createTable("short-lived"));
    await retry(() => client(1).put("short-lived", "k", "v"));
    await eventually(async () => (await client(2).range("short-lived", "k")).count === 1);
    await client(2).deleteTable("short-lived");
    for (let i = 0; i < 3; i++) {
      await eventually(async () => {
        try {
          await client(i).range("short-lived", "k");
          return false;
        } catch (error) {
          return error instanceof Error && /table not found/.test(error.message);
        }
      });
      await eventually(async () => !existsSync(join(cluster.dataDirs[i]!, "state-machine", id)));
      assert.ok(readdirSync(join(cluster.dataDirs[i]!, "state-machine", "trash")).some((name) => name.startsWith(`${id}-`)));
    }
  });

  test("kill -9 of a table's leader: a new leader takes over, nothing acknowledged is lost, the node catches up after restart", async () => {
    // Proves failover within a few election timeouts and catch-up (by snapshot: more than 100 writes while down).
    const status = await client(0).status();
    const leaderId = Number(status.tables["shared"]?.leader);
    assert.ok(leaderId >= 1 && leaderId <= 3, `a leader is known (${leaderId})`);
    const victim = leaderId - 1;
    await cluster.stopNode(victim, "SIGKILL");
    const survivors = [0, 1, 2].filter((i) => i !== victim);
    const acknowledged: string[] = [];
    const started = Date.now();
    await retry(() => client(survivors[0]!).put("shared", "after-failover-0", "x"));
    const failoverMs = Date.now() - started;
    acknowledged.push("after-failover-0");
    for (let i = 1; i < 250; i++) {
      const key = `after-failover-${i}`;
      await retry(() => client(survivors[i % 2]!).put("shared", key, "x"));
      acknowledged.push(key);
    }
    assert.ok(failoverMs < 10_000, `writes resumed after ${failoverMs} ms`);
    await cluster.startNode(victim);
    const restarted = client(victim);
    await eventually(async () => (await countKeys(restarted, "shared")) === 3 + acknowledged.length);
    // The reads can see the installed snapshot before the test has read the node's log line from its pipe.
    await cluster.nodes[victim]!.waitForLog(/table recovered from a snapshot/, 10_000);
  });

  test("all three nodes killed during a stream of writes and restarted: every acknowledged write is there", async () => {
    // Proves durability of acknowledged writes across a whole-cluster crash.
    await retry(() => client(0).createTable("crash"));
    const acknowledged: string[] = [];
    let writing = true;
    const writers = [0, 1, 2].map(async (i) => {
      for (let n = 0; writing; n++) {
        const key = `w${i}-${n}`;
        try {
          await client(i).put("crash", key, "v", { timeoutMs: 2000 });
          acknowledged.push(key);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });
    await eventually(async () => acknowledged.length >= 150, 30_000);
    await Promise.all([0, 1, 2].map((i) => cluster.stopNode(i, "SIGKILL")));
    writing = false;
    await Promise.all(writers);
    const kept = [...acknowledged];
    await Promise.all([0, 1, 2].map((i) => cluster.startNode(i)));
    for (const i of [0, 1, 2]) {
      const fresh = client(i);
      await eventually(async () => (await countKeys(fresh, "crash", true)) >= kept.length);
      for (const key of kept.slice(-20)) assert.equal((await fresh.range("crash", key, { linearizable: true })).count, 1, `${key} survived on node ${i + 1}`);
    }
    const all = await client(0).range("crash", "\0", { rangeEnd: "\0", keysOnly: true, linearizable: true });
    const present = new Set(all.kvs.map((kv) => kv.key.toString()));
    for (const key of kept) assert.ok(present.has(key), `acknowledged write ${key} was lost`);
  });

  test("a torn write-ahead-log tail is cut off at restart and the node rejoins", async () => {
    // Proves recovery from a corrupted last WAL record without a crash.
    const index = 2;
    await cluster.stopNode(index, "SIGKILL");
    const walDir = join(cluster.dataDirs[index]!, "raft", "wal");
    const segments = readdirSync(walDir).filter((name) => name !== "LOCK").sort();
    const last = join(walDir, segments[segments.length - 1]!);
    const size = statSync(last).size;
    const fd = openSync(last, "r+");
    ftruncateSync(fd, Math.max(0, size - 7));
    closeSync(fd);
    const node = await cluster.startNode(index);
    assert.match(node.logs, /torn or corrupt tail/);
    await retry(() => client(0).put("shared", "after-torn-tail", "x"));
    await eventually(async () => (await client(index).range("shared", "after-torn-tail")).count === 1);
  });
});
