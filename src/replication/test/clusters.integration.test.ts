/**
 * A 3-node leader cluster and a 3-node follower cluster as real processes (spec §9.7): every follower node
 * applies the leader's writes; only the lease holder pulls; when it is killed with SIGKILL another node
 * takes the table over within the lease time, with no gap (every write arrives) and no duplicate
 * application (no node ever sees a counter go backwards, which a replayed older entry would cause).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ArmadaClient } from "../../client/index.js";
import { httpCall } from "../../test-support/http.js";
import { TestCluster } from "../../test-support/process.js";
import { dump, eventually, FAST_FOLLOWER_FLAGS, retry, sleep } from "./support.js";

/** Lease interval of FAST_FOLLOWER_FLAGS; a lease lasts four of them. */
const LEASE_INTERVAL_MS = 300;

describe("3-node leader cluster → 3-node follower cluster", () => {
  let leaders: TestCluster;
  let followers: TestCluster;
  const clients: ArmadaClient[] = [];
  const client = (address: string) => {
    const created = new ArmadaClient(address, { timeoutMs: 10_000 });
    clients.push(created);
    return created;
  };

  before(async () => {
    leaders = await TestCluster.start(3);
    const leaderAddress = leaders.replicationAddress(0);
    followers = await TestCluster.start(3, [`--replication.leader-address=${leaderAddress}`, ...FAST_FOLLOWER_FLAGS], { command: "follower" });
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all([followers?.destroy(), leaders?.destroy()]);
  });

  /** Which follower nodes report holding the lease of `table`. */
  async function leaseHolders(table: string): Promise<number[]> {
    const holders: number[] = [];
    for (let i = 0; i < 3; i++) {
      const node = followers.nodes[i];
      if (!node) continue;
      const metrics = (await httpCall(node.restAddress, "/metrics").catch(() => null))?.body.toString() ?? "";
      if (metrics.includes(`armada_replication_leased{table="${table}"} 1`)) holders.push(i);
    }
    return holders;
  }

  test("writes on the leader cluster reach every follower node; the pulling node fails over without gap or duplicate", async (t) => {
    const writer = client(leaders.apiAddress(0));
    await retry(() => writer.createTable("fleet"));
    await retry(() => writer.put("fleet", "counter", "0"));
    const readers = [0, 1, 2].map((i) => client(followers.apiAddress(i)));
    await eventually("table on every follower node", async () => {
      for (const reader of readers) if ((await dump(reader, "fleet")).length !== 1) return false;
      return true;
    }, 30_000);
    await eventually("exactly one lease holder", async () => (await leaseHolders("fleet")).length === 1);
    const [holder] = await leaseHolders("fleet");

    // Readers on every follower node check that the counter never goes back.
    let stopReading = false;
    const backwards: string[] = [];
    const watch = async (index: number) => {
      let seen = -1;
      while (!stopReading) {
        if (followers.nodes[index]) {
          const result = await readers[index]!.range("fleet", "counter", { timeoutMs: 2000 }).catch(() => null);
          const value = result?.kvs[0] ? Number(Buffer.from(result.kvs[0].value ?? []).toString()) : -1;
          if (value >= 0 && value < seen) backwards.push(`node ${index}: ${seen} then ${value}`);
          if (value >= 0) seen = value;
        }
        await sleep(5);
      }
    };
    const watchers = [0, 1, 2].map(watch);

    let written = 0;
    const writeSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        written++;
        await retry(() => writer.put("fleet", `item${String(written).padStart(5, "0")}`, String(written)));
        await retry(() => writer.put("fleet", "counter", String(written)));
      }
    };
    await writeSome(40);
    const killedAt = Date.now();
    await followers.stopNode(holder!, "SIGKILL");
    const writing = writeSome(60);
    await eventually("another node takes the lease", async () => {
      const holders = await leaseHolders("fleet");
      return holders.length === 1 && holders[0] !== holder;
    }, 15_000);
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(`lease takeover after SIGKILL of the holder: ${takeoverMs} ms (lease ${4 * LEASE_INTERVAL_MS} ms)`);
    // The lease of the killed node runs out after 4 intervals; the next renewal round of a survivor takes it.
    assert.ok(takeoverMs < 6 * LEASE_INTERVAL_MS + 5000, `takeover took ${takeoverMs} ms`);
    await writing;
    const expected = await dump(writer, "fleet");
    for (const index of [0, 1, 2].filter((i) => i !== holder)) {
      await eventually(`follower node ${index} converges`, async () => JSON.stringify(await dump(readers[index]!, "fleet")) === JSON.stringify(expected), 30_000);
    }
    // The killed node comes back and catches up from its own cluster.
    await followers.startNode(holder!);
    await eventually("restarted follower node converges", async () => JSON.stringify(await dump(readers[holder!]!, "fleet")) === JSON.stringify(expected), 30_000);
    stopReading = true;
    await Promise.all(watchers);
    assert.deepEqual(backwards, [], "a follower node saw the counter go back (an entry applied twice)");
    assert.equal(expected.length, 1 + written);
  });
});
