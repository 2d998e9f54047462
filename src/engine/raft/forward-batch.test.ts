import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeForwardBatch,
  decodeForwardOutcomes,
  encodeForwardBatch,
  encodeForwardOutcomes,
  FORWARD_BATCH_BYTES_MAX,
  ForwardBatcher,
  LEGACY_RETRY_MS,
  type ForwardOutcome,
} from "./forward-batch.js";

test("a batch survives encoding and decoding, empty proposals included", () => {
  const proposals = [
    { groupId: 1001, data: Buffer.from("put a") },
    { groupId: 1000, data: Buffer.alloc(0) },
    { groupId: 4_000_000_000, data: Buffer.alloc(70_000, 9) },
  ];
  const decoded = decodeForwardBatch(encodeForwardBatch(proposals));
  assert.deepEqual(
    decoded.map((p) => [p.groupId, Buffer.from(p.data).toString("hex")]),
    proposals.map((p) => [p.groupId, p.data.toString("hex")]),
  );
});

test("decoded proposals are copies: reusing the request's buffer does not change them", () => {
  const payload = encodeForwardBatch([{ groupId: 7, data: Buffer.from("abc") }]);
  const [proposal] = decodeForwardBatch(payload);
  payload.fill(0);
  assert.equal(Buffer.from(proposal!.data).toString(), "abc");
});

test("a malformed batch is refused as a whole, before anything could be proposed", () => {
  const good = encodeForwardBatch([{ groupId: 7, data: Buffer.from("abc") }, { groupId: 8, data: Buffer.from("defg") }]);
  const cases: [string, Buffer, RegExp][] = [
    ["empty", Buffer.alloc(0), /bad header/],
    ["JSON", Buffer.from('{"kind":"info"}'), /bad header/],
    ["cut in the second proposal", good.subarray(0, good.length - 1), /proposal 1 is cut off/],
    ["cut in an item header", good.subarray(0, 5 + 8 + 3 + 4), /proposal 1 is cut off/],
    ["trailing bytes", Buffer.concat([good, Buffer.from([0])]), /1 bytes after the last proposal/],
    ["a huge count", Buffer.from([1, 0xff, 0xff, 0xff, 0xff]), /proposals, at most/],
    ["a huge length", Buffer.concat([Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff])]), /proposal 0 is cut off/],
  ];
  for (const [name, payload, message] of cases) assert.throws(() => decodeForwardBatch(payload), message, name);
});

test("outcomes must match the batch one for one", () => {
  const outcomes: ForwardOutcome[] = [{ index: 5, term: 2 }, { error: "not leader", leaderId: 3 }];
  assert.deepEqual(decodeForwardOutcomes(encodeForwardOutcomes(outcomes), 2), outcomes);
  assert.throws(() => decodeForwardOutcomes(encodeForwardOutcomes(outcomes), 3), /malformed response/);
  assert.throws(() => decodeForwardOutcomes(Buffer.from('{"index":1}'), 1), /malformed response/);
});

