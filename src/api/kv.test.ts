import { test } from "node:test";
import assert from "node:assert/strict";
import type { Engine, TableHandle } from "../engine/engine.js";
import { TableNotFoundError } from "../engine/errors.js";
import { lookupTable } from "./kv.js";

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
