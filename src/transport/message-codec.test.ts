// Proves that the message codec round-trips every Raft message variant exactly (property-based, per variant),
// pins the wire bytes of one message, rejects invalid messages when encoding, and turns any malformed input
// (random bytes, truncations, bit flips, lying lengths) into TransportProtocolError without crashing or
// allocating what the input does not contain.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Entry, Message, MessageType } from "../raft/index.js";
import { ByteWriter } from "./byte-writer.js";
import { TransportProtocolError } from "./errors.js";
import { decodeGroupMessages, encodeGroupMessages, type GroupMessage } from "./message-codec.js";

const nodeId = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const number = fc.oneof(fc.nat(300), fc.maxSafeNat());
const bytes = fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 300 }));
const envelope = { from: nodeId, to: nodeId, term: number };
const entry: fc.Arbitrary<Entry> = fc.record({ term: number, index: number, type: fc.constantFrom("normal" as const, "confChange" as const), data: bytes });
const members = fc.array(nodeId, { maxLength: 7 });

/** One arbitrary per message type: the Record type makes a forgotten variant a compile error. */
const MESSAGE_ARBITRARIES: { readonly [K in MessageType]: fc.Arbitrary<Message> } = {
  append: fc.record({ type: fc.constant("append"), ...envelope, index: number, logTerm: number, commit: number, entries: fc.array(entry, { maxLength: 6 }) }),
  appendResponse: fc.record({ type: fc.constant("appendResponse"), ...envelope, index: number, reject: fc.boolean(), rejectHint: number, logTerm: number }),
  vote: fc.record({ type: fc.constant("vote"), ...envelope, index: number, logTerm: number, transfer: fc.boolean() }),
  preVote: fc.record({ type: fc.constant("preVote"), ...envelope, index: number, logTerm: number, transfer: fc.boolean() }),
  voteResponse: fc.record({ type: fc.constant("voteResponse"), ...envelope, reject: fc.boolean() }),
  preVoteResponse: fc.record({ type: fc.constant("preVoteResponse"), ...envelope, reject: fc.boolean() }),
  heartbeat: fc.record(
    { type: fc.constant("heartbeat"), ...envelope, commit: number, context: bytes },
    { requiredKeys: ["type", "from", "to", "term", "commit"] },
  ),
  heartbeatResponse: fc.record({ type: fc.constant("heartbeatResponse"), ...envelope, context: bytes }, { requiredKeys: ["type", "from", "to", "term"] }),
  snapshot: fc.record({
    type: fc.constant("snapshot"),
    ...envelope,
    snapshot: fc.record({
      metadata: fc.record({ index: number, term: number, confState: fc.record({ voters: members, learners: members }) }),
      data: bytes,
    }),
  }),
  timeoutNow: fc.record({ type: fc.constant("timeoutNow"), ...envelope }),
  readIndex: fc.record({ type: fc.constant("readIndex"), ...envelope, context: bytes }),
  readIndexResponse: fc.record({ type: fc.constant("readIndexResponse"), ...envelope, index: number, context: bytes }),
};

const anyMessage = fc.oneof(...Object.values(MESSAGE_ARBITRARIES));
const groupMessage = (message: fc.Arbitrary<Message>): fc.Arbitrary<GroupMessage> => fc.record({ groupId: nodeId, message });

/** fast-check builds records without a prototype; the decoder builds ordinary objects. */
function plain<T>(value: T): T {
  return structuredClone(value);
}

/** Expects `run` to throw TransportProtocolError (anything else, or success, fails the test). */
function assertProtocolError(run: () => unknown, what: string): void {
  assert.throws(run, (error: unknown) => error instanceof TransportProtocolError, what);
}

/** Decodes `payload`; any error other than TransportProtocolError fails the test. */
function decodeOrProtocolError(payload: Uint8Array): void {
  try {
    decodeGroupMessages(payload);
  } catch (error) {
    if (!(error instanceof TransportProtocolError)) throw error;
  }
}

for (const [type, arbitrary] of Object.entries(MESSAGE_ARBITRARIES)) {
  test(`${type} messages round-trip exactly`, () => {
    fc.assert(
      fc.property(groupMessage(arbitrary), (item) => {
        assert.deepStrictEqual(decodeGroupMessages(encodeGroupMessages([item])), plain([item]));
      }),
      { numRuns: 200 },
    );
  });
}

