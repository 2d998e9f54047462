import assert from "node:assert/strict";
import { test } from "node:test";
import { StateMachineClosedError } from "./errors.js";
import type { RangeResult } from "./range.js";
import { b, del, keys, put, withTable, type TestTable } from "./testkit.js";

const ALL = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };
const HALF_MIB = 512 * 1024;

async function fillLarge(table: TestTable, count: number): Promise<void> {
  const value = "x".repeat(HALF_MIB);
  for (let i = 0; i < count; i += 10) {
    await table.apply(...Array.from({ length: Math.min(10, count - i) }, (_, j) => put(`key-${String(i + j).padStart(3, "0")}`, value)));
  }
}

function shape(chunks: RangeResult[]): { counts: number[]; more: boolean[] } {
  return { counts: chunks.map((c) => c.count), more: chunks.map((c) => c.more) };
}

test("IterateRange over 10 values of 512 KiB yields 2 responses (7 + 3)", async () => {
  // Proves the per-message size budget: every message but the last has more = true.
  await withTable(async (table) => {
    await fillLarge(table, 10);
    const chunks = [...table.sm.iterateRange(ALL)];
    assert.deepEqual(shape(chunks), { counts: [7, 3], more: [true, false] });
    assert.deepEqual(chunks.map((c) => c.kvs.length), [7, 3]);
    assert.equal(chunks[1]!.kvs[2]!.value!.length, HALF_MIB);
  });
});

test("IterateRange over 100 values of 512 KiB yields 15 responses; limit 50 yields 8 totalling 50", async () => {
  // Proves §17's message counts, that the limit spans the whole stream, and that the last message reports
  // more = true when the limit cut off further keys ([FIX] semantics).
  await withTable(async (table) => {
    await fillLarge(table, 100);
    const all = [...table.sm.iterateRange(ALL)];
    assert.equal(all.length, 15);
    assert.equal(all.reduce((sum, c) => sum + c.count, 0), 100);
    assert.deepEqual(all.map((c) => c.more), [...Array(14).fill(true), false]);
    const limited = [...table.sm.iterateRange({ ...ALL, limit: 50 })];
    assert.equal(limited.length, 8);
    assert.equal(limited.reduce((sum, c) => sum + c.count, 0), 50);
    assert.equal(limited.at(-1)!.more, true);
    const exact = [...table.sm.iterateRange({ ...ALL, limit: 100 })];
    assert.equal(exact.at(-1)!.more, false, "limit equal to the match count: nothing more");
    assert.deepEqual(shape([...table.sm.iterateRange({ ...ALL, countOnly: true })]), { counts: [100], more: [false] });
    assert.deepEqual(shape([...table.sm.iterateRange({ ...ALL, keysOnly: true })]), { counts: [100], more: [false] });
  });
});

test("IterateRange yields exactly one message for empty ranges and single keys", async () => {
  // Proves: no match → one empty message; no range_end → one message with the key (or empty if missing).
  await withTable(async (table) => {
    await table.apply(put("a", "1"), put("b", "2"));
    assert.deepEqual([...table.sm.iterateRange({ key: b("x"), rangeEnd: b("y") })], [{ kvs: [], count: 0, more: false }]);
    assert.deepEqual([...table.sm.iterateRange({ key: b("b"), rangeEnd: b("a") })], [{ kvs: [], count: 0, more: false }]);
    assert.deepEqual([...table.sm.iterateRange({ key: b("a") })], [{ kvs: [{ key: b("a"), value: b("1") }], count: 1, more: false }]);
    assert.deepEqual([...table.sm.iterateRange({ key: b("zz") })], [{ kvs: [], count: 0, more: false }]);
  });
});

test("IterateRange does not observe writes made after it started", async () => {
  // Proves the point-in-time view: puts, overwrites and deletes applied mid-stream are invisible to it.
  await withTable(async (table) => {
    await fillLarge(table, 10);
    const iterator = table.sm.iterateRange(ALL);
    const first = iterator.next();
    await table.apply(put("key-000a", "new"), put("key-009", "overwritten"), del("key-001", "key-008"));
    const rest = [...iterator];
    const seen = [...(first.value as RangeResult).kvs, ...rest.flatMap((c) => c.kvs)];
    assert.equal(seen.length, 10);
    assert.ok(seen.every((kv) => kv.value!.length === HALF_MIB));
    assert.deepEqual(keys(table.sm.range(ALL)), ["key-000", "key-000a", "key-008", "key-009"]);
    const started = table.sm.iterateRange({ key: b("key-000"), rangeEnd: b("key-001") });
    await table.apply(del("key-000", "key-001"));
    assert.deepEqual(keys([...started][0]!), ["key-000", "key-000a"], "even the first message reflects the view at creation");
  });
});

test("closing an IterateRange stream early releases it; closing the table fails open streams", async () => {
  // Proves close() ends a stream, and that a stream left open at shutdown errors instead of ending short.
  await withTable(async (table) => {
    await fillLarge(table, 10);
    const iterator = table.sm.iterateRange(ALL);
    iterator.next();
    iterator.close();
    assert.deepEqual(iterator.next(), { done: true, value: undefined });
    const dangling = table.sm.iterateRange(ALL);
    dangling.next();
    await table.sm.close();
    assert.throws(() => dangling.next(), StateMachineClosedError);
    await table.reopen();
    assert.equal(table.sm.range({ ...ALL, countOnly: true }).count, 10);
  });
});

test("a response's entries handed to a sink carry their own values, even with reads between responses", async () => {
  // Proves the lent values of nextTo (store.ts, readingLentValues): each value is right while the sink has
  // it, and the entry that waits for the next response keeps its value although other reads of the table
  // ran in between (they reuse LMDB's read buffer, which holds values of this size).
  await withTable(async (table) => {
    const count = 2200;
    const name = (i: number) => `key-${String(i).padStart(5, "0")}`;
    const valueOf = (i: number) => `${name(i)}:`.padEnd(2000, String.fromCharCode(97 + (i % 26)));
    for (let i = 0; i < count; i += 100) {
      await table.apply(...Array.from({ length: Math.min(100, count - i) }, (_, j) => put(name(i + j), valueOf(i + j))));
    }
    const iterator = table.sm.iterateRange(ALL);
    const seen: string[] = [];
    const responses: number[] = [];
    for (;;) {
      const summary = iterator.nextTo({ entry: (key, value) => seen.push(`${Buffer.from(key).toString()}=${Buffer.from(value!).toString()}`) });
      if (summary === undefined) break;
      responses.push(summary.count);
      // Other reads between two responses, as other calls make while a stream waits for its client.
      assert.equal(Buffer.from(table.sm.range({ key: b(name(7)) }).kvs[0]!.value!).toString(), valueOf(7));
      table.sm.rangeTo({ key: b(name(0)), rangeEnd: b(name(3)) }, { entry: () => undefined });
    }
    assert.equal(responses.length, 2);
    assert.equal(seen.length, count);
    seen.forEach((entry, i) => assert.equal(entry, `${name(i)}=${valueOf(i)}`, `entry ${i}`));
  });
});
