// Proves that framing survives arbitrary TCP segmentation, that the frame decoder refuses bad magic, unknown
// kinds, oversized lengths (before buffering the payload) and checksum mismatches with TransportProtocolError
// only, and that the send queue packs messages into frames that respect the size limit, keeps order, and
// enforces its byte bound (while always admitting one message into an empty queue).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ByteReader } from "./byte-reader.js";
import { ByteWriter } from "./byte-writer.js";
import { TransportProtocolError } from "./errors.js";
import { FRAME_HEADER_BYTES, FrameDecoder, FrameKind, MAGIC, encodeFrame, type Frame } from "./frame.js";
import { decodeGroupMessages, type GroupMessage } from "./message-codec.js";
import { SendQueue } from "./send-queue.js";
import { appendMessage } from "./testkit.js";

function decodeAll(decoder: FrameDecoder, chunks: readonly Buffer[]): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) frames.push(frame);
  }
  return frames;
}

function isProtocolError(error: unknown): boolean {
  return error instanceof TransportProtocolError;
}

test("frames reassemble identically however the stream is split", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (payloads, cuts) => {
      const stream = Buffer.concat([MAGIC, ...payloads.map((payload) => encodeFrame(FrameKind.RAFT_BATCH, payload))]);
      const chunks: Buffer[] = [];
      for (let offset = 0, i = 0; offset < stream.length; i++) {
        const size = cuts[i % cuts.length]!;
        chunks.push(stream.subarray(offset, offset + size));
        offset += size;
      }
      const frames = decodeAll(new FrameDecoder({ expectMagic: true, maxPayloadBytes: 1000 }), chunks);
      assert.deepEqual(frames.map((frame) => Buffer.from(frame.payload)), payloads.map((payload) => Buffer.from(payload)));
    }),
  );
});

test("bad magic, unknown kinds, oversized lengths and checksum mismatches are protocol errors", () => {
  const decoder = (): FrameDecoder => new FrameDecoder({ expectMagic: true, maxPayloadBytes: 64 });
  assert.throws(() => decodeAll(decoder(), [Buffer.from("GET / HTTP/1.1\r\n")]), /Bad magic bytes 47 45 54 20/);

  const unknownKind = encodeFrame(FrameKind.PING);
  unknownKind[8] = 99;
  assert.throws(() => decodeAll(decoder(), [MAGIC, unknownKind]), /Unknown frame kind 99/);

  // Only the 9-byte header of a frame claiming 4 GiB arrives: it must be refused without waiting for the payload.
  const huge = Buffer.alloc(FRAME_HEADER_BYTES);
  huge.writeUInt32BE(0xffffffff, 0);
  huge[8] = FrameKind.RAFT_BATCH;
  assert.throws(() => decodeAll(decoder(), [MAGIC, huge]), /4294967295 bytes, at most 64/);

  const corrupt = encodeFrame(FrameKind.RAFT_BATCH, Buffer.from("hello"));
  corrupt[corrupt.length - 1] ^= 1;
  assert.throws(() => decodeAll(decoder(), [MAGIC, corrupt]), /checksum mismatch/);
});

test("random bytes after the magic yield frames or protocol errors, nothing else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (garbage) => {
      try {
        decodeAll(new FrameDecoder({ expectMagic: true, maxPayloadBytes: 1 << 20 }), [MAGIC, Buffer.from(garbage)]);
      } catch (error) {
        if (!isProtocolError(error)) throw error;
      }
    }),
    { numRuns: 2000 },
  );
});

test("varints: extremes round-trip, over-long and oversized encodings are refused", () => {
  const writer = new ByteWriter(4);
  const values = [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER];
  for (const value of values) writer.varint(value, "value");
  const reader = new ByteReader(writer.copyOut());
  assert.deepEqual(values.map(() => reader.varint("value")), values);
  assert.throws(() => new ByteReader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).varint("v"), /longer than 8 bytes/);
  assert.throws(() => new ByteReader(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10)).varint("v"), /largest safe integer/);
  assert.throws(() => new ByteReader(Uint8Array.of(0x80)).varint("v"), /Truncated/);
});

function takeMessages(queue: SendQueue, framePayloadBytesMax: number): { frames: number; messages: GroupMessage[] } {
  const data = queue.take()!;
  const frames = decodeAll(new FrameDecoder({ expectMagic: false, maxPayloadBytes: framePayloadBytesMax }), [data]);
  return { frames: frames.length, messages: frames.flatMap((frame) => decodeGroupMessages(frame.payload)) };
}

test("the send queue splits frames at the size limit and keeps message order", () => {
  const framePayloadBytesMax = 200;
  const queue = new SendQueue(framePayloadBytesMax);
  const items: GroupMessage[] = Array.from({ length: 30 }, (_, i) => ({
    groupId: 7,
    message: appendMessage(1, 2, i, [new Uint8Array(i * 3).fill(i)]),
  }));
  for (const item of items) assert.equal(queue.tryAppend(item, Number.MAX_SAFE_INTEGER), true);
  const { frames, messages } = takeMessages(queue, framePayloadBytesMax);
  assert.ok(frames > 5, `expected several frames, got ${frames}`);
  assert.deepEqual(messages, items.map((item) => structuredClone(item)));
  assert.equal(queue.bytes, 0);
  assert.equal(queue.take(), undefined);

  const tooBig = { groupId: 7, message: appendMessage(1, 2, 0, [new Uint8Array(framePayloadBytesMax)]) };
  assert.throws(() => queue.tryAppend(tooBig, Number.MAX_SAFE_INTEGER), /fit in a frame/);
  assert.equal(queue.bytes, 0, "a refused message leaves nothing behind");
});

test("the send queue enforces its byte bound but always admits one message", () => {
  const queue = new SendQueue();
  const item = { groupId: 1, message: appendMessage(1, 2, 0, [new Uint8Array(100)]) };
  assert.equal(queue.tryAppend(item, 10), true, "an empty queue takes a message larger than the bound");
  assert.equal(queue.tryAppend(item, 10), false);
  const bound = 1000;
  while (queue.tryAppend(item, bound));
  assert.ok(queue.bytes <= bound, `${queue.bytes} bytes queued, bound ${bound}`);
  assert.ok(queue.bytes > bound - 120, "the queue fills up to the bound");
  const queued = queue.messages;
  const { messages } = takeMessages(queue, 1 << 20);
  assert.equal(messages.length, queued, "every admitted message is sent");
});
