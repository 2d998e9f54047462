import assert from "node:assert/strict";
import { test } from "node:test";
import { pb } from "../proto/index.js";
import { encodeCommandRecord, encodeSnappyFrames, readCommandStream } from "../snapshot/index.js";
import { backupChunks } from "./backup.js";
import { parseManifest, encodeManifest } from "./manifest.js";
import { restoreBatches } from "./restore.js";

const CommandType = pb.Command.CommandType;
const table = Buffer.from("t");
const putRecord = (key: string, value: string) => encodeCommandRecord({ table, type: CommandType.PUT, kv: { key: Buffer.from(key), value: Buffer.from(value) } });
const trailer = (index: number) => encodeCommandRecord({ table, type: CommandType.DUMMY, leaderIndex: index });

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function* framed(records: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* encodeSnappyFrames(records);
}

test("an empty table's snapshot (trailer only) backs up to zero bytes", async () => {
  // Proves §11.2: no stream identifier, no chunk, so the file has the MD5 of empty input.
  assert.deepEqual(await collect(backupChunks(framed([trailer(7)]))), []);
});

test("a backup keeps every PUT record byte for byte and drops the DUMMY trailer", async () => {
  // Proves the trailer never reaches a backup (a Regatta restore would turn it into a phantom entry).
  const records = [putRecord("a", "1"), putRecord("b", "x".repeat(200_000)), putRecord("c", "3")];
  const pieces = await collect(backupChunks(framed([...records, trailer(9)]), 50_000));
  assert.ok(pieces.every((piece) => piece.length <= 50_000));
  const commands = await collect(readCommandStream(pieces));
  assert.deepEqual(commands.map((command) => Buffer.from(command.kv!.key!).toString()), ["a", "b", "c"]);
  assert.ok(commands.every((command) => command.type === CommandType.PUT));
});

test("restore batches flush once the threshold is reached, including the record that reached it", async () => {
  // Proves §11.3 step 5 [FIX]s: no record is lost at a flush, and the DUMMY only sets the final batch's leader index.
  const records = [putRecord("a", "1"), putRecord("b", "2"), putRecord("c", "3"), trailer(42)];
  const threshold = records[0]!.length * 2;
  const batches = await collect(restoreBatches(framed(records), table, threshold));
  assert.deepEqual(batches.map((batch) => batch.batch!.map((kv) => Buffer.from(kv.key!).toString())), [["a", "b"], ["c"]]);
  assert.equal(Number(batches[1]!.leaderIndex), 42);
  assert.equal(batches[0]!.leaderIndex, undefined);
  assert.ok(batches.every((batch) => batch.type === CommandType.PUT_BATCH));
});

test("an empty backup restores as one empty batch, and a corrupt one is refused", async () => {
  // Proves the final batch is always proposed, and that undecodable input surfaces as a typed error.
  assert.deepEqual((await collect(restoreBatches(framed([]), table, 100))).map((batch) => batch.batch), [[]]);
  await assert.rejects(collect(restoreBatches(framed([Uint8Array.of(1, 2, 3)]), table, 100)), /invalid snapshot stream/);
});

test("manifests: null, missing and empty tables read alike; unknown fields are ignored; bad shapes are named", () => {
  // Proves the lenient reading rules of §11.5 and the reference's `tables: null` for an empty backup.
  assert.match(encodeManifest({ started: "s", finished: "f", tables: [] }), /^\{"started":"s","finished":"f","tables":null\}\n$/);
  for (const text of ['{"tables":null}', "{}", '{"tables":[]}']) assert.deepEqual(parseManifest(text).tables, []);
  const parsed = parseManifest('{"tables":[{"name":"a","file_name":"a.bak","md5":"00","type":"REPLICATED"}]}');
  assert.deepEqual(parsed.tables, [{ name: "a", file_name: "a.bak", md5: "00" }]);
  assert.throws(() => parseManifest('{"tables":[{"name":"a"}]}'), /invalid manifest: table 0 has no file_name string/);
  assert.throws(() => parseManifest("nope"), /invalid manifest/);
});
