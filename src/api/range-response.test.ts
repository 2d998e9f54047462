import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { pb, toNumber } from "../proto/index.js";
import { GRPC_FRAME_HEADER_BYTES } from "./framed-response.js";
import { encodeRangeResponse, RangeResponseWriter, type RangeBody, type ResponseHeaderValues } from "./range-response.js";

/** What a client reads from the bytes, with protobufjs's decoder, in plain values. */
function decoded(frame: Buffer) {
  const message = pb.RangeResponse.decode(frame.subarray(GRPC_FRAME_HEADER_BYTES));
  const header = message.header!;
  return {
    header: {
      shardId: toNumber(header.shardId),
      replicaId: toNumber(header.replicaId),
      revision: toNumber(header.revision),
      raftTerm: toNumber(header.raftTerm),
      raftLeaderId: toNumber(header.raftLeaderId),
    },
    kvs: message.kvs.map((kv) => ({
      key: Buffer.from(kv.key!),
      value: Buffer.from(kv.value!),
      createRevision: toNumber(kv.createRevision),
      modRevision: toNumber(kv.modRevision),
    })),
    count: toNumber(message.count),
    more: message.more,
  };
}

const safeUint = fc.oneof(fc.constantFrom(0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.nat(), fc.maxSafeNat());
const header = fc.record({ shardId: safeUint, replicaId: safeUint, revision: safeUint, raftTerm: safeUint, raftLeaderId: safeUint });
const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 120, maxLength: 20_000 }));
const keyValue = fc.record({ key: fc.uint8Array({ minLength: 1, maxLength: 300 }), value: bytes }, { requiredKeys: ["key"] });
const body = fc.record({ kvs: fc.array(keyValue, { maxLength: 8 }), count: safeUint, more: fc.boolean() });

test("a hand-encoded RangeResponse decodes, with protobufjs, to what it was given", () => {
  // Proves the field numbers, wire types, lengths and varints (one, two and eight bytes long) agree with
  // the .proto, and that the frame header carries the message's length.
  fc.assert(
    fc.property(header, body, (h: ResponseHeaderValues, b: RangeBody) => {
      const frame = encodeRangeResponse(h, b).frame;
      assert.equal(frame[0], 0);
      assert.equal(frame.readUInt32BE(1), frame.length - GRPC_FRAME_HEADER_BYTES);
      assert.deepEqual(decoded(frame), {
        header: { ...h },
        kvs: b.kvs.map((kv) => ({ key: Buffer.from(kv.key), value: Buffer.from(kv.value ?? []), createRevision: 0, modRevision: 0 })),
        count: b.count,
        more: b.more,
      });
    }),
    { numRuns: 300 },
  );
});

test("the hand encoding is as long as protobufjs's, which writes zero header fields the encoder leaves out", () => {
  // Proves the encoder adds no stray bytes: on a header without zeros both encodings are byte for byte equal.
  const h = { shardId: 7, replicaId: 2, revision: 300, raftTerm: 9, raftLeaderId: 1 };
  const b = { kvs: [{ key: Buffer.from("k1"), value: Buffer.alloc(256, 7) }, { key: Buffer.from("k2") }], count: 2, more: true };
  const ours = encodeRangeResponse(h, b).frame.subarray(GRPC_FRAME_HEADER_BYTES);
  const theirs = Buffer.from(pb.RangeResponse.encode({ header: h, kvs: b.kvs, count: b.count, more: b.more }).finish());
  assert.deepEqual(ours, theirs);
});

test("a number protobuf cannot carry exactly is refused, not sent wrong", () => {
  const h = { shardId: 1, replicaId: 1, revision: 0, raftTerm: 1, raftLeaderId: 1 };
  const empty = { kvs: [], count: 0, more: false };
  assert.throws(() => encodeRangeResponse({ ...h, revision: -1 }, empty), /not a non-negative safe integer/);
  assert.throws(() => encodeRangeResponse({ ...h, raftTerm: 2 ** 53 }, empty), /not a non-negative safe integer/);
  assert.throws(() => encodeRangeResponse(h, { ...empty, count: 1.5 }), /not a non-negative safe integer/);
});

test("a RangeResponseWriter, fed entry by entry, writes the bytes encodeRangeResponse writes", () => {
  // Proves the streamed encoding (IterateRange) is the same message: header first, then every entry, then
  // more and count, whatever the starting capacity (1 byte forces the buffer to grow on every entry).
  fc.assert(
    fc.property(header, body, fc.constantFrom(1, 64, 64 * 1024), (values: ResponseHeaderValues, response: RangeBody, capacity: number) => {
      const writer = new RangeResponseWriter(values, capacity);
      for (const kv of response.kvs) writer.entry(kv.key, kv.value);
      const streamed = writer.finish({ count: response.count, more: response.more }).frame;
      assert.deepEqual(streamed, encodeRangeResponse(values, response).frame);
    }),
  );
});

test("a RangeResponseWriter refuses a count protobuf cannot carry exactly", () => {
  const writer = new RangeResponseWriter({ shardId: 1, replicaId: 1, revision: 0, raftTerm: 1, raftLeaderId: 1 }, 64);
  assert.throws(() => writer.finish({ count: 2 ** 53, more: false }), /not a non-negative safe integer/);
});