test("batches of mixed messages round-trip in order", () => {
  fc.assert(
    fc.property(fc.array(groupMessage(anyMessage), { maxLength: 20 }), (batch) => {
      assert.deepStrictEqual(decodeGroupMessages(encodeGroupMessages(batch)), plain(batch));
    }),
    { numRuns: 300 },
  );
});

test("the wire bytes of a heartbeat are pinned (changing them needs a new codec version)", () => {
  const item: GroupMessage = { groupId: 10001, message: { type: "heartbeat", from: 1, to: 2, term: 3, commit: 300, context: Uint8Array.of(0xab) } };
  assert.equal(encodeGroupMessages([item]).toString("hex"), "01914e07010203ac020101ab");
});

test("encoding refuses out-of-range fields with TransportProtocolError", () => {
  const valid: Message = { type: "heartbeat", from: 1, to: 2, term: 3, commit: 4 };
  for (const message of [
    { ...valid, from: 0 },
    { ...valid, to: -1 },
    { ...valid, term: -1 },
    { ...valid, term: 1.5 },
    { ...valid, commit: Number.NaN },
    { ...valid, commit: 2 ** 53 },
    { ...valid, type: "bogus" } as unknown as Message,
  ]) {
    assertProtocolError(() => encodeGroupMessages([{ groupId: 1, message }]), JSON.stringify(message));
  }
  assertProtocolError(() => encodeGroupMessages([{ groupId: 0, message: valid }]), "group 0");
});

test("random bytes decode or fail with TransportProtocolError only", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => decodeOrProtocolError(garbage)), { numRuns: 2000 });
  // With a valid version byte the decoder gets past the first check and into the message bodies.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => decodeOrProtocolError(Buffer.concat([Uint8Array.of(1), garbage]))), {
    numRuns: 2000,
  });
});

test("every truncation of a message fails with TransportProtocolError; bit flips never crash", () => {
  fc.assert(
    fc.property(groupMessage(anyMessage), fc.nat(), fc.integer({ min: 1, max: 255 }), (item, position, mask) => {
      const encoded = encodeGroupMessages([item]);
      // Cutting after the version byte leaves a valid empty batch; any cut inside the message must fail.
      for (let length = 2; length < encoded.length; length++) {
        assertProtocolError(() => decodeGroupMessages(encoded.subarray(0, length)), `truncated to ${length} of ${encoded.length}`);
      }
      const flipped = Buffer.from(encoded);
      const at = position % flipped.length;
      flipped[at] = flipped[at]! ^ mask;
      decodeOrProtocolError(flipped);
    }),
    { numRuns: 300 },
  );
});

test("lying counts and lengths are refused before anything is allocated", () => {
  const lyingEntries = new ByteWriter();
  lyingEntries.u8(1); // codec version
  for (const value of [1, 1, 1, 2, 1, 1, 1, 1]) lyingEntries.varint(value, "field"); // group, tag 1 (append), from, to, term, index, logTerm, commit
  lyingEntries.varint(2 ** 50, "entry count");
  assertProtocolError(() => decodeGroupMessages(lyingEntries.copyOut()), "2^50 entries");

  const lyingData = new ByteWriter();
  lyingData.u8(1);
  for (const value of [1, 11, 1, 2, 1]) lyingData.varint(value, "field"); // group, tag 11 (readIndex), from, to, term
  lyingData.varint(2 ** 40, "context length");
  assertProtocolError(() => decodeGroupMessages(lyingData.copyOut()), "a 1 TiB context");

  assertProtocolError(() => decodeGroupMessages(Uint8Array.of(2)), "unknown codec version");
  assertProtocolError(() => decodeGroupMessages(Uint8Array.of(1, 1, 99)), "unknown message tag");
  assertProtocolError(() => decodeGroupMessages(Uint8Array.of(1, 1, 5, 0, 1, 1, 0)), "node id 0");
  assertProtocolError(() => decodeGroupMessages(Uint8Array.of(1, 1, 5, 1, 1, 1, 2)), "boolean byte 2");
  assertProtocolError(() => decodeGroupMessages(Uint8Array.of(1, 0x81, 0x00, 5, 1, 1, 1, 0)), "over-long varint");
  assertProtocolError(() => decodeGroupMessages(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)), "2^56 - 1 group id");
});
