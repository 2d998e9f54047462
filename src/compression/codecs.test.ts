/**
 * The gRPC message codecs: round trips, interoperability with independent implementations, corrupt
 * input, and the output bound that protects the receive limit from zip bombs.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { deflateSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { Decoder as NativeZstdDecoder } from "@toondepauw/node-zstd";
import { STREAM_IDENTIFIER_CHUNK } from "../snapshot/index.js";
import { ACCEPTED_ENCODINGS, CorruptCompressedDataError, DecompressedTooLargeError, MESSAGE_CODECS, type MessageCodec } from "./index.js";

const MiB = 1024 * 1024;

function codec(name: string): MessageCodec {
  const found = MESSAGE_CODECS.get(name);
  assert.ok(found, `no codec ${name}`);
  return found;
}

/** Text-like data that every codec shrinks, plus a random tail that none can. */
const sample = Buffer.concat([Buffer.from("armada kv ".repeat(30_000)), randomBytes(70_000)]);

test("the accepted encodings are identity and the four codecs", () => {
  assert.equal(ACCEPTED_ENCODINGS, "identity,deflate,gzip,snappy,zstd");
});

for (const name of ["gzip", "deflate", "snappy", "zstd"]) {
  describe(`${name} codec`, () => {
    test("round trips through the sync and the async compressor", async () => {
      for (const data of [sample, Buffer.from("x"), Buffer.alloc(0)]) {
        for (const compressed of [codec(name).compressSync(data), await codec(name).compress(data)]) {
          if (data.length > 1000) assert.ok(compressed.length < data.length, `${name} did not compress`);
          assert.deepEqual(await codec(name).decompress(compressed, data.length), data);
        }
      }
    });

    test("output exactly at the limit passes, one byte over is refused", async () => {
      const compressed = codec(name).compressSync(sample);
      assert.equal((await codec(name).decompress(compressed, sample.length)).length, sample.length);
      await assert.rejects(codec(name).decompress(compressed, sample.length - 1), (error: unknown) => {
        assert.ok(error instanceof DecompressedTooLargeError);
        assert.equal(error.encoding, name);
        return true;
      });
    });

    test("a zip bomb (64 MiB of zeros) stops at the 4 MiB limit without inflating whole", async () => {
      const bomb = codec(name).compressSync(Buffer.alloc(64 * MiB));
      const heapBefore = process.memoryUsage().arrayBuffers;
      const started = performance.now();
      await assert.rejects(codec(name).decompress(bomb, 4 * MiB), DecompressedTooLargeError);
      // Inflating all 64 MiB would show as retained memory or at least as time; the bound stops early.
      assert.ok(performance.now() - started < 2_000, `${name} took ${performance.now() - started} ms`);
      assert.ok(process.memoryUsage().arrayBuffers - heapBefore < 32 * MiB);
    });

    test("garbage and truncated data are refused with CorruptCompressedDataError", async () => {
      const compressed = codec(name).compressSync(sample);
      for (const bad of [Buffer.from("definitely not compressed data"), compressed.subarray(0, compressed.length - 7)]) {
        await assert.rejects(codec(name).decompress(bad, 8 * MiB), (error: unknown) => {
          assert.ok(error instanceof CorruptCompressedDataError, String(error));
          assert.match(error.message, new RegExp(`^invalid ${name} data: `));
          return true;
        });
      }
    });
  });
}

test("gzip and deflate interoperate with node:zlib (gzip and zlib formats)", async () => {
  assert.deepEqual(await codec("gzip").decompress(gzipSync(sample), sample.length), sample);
  assert.deepEqual(gunzipSync(await codec("gzip").compress(sample)), sample);
  assert.deepEqual(await codec("deflate").decompress(deflateSync(sample), sample.length), sample);
  assert.deepEqual(inflateSync(await codec("deflate").compress(sample)), sample);
});

test("snappy is the framing format: stream identifier first, checksums verified", async () => {
  const compressed = codec("snappy").compressSync(sample);
  assert.deepEqual(compressed.subarray(0, 10), Buffer.from(STREAM_IDENTIFIER_CHUNK));
  assert.deepEqual(compressed.subarray(0, 10), Buffer.from("ff060000734e61507059", "hex"));
  const flipped = Buffer.from(compressed);
  flipped[20]! ^= 0xff;
  await assert.rejects(codec("snappy").decompress(flipped, 8 * MiB), CorruptCompressedDataError);
});

test("zstd reads a frame written by the zstd command line tool, and its output reads back natively", async () => {
  // `printf 'hello armada\n' | zstd -c`: a frame with a content checksum.
  const fromCli = Buffer.from("28b52ffd045869000068656c6c6f2061726d6164610ab865db33", "hex");
  assert.equal((await codec("zstd").decompress(fromCli, 100)).toString(), "hello armada\n");
  // The decoder (pure JS) and the encoder (native) are different implementations: cross-check them.
  assert.deepEqual(await new NativeZstdDecoder().decode(await codec("zstd").compress(sample)), sample);
});
