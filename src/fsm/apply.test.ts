import assert from "node:assert/strict";
import { test } from "node:test";
import { pb, type armada } from "../proto/index.js";
import { FatalApplyError, InvariantError, StateMachineClosedError, UnknownCommandTypeError } from "./errors.js";
import { CommandType, b, del, opPut, pairs, put, txn, withTable } from "./testkit.js";

test("revisions are the entry indices and increase", async () => {
  // Proves ApplyResult.revision = entry index (> 0, strictly increasing) and non-command entries advance the index.
  await withTable(async (table) => {
    const [first, noop, second] = await table.apply(put("a", "1"), null, put("a", "2"));
    assert.ok(first!.revision > 0);
    assert.deepEqual(noop, { index: 2, revision: 2, responses: [], succeeded: true });
    assert.ok(second!.revision > first!.revision);
    assert.equal(table.sm.appliedIndex, 3);
  });
});

test("PUT returns the previous pair only when asked and when it existed", async () => {
  // Proves prev_kv semantics of §4.4, including an empty previous value returned without a value field.
  await withTable(async (table) => {
    assert.deepEqual((await table.apply1(put("k", "v1", { prevKvs: true }))).responses, [{ responsePut: {} }]);
    assert.deepEqual((await table.apply1(put("k", "v2", { prevKvs: true }))).responses, [{ responsePut: { prevKv: { key: b("k"), value: b("v1") } } }]);
    assert.deepEqual((await table.apply1(put("k", "", { prevKvs: false }))).responses, [{ responsePut: {} }]);
    assert.deepEqual((await table.apply1(put("k", "v3", { prevKvs: true }))).responses, [{ responsePut: { prevKv: { key: b("k") } } }]);
  });
});

test("applied index, leader index and data survive close and reopen", async () => {
  // Proves persistence: the system values are stored with the data and read back at open.
  await withTable(async (table) => {
    await table.apply(put("a", "1"), put("b", "2", { leaderIndex: 40 }), null);
    await table.reopen();
    assert.equal(table.sm.appliedIndex, 3);
    assert.equal(table.sm.leaderIndex, 40);
    assert.deepEqual(table.dump(), [["a", "1"], ["b", "2"]]);
    assert.equal((await table.apply1(put("c", "3"))).revision, 4);
  });
});

test("replaying already-applied entries is a no-op", async () => {
  // Proves idempotent replay after a crash: entries ≤ appliedIndex are skipped and only later ones return results.
  await withTable(async (table) => {
    await table.sm.apply([
      { index: 1, command: put("k", "first") },
      { index: 2, command: del("k") },
      { index: 3, command: put("other", "x") },
    ]);
    const results = await table.sm.apply([
      { index: 2, command: put("k", "replayed") },
      { index: 3, command: put("other", "replayed") },
      { index: 4, command: put("new", "y") },
    ]);
    assert.deepEqual(results.map((r) => r.index), [4]);
    assert.deepEqual(table.dump(), [["new", "y"], ["other", "x"]]);
    assert.deepEqual(await table.sm.apply([{ index: 4, command: put("new", "again") }]), []);
    assert.deepEqual(await table.sm.apply([]), []);
  });
});

test("entry indices must ascend", async () => {
  // Proves a mis-ordered batch is refused as an invariant violation before anything is written.
  await withTable(async (table) => {
    await assert.rejects(table.sm.apply([{ index: 2, command: put("a", "1") }, { index: 2, command: put("b", "1") }]), InvariantError);
    await assert.rejects(table.sm.apply([{ index: 0, command: put("a", "1") }]), InvariantError);
    assert.equal(table.sm.appliedIndex, 0);
  });
});

test("leader_index: present values win in order, a present 0 resets, absence keeps the last", async () => {
  // Proves §8.4 leader index tracking across batches, including the Reset command (leader_index 0).
  await withTable(async (table) => {
    await table.apply(put("a", "1", { leaderIndex: 10 }), put("b", "1", { leaderIndex: 12 }), put("c", "1"));
    assert.equal(table.sm.leaderIndex, 12);
    await table.apply(put("d", "1"));
    assert.equal(table.sm.leaderIndex, 12);
    await table.apply({ type: CommandType.DUMMY, leaderIndex: 0 });
    assert.equal(table.sm.leaderIndex, 0);
    const decoded = pb.Command.decode(pb.Command.encode({ type: CommandType.DUMMY, leaderIndex: 77 }).finish());
    await table.apply(decoded);
    assert.equal(table.sm.leaderIndex, 77);
  });
});

