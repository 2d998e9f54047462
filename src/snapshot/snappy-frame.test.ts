import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { maskedCrc32c } from "./crc32c.js";
import { InvalidSnapshotStreamError } from "./errors.js";
import { STREAM_IDENTIFIER_CHUNK } from "./framing.js";
import { SnappyFrameDecoder, decodeSnappyFrames } from "./snappy-frame-decoder.js";
import { SnappyFrameEncoder, encodeDataChunk, encodeSnappyFrames } from "./snappy-frame-encoder.js";

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const piece of source) out.push(piece);
  return Buffer.concat(out);
}

function encodeAll(data: Uint8Array): Buffer {
  const encoder = new SnappyFrameEncoder();
  return Buffer.concat([...encoder.write(data), ...encoder.end()]);
}

function decodeAll(framed: Uint8Array): Buffer {
  const decoder = new SnappyFrameDecoder();
  const out = decoder.write(framed);
  decoder.end();
  return Buffer.concat(out);
}

/** A chunk with an explicit type and body, for hand-built streams. */
function chunk(type: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([type, body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16]), body]);
}

function checksum(data: Uint8Array): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(maskedCrc32c(data));
  return out;
}

function invalid(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof InvalidSnapshotStreamError && pattern.test(error.message);
}

test("encoded streams start with the stream identifier chunk", () => {
  // Proves the first 10 bytes are FF 06 00 00 "sNaPpY", as in reference output (Appendix B).
  const framed = encodeAll(Buffer.from("some data"));
  assert.deepEqual([...framed.subarray(0, 10)], [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
  assert.deepEqual(framed.subarray(0, 10), Buffer.from(STREAM_IDENTIFIER_CHUNK));
});

test("encoder uses compressed chunks for compressible data and uncompressed ones otherwise", () => {
  // Proves both data chunk types are produced and that the body starts with the masked CRC of the data.
  const compressible = Buffer.alloc(1000, 0x61);
  const compressed = encodeDataChunk(compressible);
  assert.equal(compressed[0], 0x00);
  assert.ok(compressed.length < 100);
  assert.equal(Buffer.from(compressed).readUInt32LE(4), maskedCrc32c(compressible));
  const random = randomBytes(1000);
  const raw = encodeDataChunk(random);
  assert.equal(raw[0], 0x01);
  assert.deepEqual(Buffer.from(raw.subarray(8)), random);
});

test("encoder cuts data into blocks of at most 65,536 bytes", () => {
  // Proves the block bound: 200,000 bytes become 4 data chunks after the identifier.
  const data = randomBytes(200_000);
  const encoder = new SnappyFrameEncoder();
  const chunks = [...encoder.write(data.subarray(0, 70_000)), ...encoder.write(data.subarray(70_000)), ...encoder.end()];
  assert.equal(chunks.length, 5);
  assert.deepEqual(decodeAll(Buffer.concat(chunks)), data);
});

test("encoding nothing gives a zero-byte stream, and a zero-byte stream decodes to nothing", async () => {
  // Proves the empty-backup case of Appendix B in both directions.
  assert.equal(encodeAll(new Uint8Array(0)).length, 0);
  assert.equal(decodeAll(new Uint8Array(0)).length, 0);
  assert.equal((await collect(decodeSnappyFrames([]))).length, 0);
});

test("round trip holds for any data and any input chunking", async () => {
  // Proves encoder and decoder agree and the decoder is indifferent to where input pieces are cut.
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 150_000 }),
      fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 8 }),
      async (data, cuts) => {
        const framed = await collect(encodeSnappyFrames([data]));
        const pieces: Uint8Array[] = [];
        let offset = 0;
        for (const cut of cuts) {
          pieces.push(framed.subarray(offset, Math.min(framed.length, offset + cut)));
          offset = Math.min(framed.length, offset + cut);
        }
        pieces.push(framed.subarray(offset));
        assert.deepEqual(await collect(decodeSnappyFrames(pieces)), Buffer.from(data));
      },
    ),
    { numRuns: 60 },
  );
});

test("decoder reads a hand-built stream with a compressed and an uncompressed chunk", () => {
  // Proves decoding against bytes written from the Snappy block format itself, not by our encoder:
  // varint length 23, a 6-byte literal "hello ", then a 2-byte-offset copy of 17 bytes at offset 6.
  const text = Buffer.from("hello hello hello hello");
  const block = Buffer.from("171468656c6c6f20420600", "hex");
  const tail = Buffer.from("!");
  const framed = Buffer.concat([
    Buffer.from(STREAM_IDENTIFIER_CHUNK),
    chunk(0x00, Buffer.concat([checksum(text), block])),
    chunk(0x01, Buffer.concat([checksum(tail), tail])),
  ]);
  assert.deepEqual(decodeAll(framed), Buffer.concat([text, tail]));
});

