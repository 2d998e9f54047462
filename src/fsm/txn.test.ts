import assert from "node:assert/strict";
import { test } from "node:test";
import { pb, type armada } from "../proto/index.js";
import { NotReadOnlyTxnError } from "./errors.js";
import { CompareResult, b, cmp, keys, opDelete, opPut, opRange, pairs, put, txn, withTable, type TestTable } from "./testkit.js";

const { EQUAL, GREATER, LESS, NOT_EQUAL } = CompareResult;

/** Applies a TXN with `compare` and distinct marker puts in each branch; returns which branch ran. */
async function branch(table: TestTable, ...compare: armada.v1.ICompare[]): Promise<boolean> {
  const result = await table.apply1(txn({ compare, success: [opRange("marker")], failure: [opRange("marker")] }));
  return result.succeeded;
}

test("no compares: three puts and a count-only range of their prefix", async () => {
  // Proves the §4.6.6 worked example: succeeded, responses [put, put, put, range{count 3}], ops see earlier ops.
  await withTable(async (table) => {
    const result = await table.apply1(txn({ success: [opPut("p/1", "a"), opPut("p/2", "b"), opPut("p/3", "c"), opRange("p/", "p0", { countOnly: true })] }));
    assert.equal(result.succeeded, true);
    assert.deepEqual(result.responses, [
      { responsePut: {} },
      { responsePut: {} },
      { responsePut: {} },
      { responseRange: { kvs: [], count: 3, more: false } },
    ]);
  });
});

test("EQUAL: matching value runs success, otherwise failure with the failure put's prev_kv", async () => {
  // Proves compare-and-set from §4.6.6 including prev_kv inside a transaction op.
  await withTable(async (table) => {
    await table.apply(put("john", "doe"), put("foo", "old"));
    const ok = await table.apply1(txn({ compare: [cmp("john", EQUAL, "doe")], success: [opPut("jane", "doe", true)], failure: [opPut("foo", "bar", true)] }));
    assert.equal(ok.succeeded, true);
    assert.deepEqual(ok.responses, [{ responsePut: {} }]);
    const no = await table.apply1(txn({ compare: [cmp("john", EQUAL, "smith")], success: [opPut("jane", "x")], failure: [opPut("foo", "bar", true)] }));
    assert.equal(no.succeeded, false);
    assert.deepEqual(no.responses, [{ responsePut: { prevKv: { key: b("foo"), value: b("old") } } }]);
    assert.deepEqual(table.dump(), [["foo", "bar"], ["jane", "doe"], ["john", "doe"]]);
  });
});

test("existence compares and absent keys", async () => {
  // Proves: no operand → existence test (result ignored); an absent key is false for every operator, NOT_EQUAL too.
  await withTable(async (table) => {
    await table.apply(put("here", "v"));
    assert.equal(await branch(table, cmp("here", EQUAL)), true);
    assert.equal(await branch(table, cmp("here", NOT_EQUAL)), true);
    assert.equal(await branch(table, cmp("gone", EQUAL)), false);
    for (const op of [EQUAL, NOT_EQUAL, GREATER, LESS]) assert.equal(await branch(table, cmp("gone", op, "v")), false, `operator ${op}`);
    assert.equal(await branch(table), true, "an empty compare list holds");
  });
});

test("range compares: every key must satisfy, and an empty range is false", async () => {
  // Proves §4.6.3 range semantics, with a bounded end and the unbounded 0x00 end.
  await withTable(async (table) => {
    await table.apply(put("r1", "same"), put("r2", "same"), put("r3", "same"), put("s", "other"));
    assert.equal(await branch(table, cmp("r", EQUAL, "same", "s")), true);
    assert.equal(await branch(table, cmp("r", EQUAL, "same", "\x00")), false, "s differs and is in [r, ∞)");
    await table.apply(put("r2", "different"));
    assert.equal(await branch(table, cmp("r", EQUAL, "same", "s")), false);
    assert.equal(await branch(table, cmp("x", EQUAL, "same", "y")), false, "no key in range");
    assert.equal(await branch(table, cmp("x", EQUAL, undefined, "y")), false, "existence over an empty range");
    assert.equal(await branch(table, cmp("jack", EQUAL, undefined, "s")), true, "existence guard: at least one key in [jack, s)");
    assert.equal(await branch(table, cmp("r", NOT_EQUAL, "zzz", "s")), true);
    assert.equal(await branch(table, cmp("s", EQUAL, "other", "r")), false, "range_end ≤ key selects nothing");
  });
});