/** A batcher whose requests are recorded and answered by hand. */
function recordingBatcher() {
  const sent: { to: number; groupIds: number[]; answer(outcomes: ForwardOutcome[]): void; fail(error: unknown): void }[] = [];
  const batcher = new ForwardBatcher(
    (to, payload) =>
      new Promise((resolve, reject) => {
        const groupIds = decodeForwardBatch(payload).map((p) => p.groupId);
        sent.push({ to, groupIds, answer: (outcomes) => resolve(encodeForwardOutcomes(outcomes)), fail: reject });
      }),
  );
  return { batcher, sent };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test("proposals forwarded in one turn of the event loop travel together, one request per destination", async () => {
  const { batcher, sent } = recordingBatcher();
  const a = batcher.forward(2, { groupId: 10, data: Buffer.from("a") });
  const b = batcher.forward(3, { groupId: 10, data: Buffer.from("b") });
  const c = batcher.forward(2, { groupId: 11, data: Buffer.from("c") });
  assert.equal(sent.length, 0, "nothing is sent before the turn ends");
  await nextTurn();
  assert.deepEqual(sent.map((s) => [s.to, s.groupIds]), [[2, [10, 11]], [3, [10]]]);
  sent[0]!.answer([{ index: 7, term: 1 }, { error: "not leader", leaderId: 3 }]);
  sent[1]!.answer([{ index: 9, term: 1 }]);
  assert.deepEqual(await a, { index: 7, term: 1 });
  assert.deepEqual(await c, { error: "not leader", leaderId: 3 });
  assert.deepEqual(await b, { index: 9, term: 1 });
  // A later turn starts a new batch.
  void batcher.forward(2, { groupId: 10, data: Buffer.from("d") });
  await nextTurn();
  assert.equal(sent.length, 3);
});

test("a failed request fails every proposal of its batch with the request's own error", async () => {
  const { batcher, sent } = recordingBatcher();
  const failure = Object.assign(new Error("connection lost"), { reason: "connectionLost" });
  const waiting = [batcher.forward(2, { groupId: 10, data: Buffer.from("a") }), batcher.forward(2, { groupId: 10, data: Buffer.from("b") })];
  await nextTurn();
  sent[0]!.fail(failure);
  for (const w of waiting) await assert.rejects(w, (error) => error === failure);
});

test("a batch that reaches the size bound is sent at once, without waiting for the turn to end", async () => {
  const { batcher, sent } = recordingBatcher();
  const big = Buffer.alloc(FORWARD_BATCH_BYTES_MAX / 2);
  void batcher.forward(2, { groupId: 10, data: big });
  void batcher.forward(2, { groupId: 10, data: big });
  assert.equal(sent.length, 1, "the full batch left synchronously");
  assert.equal(sent[0]!.groupIds.length, 2);
  void batcher.forward(2, { groupId: 10, data: Buffer.from("small") });
  await nextTurn();
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.groupIds.length, 1);
});

test("a node from before batching (it refuses batches) gets the proposals one by one, and only singles for a while", async () => {
  let nowMs = 1_000;
  const received: string[] = [];
  // An older leader: answers the JSON single-proposal form, fails in its handler on anything else.
  const olderLeader = async (_to: number, payload: Uint8Array): Promise<Uint8Array> => {
    let request: { kind: string; groupId: number; data: string };
    try {
      request = JSON.parse(Buffer.from(payload).toString("utf8")) as typeof request;
    } catch (error) {
      throw Object.assign(new Error(`handler failed: ${String(error)}`), { reason: "remoteError" });
    }
    received.push(`${request.kind} ${request.groupId} ${Buffer.from(request.data, "base64").toString()}`);
    return Buffer.from(JSON.stringify({ index: received.length, term: 4 }));
  };
  const batcher = new ForwardBatcher(olderLeader, () => nowMs);
  const first = [batcher.forward(2, { groupId: 10, data: Buffer.from("a") }), batcher.forward(2, { groupId: 11, data: Buffer.from("b") })];
  assert.deepEqual(await Promise.all(first), [{ index: 1, term: 4 }, { index: 2, term: 4 }]);
  assert.deepEqual(received, ["propose 10 a", "propose 11 b"]);

  // Within LEGACY_RETRY_MS no batch is tried: a batch attempt would show up as a refused request.
  let batchesTried = 0;
  const counting = new ForwardBatcher(async (to, payload) => {
    if (payload[0] === 0x01) batchesTried++;
    return olderLeader(to, payload);
  }, () => nowMs);
  await counting.forward(2, { groupId: 10, data: Buffer.from("c") });
  assert.equal(batchesTried, 1);
  nowMs += LEGACY_RETRY_MS - 1;
  await counting.forward(2, { groupId: 10, data: Buffer.from("d") });
  assert.equal(batchesTried, 1, "still singles");
  nowMs += 2;
  await counting.forward(2, { groupId: 10, data: Buffer.from("e") });
  assert.equal(batchesTried, 2, "a batch is tried again once the period is over");
  assert.deepEqual(received.slice(2), ["propose 10 c", "propose 10 d", "propose 10 e"]);
});

test("a failure other than a handler refusal is not retried singly: the outcome may be unknown", async () => {
  let calls = 0;
  const batcher = new ForwardBatcher(async () => {
    calls++;
    throw Object.assign(new Error("timed out"), { reason: "timeout" });
  });
  await assert.rejects(batcher.forward(2, { groupId: 10, data: Buffer.from("a") }), /timed out/);
  assert.equal(calls, 1);
});
