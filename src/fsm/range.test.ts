import assert from "node:assert/strict";
import { test } from "node:test";
import { pb } from "../proto/index.js";
import { RESPONSE_SIZE_BUDGET } from "./constants.js";
import type { RangeQuery } from "./range.js";
import { keyValueFieldSize } from "./response-size.js";
import { b, keys, pairs, prefixEnd, put, withTable, type TestTable } from "./testkit.js";

const ALL = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };

async function fill(table: TestTable, names: string[], value = "v"): Promise<void> {
  await table.apply(...names.map((name) => put(name, value)));
}

test("single-key lookup: found, missing, keys_only and count_only", async () => {
  // Proves §4.2.3: found → one kv with count 1; missing → empty success; flags shape the result; limit is ignored.
  await withTable(async (table) => {
    await fill(table, ["a", "b"], "value");
    assert.deepEqual(table.sm.range({ key: b("a") }), { kvs: [{ key: b("a"), value: b("value") }], count: 1, more: false });
    assert.deepEqual(table.sm.range({ key: b("zz"), limit: 5 }), { kvs: [], count: 0, more: false });
    assert.deepEqual(table.sm.range({ key: b("a"), keysOnly: true }), { kvs: [{ key: b("a") }], count: 1, more: false });
    assert.deepEqual(table.sm.range({ key: b("a"), countOnly: true }), { kvs: [], count: 1, more: false });
    assert.deepEqual(table.sm.range({ key: b("a"), rangeEnd: new Uint8Array(0) }).count, 1, "present-but-empty range_end is a single-key lookup");
  });
});

test("a range read into a sink gives the stored values, small or large, as range() does", async () => {
  // Proves rangeTo's lent values end where the values end (LMDB's reusable buffer is larger than a value),
  // that a value larger than that buffer comes through whole, and that single keys, ranges and the flags
  // give what range() gives.
  await withTable(async (table) => {
    const large = "L".repeat(300_000);
    await table.apply(put("small", "value"), put("large", large), put("empty", ""), put("smaller", "v2"));
    const viaSink = (query: RangeQuery) => {
      const kvs: { key: Uint8Array; value?: Uint8Array }[] = [];
      const summary = table.sm.rangeTo(query, { entry: (key, value) => kvs.push(value === undefined || value.length === 0 ? { key } : { key, value: Buffer.from(value) }) });
      return { kvs, ...summary };
    };
    const queries: [string, Partial<RangeQuery>][] = [["small", {}], ["large", {}], ["empty", {}], ["small", { keysOnly: true }], ["small", { countOnly: true }], ["missing", {}]];
    for (const rangeEnd of [b("z"), b("smallest")]) for (const flags of [{}, { keysOnly: true }, { countOnly: true }, { limit: 2 }]) queries.push(["a", { rangeEnd, ...flags }]);
    for (const [key, query] of queries) {
      assert.deepEqual(viaSink({ key: b(key), ...query }), table.sm.range({ key: b(key), ...query }), `${key} ${JSON.stringify(query)}`);
    }
    assert.equal(viaSink({ key: b("large") }).kvs[0]!.value!.length, large.length);
    assert.deepEqual(viaSink({ key: b("a"), rangeEnd: b("z") }).kvs.map((kv) => kv.value?.length ?? 0), [0, large.length, 5, 2]);
    // lookupLent, the serializable read's single-key path, answers as range() does, flags included.
    const tooLong = "k".repeat(5000);
    for (const key of ["small", "large", "empty", "missing", tooLong]) {
      for (const [keysOnly, countOnly] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const lent = table.sm.lookupLent(b(key), keysOnly, countOnly);
        const copied = { ...lent, kvs: lent.kvs.map((kv) => ({ ...kv, ...(kv.value ? { value: Buffer.from(kv.value) } : {}) })) };
        assert.deepEqual(copied, table.sm.range({ key: b(key), keysOnly, countOnly }), `lookupLent ${key.slice(0, 10)} keysOnly=${keysOnly} countOnly=${countOnly}`);
      }
    }
  });
});