test("decoder skips padding and reserved skippable chunks, even split across inputs", () => {
  // Proves 0xFE and 0x80–0xFD chunks are ignored, including a large body arriving in pieces.
  const data = Buffer.from("payload");
  const framed = Buffer.concat([
    Buffer.from(STREAM_IDENTIFIER_CHUNK),
    chunk(0xfe, Buffer.alloc(100)),
    chunk(0x80, Buffer.alloc(70_000, 7)),
    chunk(0x01, Buffer.concat([checksum(data), data])),
    chunk(0xfd, Buffer.alloc(3)),
    Buffer.from(STREAM_IDENTIFIER_CHUNK),
  ]);
  const decoder = new SnappyFrameDecoder();
  const out: Uint8Array[] = [];
  for (let i = 0; i < framed.length; i += 999) out.push(...decoder.write(framed.subarray(i, i + 999)));
  decoder.end();
  assert.deepEqual(Buffer.concat(out), data);
});

test("decoder reports a checksum mismatch with the chunk offset", () => {
  // Proves checksums are verified and the message names where the bad chunk starts.
  const framed = encodeAll(randomBytes(100));
  framed[framed.length - 1] ^= 0xff;
  assert.throws(() => decodeAll(framed), invalid(/^invalid snapshot stream: checksum mismatch in chunk at offset 10$/));
  const compressedFramed = encodeAll(Buffer.alloc(5000, 0x62));
  compressedFramed.writeUInt32LE((compressedFramed.readUInt32LE(14) + 1) >>> 0, 14);
  assert.throws(() => decodeAll(compressedFramed), invalid(/checksum mismatch in chunk at offset 10/));
});

test("decoder refuses unskippable chunks, a missing identifier and a bad identifier", () => {
  // Proves the structural rules of Appendix B, each with a clear message.
  const data = Buffer.from("x");
  const dataChunk = chunk(0x01, Buffer.concat([checksum(data), data]));
  const id = Buffer.from(STREAM_IDENTIFIER_CHUNK);
  assert.throws(() => decodeAll(Buffer.concat([id, chunk(0x02, Buffer.alloc(1))])), invalid(/unskippable chunk type 0x02 in chunk at offset 10/));
  assert.throws(() => decodeAll(Buffer.concat([id, chunk(0x7f, Buffer.alloc(0))])), invalid(/unskippable chunk type 0x7F/));
  assert.throws(() => decodeAll(dataChunk), invalid(/missing stream identifier/));
  assert.throws(() => decodeAll(chunk(0xff, Buffer.from("sNaPpX"))), invalid(/bad stream identifier/));
  assert.throws(() => decodeAll(chunk(0xff, Buffer.from("sNaPp"))), invalid(/stream identifier .* has length 5/));
});

test("decoder refuses truncated streams and malformed data chunks", () => {
  // Proves truncation at any point, oversized or undersized chunks and bad compressed blocks are errors.
  const framed = encodeAll(randomBytes(300));
  for (const cut of [1, 5, 9, 11, 13, framed.length - 1]) {
    assert.throws(() => decodeAll(framed.subarray(0, cut)), invalid(/truncated chunk at offset/), `cut at ${cut}`);
  }
  const id = Buffer.from(STREAM_IDENTIFIER_CHUNK);
  assert.throws(() => decodeAll(Buffer.concat([id, chunk(0x01, Buffer.alloc(3))])), invalid(/too short/));
  const tooLarge = Buffer.concat([id, Buffer.from([0x01, 0xff, 0xff, 0x01])]);
  assert.throws(() => new SnappyFrameDecoder().write(tooLarge), invalid(/too large/));
  const bigBlock = Buffer.concat([Buffer.from([0x81, 0x80, 0x04]), Buffer.alloc(10)]); // announces 65,537 bytes
  assert.throws(() => decodeAll(Buffer.concat([id, chunk(0x00, Buffer.concat([Buffer.alloc(4), bigBlock]))])), invalid(/bad compressed block length/));
  const garbage = Buffer.from([0x05, 0xff, 0xff, 0xff]);
  assert.throws(() => decodeAll(Buffer.concat([id, chunk(0x00, Buffer.concat([Buffer.alloc(4), garbage]))])), invalid(/corrupt compressed data/));
});

test("decoder stays failed after an error", () => {
  // Proves a caller cannot resume decoding past corruption by feeding more bytes.
  const decoder = new SnappyFrameDecoder();
  assert.throws(() => decoder.write(chunk(0x01, Buffer.alloc(8))), InvalidSnapshotStreamError);
  assert.throws(() => decoder.write(Buffer.from(STREAM_IDENTIFIER_CHUNK)), InvalidSnapshotStreamError);
  assert.throws(() => decoder.end(), InvalidSnapshotStreamError);
});