test("SEQUENCE applies its sub-commands in order with the SEQUENCE's own leader_index", async () => {
  // Proves §9.8: sub-commands run in order (later ones see earlier writes), responses are concatenated,
  // a DUMMY sub-command's leader index does not set the position, and the SEQUENCE's own leader index is stored.
  await withTable(async (table) => {
    const result = await table.apply1({
      type: CommandType.SEQUENCE,
      leaderIndex: 500,
      sequence: [put("a", "1", { leaderIndex: 1 }), put("a", "2", { prevKvs: true, leaderIndex: 2 }), { type: CommandType.DUMMY, leaderIndex: 3 }, del("a", undefined, { count: true })],
    });
    assert.deepEqual(result.responses, [
      { responsePut: {} },
      { responsePut: { prevKv: { key: b("a"), value: b("1") } } },
      { responseDeleteRange: { deleted: 1 } },
    ]);
    assert.equal(table.sm.leaderIndex, 500);
    assert.deepEqual(table.dump(), []);
  });
});

test("a replicated SEQUENCE applies only the leader entries that continue the replica's position", async () => {
  // Proves the exactly-once, in-order rule: a stale batch (leader entries 1..2 after 1..3 were applied)
  // changes nothing; an overlapping batch applies only its new entries; a batch after a gap is not applied;
  // a Reset DUMMY still sets the position to 0.
  await withTable(async (table) => {
    const seq = (from: number, values: string[]) => ({
      type: CommandType.SEQUENCE,
      leaderIndex: from + values.length - 1,
      sequence: values.map((value, i) => put("k", value, { leaderIndex: from + i })),
    });
    await table.apply1(seq(1, ["a", "b", "c"]));
    assert.equal(table.sm.leaderIndex, 3);
    await table.apply1({ type: CommandType.TXN, txn: { success: [opPut("seen", "x")] } });
    await table.apply1(seq(1, ["stale1", "stale2"]));
    assert.equal(table.sm.leaderIndex, 3);
    assert.deepEqual(table.dump().find(([key]) => key === "k"), ["k", "c"]);
    await table.apply1(seq(2, ["dup", "dup", "d"]));
    assert.equal(table.sm.leaderIndex, 4);
    assert.deepEqual(table.dump().find(([key]) => key === "k"), ["k", "d"]);
    // A batch that does not continue at 5 (a gap: 6..7) is not applied; the one for 5.. then is.
    await table.apply1(seq(6, ["gap1", "gap2"]));
    assert.equal(table.sm.leaderIndex, 4);
    assert.deepEqual(table.dump().find(([key]) => key === "k"), ["k", "d"]);
    await table.apply1(seq(5, ["e"]));
    assert.equal(table.sm.leaderIndex, 5);
    await table.apply1({ type: CommandType.DUMMY, leaderIndex: 0 });
    assert.equal(table.sm.leaderIndex, 0);
    // After a reset, replay from index 1 applies again.
    await table.apply1(seq(1, ["replayed"]));
    assert.equal(table.sm.leaderIndex, 1);
  });
});

test("PUT_BATCH and DELETE_BATCH give one response per pair", async () => {
  // Proves the batch commands of §8.4 (DELETE_BATCH deletes single keys and reports no count).
  await withTable(async (table) => {
    const putResult = await table.apply1({ type: CommandType.PUT_BATCH, batch: [{ key: b("a"), value: b("1") }, { key: b("b") }, { key: b("a"), value: b("3") }] });
    assert.deepEqual(putResult.responses, [{ responsePut: {} }, { responsePut: {} }, { responsePut: {} }]);
    assert.deepEqual(table.dump(), [["a", "3"], ["b", ""]]);
    const delResult = await table.apply1({ type: CommandType.DELETE_BATCH, batch: [{ key: b("a") }, { key: b("missing") }] });
    assert.deepEqual(delResult.responses, [{ responseDeleteRange: {} }, { responseDeleteRange: {} }]);
    assert.deepEqual(table.dump(), [["b", ""]]);
  });
});

test("DUMMY changes no data; a TXN reports its outcome in succeeded", async () => {
  // Proves DUMMY is a no-op with no responses and that ApplyResult.succeeded carries the TXN outcome.
  await withTable(async (table) => {
    await table.apply(put("a", "1"));
    assert.deepEqual((await table.apply1({ type: CommandType.DUMMY })).responses, []);
    const failed = await table.apply1(txn({ compare: [{ key: b("missing") }], success: [opPut("x", "1")] }));
    assert.equal(failed.succeeded, false);
    assert.deepEqual(failed.responses, []);
    assert.equal(failed.revision, table.sm.appliedIndex, "an empty executed branch still has its entry's revision ([FIX])");
    assert.deepEqual(table.dump(), [["a", "1"]]);
  });
});