test("values read by scans and gets are copies that later reads leave intact", async () => {
  // Proves the data slots' decoder (store.ts) copies out of lmdb-js's reusable read buffer: were a value
  // a view of it, every value of a scan would read as the last one, and a get as whatever came next.
  await withTable(async (table) => {
    const names = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    await table.apply(...names.map((name, i) => put(name, `${name}=${"v".repeat(i * 150)}`)));
    const scanned = table.sm.range(ALL);
    const single = table.sm.range({ key: b("k07") });
    table.sm.range(ALL);
    assert.deepEqual(pairs(scanned), names.map((name, i) => [name, `${name}=${"v".repeat(i * 150)}`]));
    assert.deepEqual(pairs(single), [["k07", `k07=${"v".repeat(7 * 150)}`]]);
  });
});

test("0x00..0x00 selects every key and range_end 0x00 selects keys ≥ key", async () => {
  // Proves the unbounded end, including the one-byte key 0x00 and long 0xFF keys ([FIX] truly unbounded).
  await withTable(async (table) => {
    const longFF = "\xff".repeat(1024);
    await fill(table, ["\x00", "a", "b", "c", "\xff", longFF]);
    assert.deepEqual(keys(table.sm.range(ALL)), ["\x00", "a", "b", "c", "\xff", longFF]);
    assert.deepEqual(keys(table.sm.range({ key: b("b"), rangeEnd: Uint8Array.of(0) })), ["b", "c", "\xff", longFF]);
    assert.deepEqual(keys(table.sm.range({ key: b("\x00"), rangeEnd: b("b") })), ["\x00", "a"]);
  });
});

test("prefix p..p+1 selects exactly the keys with prefix p", async () => {
  // Proves half-open intervals under the client prefix convention, including 0xFF-terminated prefixes.
  await withTable(async (table) => {
    await fill(table, ["p", "pa", "p\xff", "p\xff\xff", "q", "o\xff", "a\xff", "a\xff\x01", "b"]);
    const prefixed = (p: string) => keys(table.sm.range({ key: b(p), rangeEnd: prefixEnd(b(p)) }));
    assert.deepEqual(prefixed("p"), ["p", "pa", "p\xff", "p\xff\xff"]);
    assert.deepEqual(prefixed("p\xff"), ["p\xff", "p\xff\xff"]);
    assert.deepEqual(prefixed("a\xff"), ["a\xff", "a\xff\x01"]);
    assert.deepEqual(prefixed("\xff"), []);
  });
});

test("range_end ≤ key selects nothing", async () => {
  // Proves empty intervals: equal and inverted bounds return an empty success.
  await withTable(async (table) => {
    await fill(table, ["a", "b", "c"]);
    assert.deepEqual(table.sm.range({ key: b("b"), rangeEnd: b("b") }), { kvs: [], count: 0, more: false });
    assert.deepEqual(table.sm.range({ key: b("c"), rangeEnd: b("a") }), { kvs: [], count: 0, more: false });
  });
});

