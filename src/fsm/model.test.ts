import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { armada } from "../proto/index.js";
import type { RangeQuery, RangeResult } from "./range.js";
import { CommandType, withTable } from "./testkit.js";

/** The state machine's contents as a plain map from hex key to value. */
type Model = Map<string, Buffer>;

const byteKey = fc.uint8Array({ minLength: 0, maxLength: 3 }).map((bytes) => Buffer.from(bytes.map((x) => [0x00, 0x01, 0x61, 0x62, 0xff][x % 5]!)));
const value = fc.uint8Array({ maxLength: 4 }).map((bytes) => Buffer.from(bytes));
/** range_end variants: absent, present-but-empty, the unbounded 0x00, or any key. */
const rangeEnd = fc.oneof(fc.constant(undefined), fc.constant(Buffer.alloc(0)), fc.constant(Buffer.of(0)), byteKey);

const command: fc.Arbitrary<armada.v1.ICommand> = fc.oneof(
  fc.record({ key: byteKey, value }).map(({ key, value }) => ({ type: CommandType.PUT, kv: { key, value } })),
  fc.record({ key: byteKey, end: rangeEnd }).map(({ key, end }) => ({ type: CommandType.DELETE, kv: { key }, ...(end ? { rangeEnd: end } : {}) })),
);

const query: fc.Arbitrary<RangeQuery> = fc.record({
  key: byteKey,
  rangeEnd,
  limit: fc.integer({ min: 0, max: 4 }),
  mode: fc.constantFrom("full", "keysOnly", "countOnly"),
}).map(({ key, rangeEnd, limit, mode }) => ({ key, rangeEnd, limit, keysOnly: mode === "keysOnly", countOnly: mode === "countOnly" }));

/** The spec's key selection (§4.2.2), written independently of the implementation. */
function selected(model: Model, key: Buffer, end: Buffer | undefined | null): Buffer[] {
  const all = [...model.keys()].map((hex) => Buffer.from(hex, "hex")).sort(Buffer.compare);
  if (!end || end.length === 0) return all.filter((k) => k.equals(key));
  const unbounded = end.length === 1 && end[0] === 0;
  return all.filter((k) => Buffer.compare(k, key) >= 0 && (unbounded || Buffer.compare(k, end) < 0));
}

function applyToModel(model: Model, cmd: armada.v1.ICommand): void {
  const key = Buffer.from(cmd.kv!.key!);
  if (cmd.type === CommandType.PUT) model.set(key.toString("hex"), Buffer.from(cmd.kv!.value!));
  else for (const k of selected(model, key, cmd.rangeEnd as Buffer | undefined)) model.delete(k.toString("hex"));
}

function modelRange(model: Model, q: RangeQuery): RangeResult {
  const single = !q.rangeEnd || q.rangeEnd.length === 0;
  const matches = selected(model, Buffer.from(q.key), q.rangeEnd as Buffer | undefined);
  const limit = single || !q.limit ? matches.length : q.limit;
  const taken = matches.slice(0, limit);
  const more = matches.length > taken.length;
  if (q.countOnly) return { kvs: [], count: taken.length, more };
  const kvs = taken.map((key) => {
    const stored = model.get(key.toString("hex"))!;
    return q.keysOnly || stored.length === 0 ? { key } : { key, value: stored };
  });
  return { kvs, count: kvs.length, more };
}

function normalise(result: RangeResult): unknown {
  return { ...result, kvs: result.kvs.map((kv) => ({ key: Buffer.from(kv.key!).toString("hex"), value: kv.value ? Buffer.from(kv.value).toString("hex") : undefined })) };
}

test("range and iterateRange agree with an in-memory model of the spec", async () => {
  // Proves, over random puts/deletes (incl. empty keys, 0x00/0xFF bytes, every range_end form) and random
  // queries, that Range results, and the IterateRange stream, equal a direct implementation of §4.2.
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(command, { maxLength: 12 }), { maxLength: 3 }), fc.array(query, { minLength: 1, maxLength: 12 }), async (batches, queries) => {
      await withTable(async (table) => {
        const model: Model = new Map();
        for (const batch of batches) {
          await table.apply(...batch);
          batch.forEach((cmd) => applyToModel(model, cmd));
        }
        for (const q of queries) {
          const expected = normalise(modelRange(model, q));
          assert.deepEqual(normalise(table.sm.range(q)), expected);
          const chunks = [...table.sm.iterateRange(q)];
          assert.equal(chunks.length, 1);
          assert.deepEqual(normalise(chunks[0]!), expected);
        }
      });
    }),
    { numRuns: 60 },
  );
});