test("GREATER and LESS compare bytes unsigned with the stored value on the left", async () => {
  // Proves operand order and unsigned bytewise ordering (0xFF > 0x01; a proper prefix sorts first).
  await withTable(async (table) => {
    await table.apply(put("k", "b"), put("hi", "\xff"), put("ab", "ab"));
    assert.equal(await branch(table, cmp("k", GREATER, "a")), true);
    assert.equal(await branch(table, cmp("k", LESS, "a")), false);
    assert.equal(await branch(table, cmp("k", LESS, "c")), true);
    assert.equal(await branch(table, cmp("k", GREATER, "b")), false);
    assert.equal(await branch(table, cmp("hi", GREATER, "\x01")), true);
    assert.equal(await branch(table, cmp("ab", GREATER, "a")), true);
    assert.equal(await branch(table, cmp("ab", LESS, "abc")), true);
  });
});

test("an empty operand is present and matches an empty stored value", async () => {
  // Proves oneof presence: operand "" compares (EQUAL "" true on an empty value, false on "x"),
  // also after a round trip through the wire encoding.
  await withTable(async (table) => {
    await table.apply(put("empty", ""), put("full", "x"));
    assert.equal(await branch(table, cmp("empty", EQUAL, "")), true);
    assert.equal(await branch(table, cmp("full", EQUAL, "")), false);
    const wire = pb.Command.decode(pb.Command.encode(txn({ compare: [cmp("full", EQUAL, "")], success: [opPut("s", "1")] })).finish());
    assert.equal(wire.txn!.compare![0]!.targetUnion, "value");
    assert.equal((await table.apply1(wire)).succeeded, false);
    const noOperand = pb.Command.decode(pb.Command.encode(txn({ compare: [cmp("full", EQUAL)], success: [opPut("s", "1")] })).finish());
    assert.equal((await table.apply1(noOperand)).succeeded, true);
  });
});

test("ops observe earlier ops of the same transaction; the last write wins", async () => {
  // Proves §4.6.4 working state: put → range sees it; put twice → last wins; delete → later range misses it.
  await withTable(async (table) => {
    await table.apply(put("gone", "1"));
    const result = await table.apply1(txn({
      success: [opPut("k", "1"), opRange("k"), opPut("k", "2", true), opDelete("gone", "", { count: true }), opRange("a", "\x00"), opPut("k", "3")],
    }));
    const [, first, second, deleted, all] = result.responses;
    assert.deepEqual(pairs(first!.responseRange!), [["k", "1"]]);
    assert.deepEqual(second!.responsePut, { prevKv: { key: b("k"), value: b("1") } });
    assert.deepEqual(deleted!.responseDeleteRange, { deleted: 1 });
    assert.deepEqual(pairs(all!.responseRange!), [["k", "2"]]);
    assert.deepEqual(table.dump(), [["k", "3"]]);
  });
});

test("reference quirks of replicated transactions are kept", async () => {
  // Proves §9.8 fidelity: unknown compare target/result act as existence tests, unset ops are skipped,
  // empty keys are legal in ops.
  await withTable(async (table) => {
    await table.apply(put("k", "v"));
    const unknownTarget = { key: b("k"), target: 5 as armada.v1.Compare.CompareTarget, value: b("nope") };
    assert.equal(await branch(table, unknownTarget), true);
    assert.equal(await branch(table, { key: b("k"), result: 9 as armada.v1.Compare.CompareResult, value: b("nope") }), true);
    assert.equal(await branch(table, { key: b("absent"), target: 5 as armada.v1.Compare.CompareTarget }), false);
    const result = await table.apply1(txn({ success: [{}, opPut("", "empty-key"), {}, opRange("")] }));
    assert.deepEqual(result.responses.length, 2);
    assert.deepEqual(pairs(result.responses[1]!.responseRange!), [["", "empty-key"]]);
  });
});

test("read-only transactions are evaluated on one view and write nothing", async () => {
  // Proves txnReadOnly: compares and range ops against committed state, no index change, writes refused.
  await withTable(async (table) => {
    await table.apply(put("a", "1"), put("b", "2"));
    const before = table.sm.appliedIndex;
    const outcome = table.sm.txnReadOnly({ compare: [cmp("a", EQUAL, "1")], success: [opRange("a", "c", { keysOnly: true }), opRange("b")], failure: [] });
    assert.equal(outcome.succeeded, true);
    assert.deepEqual(outcome.responses.map((r) => keys(r.responseRange!)), [["a", "b"], ["b"]]);
    const failed = table.sm.txnReadOnly({ compare: [cmp("a", EQUAL, "x")], failure: [opRange("zz")] });
    assert.deepEqual(failed, { succeeded: false, responses: [{ responseRange: { kvs: [], count: 0, more: false } }] });
    assert.throws(() => table.sm.txnReadOnly({ failure: [opPut("x", "1")] }), NotReadOnlyTxnError);
    assert.throws(() => table.sm.txnReadOnly({ success: [opDelete("a")] }), NotReadOnlyTxnError);
    assert.equal(table.sm.appliedIndex, before);
    assert.deepEqual(table.dump(), [["a", "1"], ["b", "2"]]);
  });
});