test("limit and more: more is true iff a further key exists ([FIX])", async () => {
  // Proves §17: limit 1 over 9 → more; limit 3 with exactly 4 → more; limit 10 over 3 → no more; limit = matches → no more.
  await withTable(async (table) => {
    await fill(table, ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"]);
    const scan = (end: string, limit: number) => table.sm.range({ key: b("k1"), rangeEnd: b(end), limit });
    assert.deepEqual({ ...scan("k:", 1), kvs: keys(scan("k:", 1)) }, { kvs: ["k1"], count: 1, more: true });
    assert.deepEqual({ ...scan("k5", 3), kvs: keys(scan("k5", 3)) }, { kvs: ["k1", "k2", "k3"], count: 3, more: true });
    assert.deepEqual({ ...scan("k4", 10), kvs: keys(scan("k4", 10)) }, { kvs: ["k1", "k2", "k3"], count: 3, more: false });
    assert.equal(scan("k4", 3).more, false);
    assert.equal(scan("k:", 0).count, 9, "limit 0 means no limit");
  });
});

test("count_only counts up to the limit and returns no kvs; keys_only omits values", async () => {
  // Proves §4.2.4 count semantics for count_only (with and without limit) and keys_only.
  await withTable(async (table) => {
    await fill(table, ["a", "b", "c", "d", "e"]);
    assert.deepEqual(table.sm.range({ ...ALL, countOnly: true, limit: 3 }), { kvs: [], count: 3, more: true });
    assert.deepEqual(table.sm.range({ ...ALL, countOnly: true }), { kvs: [], count: 5, more: false });
    assert.deepEqual(table.sm.range({ ...ALL, countOnly: true, limit: 5 }), { kvs: [], count: 5, more: false });
    const keysOnly = table.sm.range({ ...ALL, keysOnly: true, limit: 2 });
    assert.deepEqual(keysOnly, { kvs: [{ key: b("a") }, { key: b("b") }], count: 2, more: true });
  });
});

test("empty stored values come back as KeyValue without value", async () => {
  // Proves an empty value is stored as empty and returned without the value field, single and range.
  await withTable(async (table) => {
    await fill(table, ["e"], "");
    assert.deepEqual(table.sm.range({ key: b("e") }).kvs, [{ key: b("e") }]);
    assert.deepEqual(table.sm.range(ALL).kvs, [{ key: b("e") }]);
    assert.ok(!("createRevision" in table.sm.range(ALL).kvs[0]!), "revisions are never set");
  });
});

test("an empty key written by a replicated command is stored and readable", async () => {
  // Proves the one-byte key prefix: LMDB refuses empty keys, yet a replicated PUT may carry one.
  await withTable(async (table) => {
    await fill(table, ["", "a"], "x");
    assert.deepEqual(pairs(table.sm.range({ key: new Uint8Array(0) })), [["", "x"]]);
    assert.deepEqual(keys(table.sm.range({ key: new Uint8Array(0), rangeEnd: b("b") })), ["", "a"]);
    assert.deepEqual(keys(table.sm.range(ALL)), ["a"], "0x00..0x00 starts at 0x00, after the empty key");
  });
});

test("over-long bounds are compared exactly", async () => {
  // Proves bounds longer than LMDB's key limit (IterateRange does not check lengths) still select correctly.
  await withTable(async (table) => {
    const long = "m".repeat(1977);
    await fill(table, ["a", long, "n", "z"]);
    assert.deepEqual(keys(table.sm.range({ key: b("m".repeat(3000)), rangeEnd: Uint8Array.of(0) })), ["n", "z"]);
    assert.deepEqual(keys(table.sm.range({ key: b("a"), rangeEnd: b("m".repeat(3000)) })), ["a", long]);
    assert.deepEqual(keys(table.sm.range({ key: b("m".repeat(3000)) })), []);
  });
});

test("the size budget cuts a range response below 4 MiB with more = true", async () => {
  // Proves §4.2.4: 10,000 keys of 1 KiB → one response under 4 MiB whose count is its entry count;
  // count_only ignores the budget and counts all 10,000.
  await withTable(async (table) => {
    const value = "v".repeat(1024);
    for (let batch = 0; batch < 10; batch++) {
      await table.apply(...Array.from({ length: 1000 }, (_, i) => put(`key-${String(batch * 1000 + i).padStart(5, "0")}`, value)));
    }
    const result = table.sm.range(ALL);
    assert.equal(result.more, true);
    assert.equal(result.count, result.kvs.length);
    const encoded = pb.RangeResponse.encode({ kvs: result.kvs, count: result.count, more: result.more }).finish();
    assert.ok(encoded.length < 4 * 1024 * 1024, `response is ${encoded.length} bytes`);
    const kvsSize = result.kvs.reduce((sum, kv) => sum + keyValueFieldSize(kv.key!.length, kv.value!.length), 0);
    assert.ok(kvsSize + 9 + 1024 >= RESPONSE_SIZE_BUDGET, "the cut happens only when the next entry would reach the budget");
    assert.equal(table.sm.range({ ...ALL, countOnly: true }).count, 10_000);
    assert.equal(table.sm.range({ ...ALL, keysOnly: true }).count, 10_000, "keys only: 10,000 short keys fit");
  });
});

test("keyValueFieldSize equals the protobuf encoding of the kvs field", () => {
  // Proves the arithmetic budget matches real encoded sizes, including empty keys/values and long varints.
  for (const [keyLength, valueLength] of [[0, 0], [1, 0], [0, 1], [5, 127], [5, 128], [1024, 2_097_152], [300, 16_384]] as const) {
    const kv = { key: new Uint8Array(keyLength).fill(1), value: new Uint8Array(valueLength).fill(2) };
    const encoded = pb.ResponseOp.Range.encode({ kvs: [kv] }).finish().length;
    assert.equal(keyValueFieldSize(keyLength, valueLength), encoded, `key ${keyLength}, value ${valueLength}`);
  }
});
