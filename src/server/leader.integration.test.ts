/**
 * End-to-end tests of `armada leader` as a real process on loopback: every KV method through both the
 * armada.v1 and the regatta.v1 service names, the Tables and Cluster services, bad input, and data
 * surviving SIGKILL.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { ArmadaClient, prefixEnd, pb } from "../client/index.js";
import { InvalidArgumentError, NotFoundError, FailedPreconditionError } from "../client/errors.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";

const serviceNames = ["armada", "regatta"] as const;

describe("armada leader process", () => {
  let dataDir: string;
  let leader: LeaderProcess;
  const clients: ArmadaClient[] = [];
  const client = (names: "armada" | "regatta" = "armada") => {
    const created = new ArmadaClient(leader.apiAddress, { serviceNames: names });
    clients.push(created);
    return created;
  };

  before(async () => {
    dataDir = tempDir();
    leader = await LeaderProcess.start(dataDir);
  });

  after(async () => {
    for (const c of clients) c.close();
    await leader?.stop("SIGKILL");
    removeDir(dataDir);
  });

  test("tables are created with ids 10001, 10002 and listed sorted by name", async () => {
    const admin = client();
    assert.deepEqual(await admin.createTable("zeta"), { id: "10001" });
    assert.deepEqual(await client("regatta").createTable("alpha"), { id: "10002" });
    assert.deepEqual(await admin.listTables(), [{ name: "alpha", id: "10002" }, { name: "zeta", id: "10001" }]);
    await assert.rejects(admin.createTable("zeta"), (e: unknown) => e instanceof InvalidArgumentError && e.details === "table already exists");
    await assert.rejects(admin.createTable(""), (e: unknown) => e instanceof InvalidArgumentError && e.details === "name must be set");
    await assert.rejects(admin.createTable("a/b"), (e: unknown) => e instanceof InvalidArgumentError && e.details === "invalid table name");
    await assert.rejects(admin.deleteTable("nope"), (e: unknown) => e instanceof InvalidArgumentError && e.details === "table not found");
  });

  for (const names of serviceNames) {
    test(`every KV method works through the ${names}.v1 service names`, async () => {
      const kv = client(names);
      const table = `kv-${names}`;
      await client().createTable(table);
      const first = await kv.put(table, "key_1", "one");
      assert.ok(first.header.revision > 0);
      assert.ok(first.header.shardId > 10000);
      const second = await kv.put(table, "key_2", "two", { prevKv: true });
      assert.ok(second.header.revision > first.header.revision);
      assert.equal(second.prevKv, undefined);
      const third = await kv.put(table, "key_1", "uno", { prevKv: true });
      assert.equal(third.prevKv?.value.toString(), "one");
      await kv.put(table, "key_3", "three");

      const single = await kv.range(table, "key_1");
      assert.deepEqual(single.kvs.map((p) => [p.key.toString(), p.value.toString()]), [["key_1", "uno"]]);
      assert.equal(single.count, 1);
      const missing = await kv.range(table, "nothing");
      assert.equal(missing.count, 0);
      assert.equal(missing.header.shardId, first.header.shardId);
      const prefix = await kv.range(table, "key_", { rangeEnd: prefixEnd("key_"), linearizable: true });
      assert.deepEqual(prefix.kvs.map((p) => p.key.toString()), ["key_1", "key_2", "key_3"]);
      const limited = await kv.range(table, "\0", { rangeEnd: "\0", limit: 2 });
      assert.equal(limited.kvs.length, 2);
      assert.equal(limited.more, true);

      const streamed: string[] = [];
      for await (const message of kv.iterateRange(table, "\0", { rangeEnd: "\0" })) streamed.push(...message.kvs.map((p) => p.key.toString()));
      assert.deepEqual(streamed, ["key_1", "key_2", "key_3"]);

      const cas = await kv.txn(table, {
        compare: [{ key: Buffer.from("key_1"), result: pb.Compare.CompareResult.EQUAL, target: pb.Compare.CompareTarget.VALUE, value: Buffer.from("uno") }],
        success: [{ requestPut: { key: Buffer.from("key_4"), value: Buffer.from("four") } }],
        failure: [{ requestPut: { key: Buffer.from("key_5"), value: Buffer.from("five") } }],
      });
      assert.equal(cas.succeeded, true);
      assert.ok(cas.header.revision > third.header.revision);
      const readOnly = await kv.txn(table, { success: [{ requestRange: { key: Buffer.from("key_4") } }] });
      assert.equal(readOnly.header.revision, 0);
      assert.equal(Buffer.from(readOnly.responses[0]?.responseRange?.kvs?.[0]?.value ?? []).toString(), "four");

      const deleted = await kv.deleteRange(table, "key_1", { rangeEnd: "key_3", count: true });
      assert.equal(deleted.deleted, 2);
      const left = await kv.range(table, "\0", { rangeEnd: "\0", keysOnly: true });
      assert.deepEqual(left.kvs.map((p) => p.key.toString()), ["key_3", "key_4"]);
    });
  }

  test("bad input gets its clear status and the node keeps serving", async () => {
    const kv = client();
    await client().createTable("bad-input");
    const invalid = (details: string) => (e: unknown) => e instanceof InvalidArgumentError && e.details === details;
    await assert.rejects(kv.range("", "k"), invalid("table must be set"));
    await assert.rejects(kv.range("bad-input", ""), invalid("key must be set"));
    await assert.rejects(kv.range("", "", { limit: -1 }), invalid("limit must be a positive number"));
    await assert.rejects(kv.range("bad-input", "k", { keysOnly: true, countOnly: true }), invalid("keys_only and count_only must not be set at the same time"));
    await assert.rejects(kv.put("bad-input", "", "v"), invalid("key must be set"));
    for (const call of [kv.range("missing", "k"), kv.put("missing", "k", "v"), kv.deleteRange("missing", "k"), kv.txn("missing", {})]) {
      await assert.rejects(call, (e: unknown) => e instanceof NotFoundError && e.details === "table not found");
    }
    const tooLong = (e: unknown) => e instanceof FailedPreconditionError && e.details === "key length exceeded max allowed value";
    await assert.rejects(kv.put("bad-input", "k".repeat(1025), "v"), tooLong);
    await kv.put("bad-input", "k".repeat(1024), "v");
    await assert.rejects(kv.put("bad-input", "k", Buffer.alloc(2 * 1024 * 1024 + 1)), (e: unknown) => e instanceof FailedPreconditionError && e.details === "value length exceeded max allowed value");
    await kv.put("bad-input", "big", Buffer.alloc(2 * 1024 * 1024));
    const backwards = await kv.range("bad-input", "z", { rangeEnd: "a" });
    assert.equal(backwards.count, 0);
    await assert.rejects(kv.txn("bad-input", { success: [{}] }), invalid("request op must be set"));
    await assert.rejects(kv.txn("bad-input", { compare: [{ key: Buffer.from("k"), target: 7 as never }] }), invalid("unsupported compare target"));

    // A request that is not protobuf at all: raw bytes sent straight through a generic client.
    const raw = new grpc.Client(leader.apiAddress.replace("http://", ""), grpc.credentials.createInsecure());
    const garbage = await new Promise<grpc.ServiceError | null>((resolve) =>
      raw.makeUnaryRequest("/regatta.v1.KV/Range", (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0xff, 0xff, 0xff, 0xff]), (error) => resolve(error)),
    );
    raw.close();
    assert.equal(garbage?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(garbage?.details ?? "", /not a valid protobuf message/);

    // Revision filters are reserved: any value > 0 is UNIMPLEMENTED (checked before the table lookup).
    const filtered = await new Promise<grpc.ServiceError | null>((resolve) => {
      const generic = new grpc.Client(leader.apiAddress.replace("http://", ""), grpc.credentials.createInsecure());
      const request = Buffer.from(pb.RangeRequest.encode({ table: Buffer.from("missing"), key: Buffer.from("k"), maxCreateRevision: 1 }).finish());
      generic.makeUnaryRequest("/armada.v1.KV/Range", (b: Buffer) => b, (b: Buffer) => b, request, (error) => { generic.close(); resolve(error); });
    });
    assert.equal(filtered?.code, grpc.status.UNIMPLEMENTED);
    assert.equal(filtered?.details, "max_create_revision not implemented");
    // Still healthy.
    assert.equal((await kv.range("bad-input", "k".repeat(1024))).count, 1);
  });

  test("IterateRange streams large ranges in messages under the 4 MiB budget", async () => {
    // Proves the chunking of spec §4.3 end to end: 10 × 512 KiB values → 2 messages, the first with more = true,
    // and a stream over a range larger than one message works through the real transport.
    const kv = client("regatta");
    await client().createTable("large");
    const value = Buffer.alloc(512 * 1024, 1);
    for (let i = 0; i < 10; i++) await kv.put("large", `big-${i}`, value);
    const messages = [];
    for await (const message of kv.iterateRange("large", "big-", { rangeEnd: prefixEnd("big-") })) messages.push(message);
    assert.deepEqual(messages.map((m) => [m.count, m.more]), [[7, true], [3, false]]);
    const single = await kv.range("large", "big-", { rangeEnd: prefixEnd("big-") });
    assert.equal(single.count, 7);
    assert.equal(single.more, true);
    const empty = [];
    for await (const message of kv.iterateRange("large", "none-", { rangeEnd: prefixEnd("none-") })) empty.push(message);
    assert.deepEqual(empty.map((m) => [m.count, m.more, m.kvs.length]), [[0, false, 0]]);
  });

  test("Cluster MemberList and Status describe this node", async () => {
    const cluster = client("regatta");
    const members = await cluster.memberList();
    assert.equal(members.cluster, "default");
    assert.equal(members.members.length, 1);
    assert.deepEqual(members.members[0]?.clientURLs, [leader.apiAddress]);
    const status = await cluster.status({ config: true });
    assert.equal(status.id, "1");
    assert.ok(status.tables["zeta"]);
    assert.equal(status.config?.fields?.["api.address"]?.stringValue, leader.apiAddress);
  });

  test("SIGTERM during a write load exits 0 and every acknowledged write is there after restart", async () => {
    // Proves the graceful shutdown path keeps acknowledged writes (issue 8) and ends with exit code 0.
    await client().createTable("graceful");
    const acknowledged: string[] = [];
    let writing = true;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      const writer = client();
      for (let n = 0; writing; n++) {
        try {
          await writer.put("graceful", `w${w}-${n}`, "v", { timeoutMs: 2000 });
          acknowledged.push(`w${w}-${n}`);
        } catch {
          return;
        }
      }
    });
    while (acknowledged.length < 100) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(await leader.stop("SIGTERM"), 0);
    writing = false;
    await Promise.all(writers);
    assert.match(leader.logs, /shutting down/);
    // Channels to the stopped process are in reconnect back-off: start over with fresh ones.
    for (const c of clients.splice(0)) c.close();
    leader = await LeaderProcess.start(dataDir, [], { apiPort: Number(new URL(leader.apiAddress).port) });
    const keys = new Set((await client().range("graceful", "\0", { rangeEnd: "\0", keysOnly: true })).kvs.map((kv) => kv.key.toString()));
    for (const key of acknowledged) assert.ok(keys.has(key), `acknowledged write ${key} was lost`);
  });

  test("data and revisions survive SIGKILL and a restart on the same directories", async () => {
    const kv = client();
    await client().createTable("durable");
    let last = 0;
    for (let i = 0; i < 50; i++) last = (await kv.put("durable", `k${String(i).padStart(3, "0")}`, `v${i}`)).header.revision;
    kv.close();
    assert.equal(await leader.stop("SIGKILL"), null);
    leader = await LeaderProcess.start(dataDir, [], { apiPort: Number(new URL(leader.apiAddress).port) });
    const again = client();
    const all = await again.range("durable", "\0", { rangeEnd: "\0", countOnly: true });
    assert.equal(all.count, 50);
    assert.equal((await again.range("durable", "k049")).kvs[0]?.value.toString(), "v49");
    const next = await again.put("durable", "after", "restart");
    assert.ok(next.header.revision > last, `revision ${next.header.revision} should exceed ${last}`);
    assert.deepEqual((await again.listTables()).map((t) => t.name).includes("durable"), true);
  });
});
