import assert from "node:assert/strict";
import { test } from "node:test";
import { pb } from "../proto/index.js";
import { InvalidSnapshotStreamError } from "./errors.js";
import { readCommandStream, encodeSnappyFrames } from "./index.js";
import { RECORD_BYTES_MAX, RecordDecoder, decodeCommandRecord, encodeCommandRecord, encodeRecord } from "./records.js";

const PUT_RECORD = "0b00000000000000" + "0a01741a060a016b220176";
const TRAILER_RECORD = "0700000000000000" + "0a01741002282a";

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

test("records match the golden bytes of Appendix B", () => {
  // Proves the record layout and the Command encoding (PUT omitted as the zero enum; leader_index field 5).
  const put = encodeCommandRecord({ table: Buffer.from("t"), type: pb.Command.CommandType.PUT, kv: { key: Buffer.from("k"), value: Buffer.from("v") } });
  assert.equal(Buffer.from(put).toString("hex"), PUT_RECORD);
  const trailer = encodeCommandRecord({ table: Buffer.from("t"), type: pb.Command.CommandType.DUMMY, leaderIndex: 42 });
  assert.equal(Buffer.from(trailer).toString("hex"), TRAILER_RECORD);
});

test("a present zero leader_index is encoded (Reset command)", () => {
  // Proves explicit presence survives encoding and decoding: `28 00` is on the wire and decodes as present.
  const reset = pb.Command.encode({ table: Buffer.from("t"), type: pb.Command.CommandType.DUMMY, leaderIndex: 0 }).finish();
  assert.equal(Buffer.from(reset).toString("hex"), "0a017410022800");
  assert.ok(Object.prototype.hasOwnProperty.call(pb.Command.decode(reset), "leaderIndex"));
  assert.ok(!Object.prototype.hasOwnProperty.call(pb.Command.decode(Buffer.from("0a0174", "hex")), "leaderIndex"));
});

test("the record decoder splits records that straddle input pieces", () => {
  // Proves byte-at-a-time input yields the same records, with their offsets, as one piece.
  const stream = Buffer.from(PUT_RECORD + TRAILER_RECORD + "0000000000000000", "hex");
  const decoder = new RecordDecoder();
  const records = [];
  for (const byte of stream) records.push(...decoder.write(Uint8Array.of(byte)));
  decoder.end();
  assert.deepEqual(records.map((r) => r.offset), [0, 19, 34]);
  assert.equal(Buffer.from(decodeCommandRecord(records[0]!).kv!.key!).toString(), "k");
  assert.equal(decodeCommandRecord(records[1]!).leaderIndex!.toString(), "42");
  assert.equal(records[2]!.body.length, 0, "a zero-length record is an empty Command");
});

test("the record decoder refuses truncated records and absurd lengths", () => {
  // Proves a cut stream and a corrupt length are typed errors, the latter before anything is buffered.
  const stream = Buffer.from(PUT_RECORD, "hex");
  for (const cut of [3, 8, 18]) {
    const decoder = new RecordDecoder();
    decoder.write(stream.subarray(0, cut));
    assert.throws(() => decoder.end(), (e: unknown) => e instanceof InvalidSnapshotStreamError && /truncated record at offset 0/.test(e.message));
  }
  const absurd = Buffer.alloc(8);
  absurd.writeUInt32LE(RECORD_BYTES_MAX + 1, 0);
  assert.throws(() => new RecordDecoder().write(absurd), /declares 67108865 bytes, more than the limit/);
  const huge = Buffer.alloc(8);
  huge.writeUInt32LE(1, 4);
  assert.throws(() => new RecordDecoder().write(huge), InvalidSnapshotStreamError);
});

test("readCommandStream decodes a framed stream and rejects undecodable Commands", async () => {
  // Proves the composed pipeline, and that a framing-valid record with a bad protobuf is an error.
  const good = await collect(encodeSnappyFrames([Buffer.from(PUT_RECORD + TRAILER_RECORD, "hex")]));
  const commands = await collect(readCommandStream(good));
  assert.deepEqual(commands.map((c) => c.type), [pb.Command.CommandType.PUT, pb.Command.CommandType.DUMMY]);
  const bad = await collect(encodeSnappyFrames([encodeRecord(Buffer.from([0x0a, 0x05, 0x74]))]));
  await assert.rejects(collect(readCommandStream(bad)), (e: unknown) => e instanceof InvalidSnapshotStreamError && /record at offset 0 is not a valid Command/.test(e.message));
});