test("DeleteRange counts and prev_kvs follow §4.5 and the §17 checklist", async () => {
  // Proves: delete-all on empty table → deleted 0; count after one put → 1; prev_kv → [pair] and 1;
  // missing key with count → 0 and no prev_kvs; without count/prev_kv deleted stays unset.
  await withTable(async (table) => {
    const all = (extra = {}) => del("\x00", "\x00", extra);
    const empty = await table.apply1(all({ count: true }));
    assert.ok(empty.revision > 0);
    assert.deepEqual(empty.responses, [{ responseDeleteRange: { deleted: 0 } }]);
    await table.apply(put("k", "v"));
    assert.deepEqual((await table.apply1(all({ count: true }))).responses, [{ responseDeleteRange: { deleted: 1 } }]);
    await table.apply(put("k", "v"));
    assert.deepEqual((await table.apply1(all({ prevKvs: true }))).responses, [{ responseDeleteRange: { deleted: 1, prevKvs: [{ key: b("k"), value: b("v") }] } }]);
    assert.deepEqual((await table.apply1(del("missing", undefined, { count: true, prevKvs: true }))).responses, [{ responseDeleteRange: { deleted: 0 } }]);
    await table.apply(put("k", "v"));
    assert.deepEqual((await table.apply1(all())).responses, [{ responseDeleteRange: {} }]);
    assert.deepEqual(table.dump(), [], "the key was deleted even though deleted was not computed");
  });
});

test("DeleteRange [key_1, key_3) removes key_1 and key_2 only; a present-but-empty range_end deletes one key", async () => {
  // Proves half-open range deletion and the [FIX] that an empty range_end is a single-key delete.
  await withTable(async (table) => {
    await table.apply(put("key_1", "1"), put("key_2", "2"), put("key_3", "3"), put("key_4", "4"));
    await table.apply(del("key_1", "key_3"));
    assert.deepEqual(table.dump().map(([k]) => k), ["key_3", "key_4"]);
    await table.apply(del("key_3", ""));
    assert.deepEqual(table.dump().map(([k]) => k), ["key_4"]);
  });
});

test("a large range delete counts every key while prev_kvs stop at the response budget", async () => {
  // Proves the §4.5 [FIX]: deleted is the full count even when prev_kvs are truncated, across delete batches.
  await withTable(async (table) => {
    const big = "x".repeat(512 * 1024);
    await table.apply(...Array.from({ length: 10 }, (_, i) => put(`big-${i}`, big)));
    await table.apply(...Array.from({ length: 3000 }, (_, i) => put(`small-${String(i).padStart(4, "0")}`, "s")));
    const bigResult = (await table.apply1(del("big-", "big.", { prevKvs: true, count: true }))).responses[0]!.responseDeleteRange!;
    assert.equal(bigResult.deleted, 10);
    assert.equal(bigResult.prevKvs!.length, 7);
    const smallResult = (await table.apply1(del("small-", "\x00", { count: true }))).responses[0]!.responseDeleteRange!;
    assert.deepEqual(smallResult, { deleted: 3000 });
    assert.deepEqual(table.dump(), []);
  });
});

test("an unknown command type rejects, applies nothing and stops the table", async () => {
  // Proves §8.4: an unknown type (also inside a SEQUENCE) is fatal, the whole batch is refused, and later
  // applies are refused too rather than skipping the entry.
  await withTable(async (table) => {
    await table.apply(put("a", "1"));
    const bad = table.sm.apply([
      { index: 2, command: put("b", "2", { leaderIndex: 9 }) },
      { index: 3, command: { type: 42 as armada.v1.Command.CommandType } },
    ]);
    await assert.rejects(bad, (error: unknown) => error instanceof UnknownCommandTypeError && error.index === 3);
    assert.equal(table.sm.appliedIndex, 1);
    assert.equal(table.sm.leaderIndex, 0);
    assert.deepEqual(table.dump(), [["a", "1"]]);
    await assert.rejects(table.sm.apply([{ index: 2, command: put("c", "3") }]), StateMachineClosedError);
    await table.reopen();
    await assert.rejects(table.apply({ type: CommandType.SEQUENCE, sequence: [put("x", "1"), { type: 7 as armada.v1.Command.CommandType }] }), UnknownCommandTypeError);
    assert.deepEqual(table.dump(), [["a", "1"]]);
  });
});

test("a failure in the middle of a batch rolls back every write of the batch", async () => {
  // Proves atomicity: a TXN putting a key LMDB cannot store fails after earlier entries wrote, and none of it lands.
  await withTable(async (table) => {
    const failing = table.apply(put("a", "1"), { type: CommandType.DELETE_BATCH, batch: [{ key: b("x") }] }, txn({ success: [opPut("ok", "1"), opPut("k".repeat(3000), "v")] }));
    await assert.rejects(failing, (error: unknown) => error instanceof FatalApplyError && error.index === 3 && /3000 bytes/.test(error.message));
    assert.equal(table.sm.appliedIndex, 0);
    await table.reopen();
    assert.deepEqual(table.dump(), []);
    assert.equal(table.sm.appliedIndex, 0);
  });
});

test("apply and reads reject once the state machine is closed", async () => {
  // Proves closed tables refuse work with a typed error.
  await withTable(async (table) => {
    await table.sm.close();
    await assert.rejects(table.apply(put("a", "1")), StateMachineClosedError);
    assert.throws(() => table.sm.range({ key: b("a") }), StateMachineClosedError);
    assert.throws(() => table.sm.snapshot(), StateMachineClosedError);
    await table.reopen();
    assert.deepEqual(pairs(table.sm.range({ key: b("a") })), []);
  });
});
