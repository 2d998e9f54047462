import { test } from "node:test";
import assert from "node:assert/strict";
import type { Engine, TableHandle } from "../engine/engine.js";
import { TableNotFoundError } from "../engine/errors.js";
import { pb, toNumber, type armada } from "../proto/index.js";
import { b, put, withTable } from "../fsm/testkit.js";
import type { CallContext } from "./bind.js";
import type { FramedResponse } from "./framed-response.js";
import { kvHandlers, lookupTable } from "./kv.js";

/** An engine that records the names it is asked for and hands back a marker per name. */
function recordingEngine(): { engine: Engine; asked: string[] } {
  const asked: string[] = [];
  const engine = { table: (name: string) => (asked.push(name), { name } as unknown as TableHandle) } as unknown as Engine;
  return { engine, asked };
}

test("lookupTable names the table its bytes spell, call after call, whatever the previous call named", () => {
  const { engine, asked } = recordingEngine();
  const request = Buffer.from("orders");
  lookupTable(engine, request);
  lookupTable(engine, Buffer.from("orders"));
  lookupTable(engine, Buffer.from("users"));
  // The same buffer, reused for another request: the name must follow the bytes, not the buffer.
  request.write("ordery");
  lookupTable(engine, request);
  lookupTable(engine, Buffer.from("ordérs"));
  lookupTable(engine, new Uint8Array(0));
  assert.deepEqual(asked, ["orders", "orders", "users", "ordery", "ordérs", ""]);
});

test("lookupTable refuses bytes that are not UTF-8 every time, even right after a good name", () => {
  const { engine, asked } = recordingEngine();
  const bad = Buffer.from([0x6f, 0xff, 0x72]);
  lookupTable(engine, Buffer.from("orders"));
  for (let i = 0; i < 2; i++) assert.throws(() => lookupTable(engine, bad), TableNotFoundError);
  assert.deepEqual(asked, ["orders"]);
});

test("Range answers a single key, a missing key, keys_only, count_only and a range from the replica", async () => {
  await withTable(async (table) => {
    await table.apply(put("a", "alpha"), put("b", "beta"), put("c", "gamma"));
    const status = { shardId: 7, replicaId: 2, term: 3, leaderId: 2, commitIndex: 4, appliedIndex: 4 };
    const handle = { stateMachine: table.sm, status: () => status } as unknown as TableHandle;
    const engine = { table: () => handle } as unknown as Engine;
    const range = kvHandlers(engine).Range as (request: armada.v1.RangeRequest, context: CallContext) => FramedResponse;
    const answer = (fields: armada.v1.IRangeRequest) => {
      const response = pb.RangeResponse.decode(range(pb.RangeRequest.create({ table: b("t"), ...fields }), {} as CallContext).message);
      return { kvs: response.kvs.map((kv) => [Buffer.from(kv.key ?? []).toString(), Buffer.from(kv.value ?? []).toString()]), count: toNumber(response.count), more: response.more };
    };
    assert.deepEqual(answer({ key: b("b") }), { kvs: [["b", "beta"]], count: 1, more: false });
    assert.deepEqual(answer({ key: b("zz") }), { kvs: [], count: 0, more: false });
    assert.deepEqual(answer({ key: b("b"), keysOnly: true }), { kvs: [["b", ""]], count: 1, more: false });
    assert.deepEqual(answer({ key: b("b"), countOnly: true }), { kvs: [], count: 1, more: false });
    assert.deepEqual(answer({ key: b("a"), rangeEnd: b("c") }), { kvs: [["a", "alpha"], ["b", "beta"]], count: 2, more: false });
    assert.deepEqual(answer({ key: b("a"), rangeEnd: b("c"), countOnly: true }), { kvs: [], count: 2, more: false });
    const header = pb.RangeResponse.decode(range(pb.RangeRequest.create({ table: b("t"), key: b("a") }), {} as CallContext).message).header!;
    assert.deepEqual([header.shardId, header.replicaId, header.raftTerm, header.raftLeaderId].map(toNumber), [7, 2, 3, 2]);
  });
});
