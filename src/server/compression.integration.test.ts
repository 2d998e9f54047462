/**
 * gRPC message compression on a real `armada leader` (spec §15, issue 8), spoken byte by byte over
 * node:http2 so that the test controls the compressed flag and the encoding headers exactly (a grpc-js
 * client decides for itself when to compress, and knows only gzip and deflate).
 *
 * What these tests pin down (server/grpc-compression.ts, compression/):
 * - requests compressed with gzip, deflate, snappy (framed) or zstd are decompressed and served, on the
 *   API, replication and maintenance listeners, and the decompressed size is still limited;
 * - responses (unary and streamed) use the request's encoding unless the client's
 *   `grpc-accept-encoding` leaves it out, as grpc-go does; the server advertises
 *   `grpc-accept-encoding: identity,deflate,gzip,snappy,zstd`;
 * - unknown encodings get UNIMPLEMENTED and corrupt data INTERNAL, and the node keeps serving;
 * - clients that do not compress keep getting identity responses.
 * The request compressors and response decompressors here are independent of the server's where one
 * exists: node:zlib for gzip/deflate, the native zstd library for zstd (the server decodes zstd with fzstd).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { deflateSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from "@toondepauw/node-zstd";
import { pb } from "../proto/index.js";
import { ArmadaClient } from "../client/index.js";
import { SnappyFrameDecoder, SnappyFrameEncoder } from "../snapshot/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";

interface GrpcAnswer {
  readonly status: number;
  readonly message: string;
  readonly headers: IncomingHttpHeaders;
  /** Response messages as sent: the compressed flag and the bytes after the 5-byte prefix. */
  readonly messages: { compressed: boolean; bytes: Buffer }[];
}

/** One gRPC call (unary or server-streaming) with a hand-built request message. */
function call(session: ClientHttp2Session, path: string, payload: Buffer, options: { encoding?: string; compressed?: boolean; acceptEncoding?: string } = {}): Promise<GrpcAnswer> {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt8(options.compressed ? 1 : 0, 0);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  const stream = session.request({
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: path,
    "content-type": "application/grpc",
    te: "trailers",
    ...(options.encoding ? { "grpc-encoding": options.encoding } : {}),
    ...(options.acceptEncoding ? { "grpc-accept-encoding": options.acceptEncoding } : {}),
  });
  return new Promise((resolve, reject) => {
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const messages: GrpcAnswer["messages"] = [];
      for (let at = 0; at + 5 <= body.length; ) {
        const length = body.readUInt32BE(at + 1);
        messages.push({ compressed: body[at] === 1, bytes: body.subarray(at + 5, at + 5 + length) });
        at += 5 + length;
      }
      // A trailers-only answer (an error before any message) carries the status in the headers.
      const status = trailers["grpc-status"] ?? headers["grpc-status"];
      const message = trailers["grpc-message"] ?? headers["grpc-message"];
      resolve({ status: Number(status), message: decodeURIComponent(String(message ?? "")), headers, messages });
    });
    stream.end(frame);
  });
}

const PUT = "/regatta.v1.KV/Put";
const RANGE = "/armada.v1.KV/Range";
const ITERATE_RANGE = "/armada.v1.KV/IterateRange";
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const ALL_ENCODINGS = "identity,deflate,gzip,snappy,zstd";
const TABLE = Buffer.from("zipped");

function snappyCompress(data: Buffer): Buffer {
  const encoder = new SnappyFrameEncoder();
  return Buffer.concat([...encoder.write(data), ...encoder.end()]);
}

function snappyDecompress(data: Buffer): Buffer {
  const decoder = new SnappyFrameDecoder();
  const out = decoder.write(data);
  decoder.end();
  return Buffer.concat(out);
}

/** Each encoding with a client-side compressor and decompressor. */
const CODECS: Record<string, { compress(data: Buffer): Buffer; decompress(data: Buffer): Buffer }> = {
  gzip: { compress: (data) => gzipSync(data), decompress: (data) => gunzipSync(data) },
  deflate: { compress: (data) => deflateSync(data), decompress: (data) => inflateSync(data) },
  snappy: { compress: snappyCompress, decompress: snappyDecompress },
  zstd: { compress: (data) => new ZstdEncoder(3).encodeSync(data), decompress: (data) => new ZstdDecoder().decodeSync(data) },
};

function putRequest(key: string, value: Buffer): Buffer {
  return Buffer.from(pb.PutRequest.encode({ table: TABLE, key: Buffer.from(key), value }).finish());
}

function rangeRequest(key: string, rangeEnd?: string): Buffer {
  return Buffer.from(pb.RangeRequest.encode({ table: TABLE, key: Buffer.from(key), ...(rangeEnd ? { rangeEnd: Buffer.from(rangeEnd) } : {}) }).finish());
}

/** The bytes of a response message, decompressed with the encoding the response headers name. */
function messageBytes(answer: GrpcAnswer, index: number): Buffer {
  const message = answer.messages[index];
  assert.ok(message, `no response message ${index}`);
  if (!message.compressed) return message.bytes;
  const encoding = String(answer.headers["grpc-encoding"]);
  assert.ok(CODECS[encoding], `compressed response with encoding ${encoding}`);
  return CODECS[encoding]!.decompress(message.bytes);
}

/** Asserts that every response message is compressed with `encoding` (or none is, for identity). */
function assertResponseEncoding(answer: GrpcAnswer, encoding: string): void {
  assert.equal(answer.headers["grpc-encoding"], encoding);
  assert.ok(answer.messages.length > 0);
  assert.deepEqual(answer.messages.map((m) => m.compressed), answer.messages.map(() => encoding !== "identity"));
}

describe("gRPC compression on a leader's listeners", () => {
  let dataDir: string;
  let leader: LeaderProcess;
  let session: ClientHttp2Session;
  // Compressible, and larger than 64 KiB so that a Range response is compressed off the event loop.
  const value = Buffer.from("armada ".repeat(20_000));

  before(async () => {
    dataDir = tempDir();
    leader = await LeaderProcess.start(dataDir);
    const client = new ArmadaClient(leader.apiAddress);
    await client.createTable("zipped");
    client.close();
    session = connect(leader.apiAddress);
  });

  after(async () => {
    session?.close();
    await leader?.stop("SIGKILL");
    removeDir(dataDir);
  });

  /** The node still serves an uncompressed request after whatever the test sent. */
  async function assertHealthy(): Promise<void> {
    const answer = await call(session, PUT, putRequest("k-health", Buffer.from("ok")));
    assert.equal(answer.status, 0, answer.message);
  }

  for (const encoding of ["gzip", "snappy", "zstd", "deflate"]) {
    test(`a ${encoding} Put and Range are served and answered in ${encoding}`, async () => {
      const { compress } = CODECS[encoding]!;
      const request = putRequest(`k-${encoding}`, value);
      const compressed = compress(request);
      assert.ok(compressed.length < request.length / 10);
      const put = await call(session, PUT, compressed, { encoding, compressed: true, acceptEncoding: ALL_ENCODINGS });
      assert.equal(put.status, 0, put.message);
      assertResponseEncoding(put, encoding);
      assert.equal(put.headers["grpc-accept-encoding"], ALL_ENCODINGS);
      const putResponse = pb.PutResponse.decode(messageBytes(put, 0));
      assert.ok(Number(putResponse.header?.revision) > 0);

      // The Range response (the 140 KB value) is compressed off the event loop; it must still decode.
      const range = await call(session, RANGE, compress(rangeRequest(`k-${encoding}`)), { encoding, compressed: true, acceptEncoding: ALL_ENCODINGS });
      assert.equal(range.status, 0, range.message);
      assertResponseEncoding(range, encoding);
      assert.ok(range.messages[0]!.bytes.length < value.length / 10, "the response is not compressed");
      const kvs = pb.RangeResponse.decode(messageBytes(range, 0)).kvs;
      assert.equal(kvs.length, 1);
      // Proves request decompression end to end: the stored value is the uncompressed one.
      assert.deepEqual(Buffer.from(kvs[0]!.value!), value);
    });
  }

  test("a server stream (IterateRange) sends every message compressed with the request's encoding", async () => {
    // 6 values of 1 MiB exceed one response (4 MiB budget): at least two streamed messages.
    const big = Buffer.from("iterate ".repeat(131_072));
    for (let i = 0; i < 6; i++) {
      const put = await call(session, PUT, CODECS.zstd!.compress(putRequest(`it-${i}`, big)), { encoding: "zstd", compressed: true });
      assert.equal(put.status, 0, put.message);
    }
    for (const encoding of ["zstd", "gzip", "snappy"]) {
      const answer = await call(session, ITERATE_RANGE, rangeRequest("it-", "it.."), { encoding, acceptEncoding: ALL_ENCODINGS });
      assert.equal(answer.status, 0, answer.message);
      assert.ok(answer.messages.length >= 2, `${answer.messages.length} messages`);
      assertResponseEncoding(answer, encoding);
      const kvs = answer.messages.flatMap((_, i) => pb.RangeResponse.decode(messageBytes(answer, i)).kvs);
      assert.deepEqual(kvs.map((kv) => Buffer.from(kv.key!).toString()), ["it-0", "it-1", "it-2", "it-3", "it-4", "it-5"]);
      assert.ok(kvs.every((kv) => Buffer.from(kv.value!).equals(big)));
    }
  });

  test("a client cancelling a compressed stream midway leaves the node serving", async () => {
    // Streamed messages of 4 MiB are compressed off the event loop; a cancel may land meanwhile.
    for (const encoding of ["gzip", "zstd"]) {
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: ITERATE_RANGE,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-encoding": encoding,
      });
      const request = rangeRequest("it-", "it..");
      const frame = Buffer.alloc(5 + request.length);
      frame.writeUInt32BE(request.length, 1);
      request.copy(frame, 5);
      await new Promise<void>((resolve) => {
        stream.once("data", () => {
          stream.close(constants.NGHTTP2_CANCEL);
          resolve();
        });
        stream.on("error", () => resolve());
        stream.end(frame);
      });
    }
    await assertHealthy();
    const answer = await call(session, ITERATE_RANGE, rangeRequest("it-", "it.."), { encoding: "zstd" });
    assert.equal(answer.status, 0, answer.message);
    assert.ok(answer.messages.length >= 2);
  });

  test("the response stays uncompressed when the client's grpc-accept-encoding leaves the request's encoding out", async () => {
    const answer = await call(session, RANGE, gzipSync(rangeRequest("k-gzip")), { encoding: "gzip", compressed: true, acceptEncoding: "identity" });
    assert.equal(answer.status, 0, answer.message);
    assertResponseEncoding(answer, "identity");
    assert.deepEqual(Buffer.from(pb.RangeResponse.decode(messageBytes(answer, 0)).kvs[0]!.value!), value);
  });

  test("a request without grpc-encoding is answered uncompressed, and names every accepted encoding", async () => {
    const answer = await call(session, RANGE, rangeRequest("k-zstd"), { acceptEncoding: ALL_ENCODINGS });
    assert.equal(answer.status, 0, answer.message);
    assertResponseEncoding(answer, "identity");
    assert.equal(answer.headers["grpc-accept-encoding"], ALL_ENCODINGS);
  });

  for (const [encoding, compress] of Object.entries(CODECS).map(([name, codec]) => [name, codec.compress] as const)) {
    test(`a ${encoding} request that inflates past the 4 MiB limit is refused with RESOURCE_EXHAUSTED`, async () => {
      // Proves a small compressed message cannot smuggle a large one past the inbound limit.
      const bomb = compress(putRequest("bomb", Buffer.alloc(5 * 1024 * 1024)));
      assert.ok(bomb.length < 1024 * 1024);
      const answer = await call(session, PUT, bomb, { encoding, compressed: true });
      assert.equal(answer.status, grpc.status.RESOURCE_EXHAUSTED, answer.message);
      assert.match(answer.message, /decompresses to a size larger than 4194304/);
      await assertHealthy();
    });

    test(`a corrupt ${encoding} body gets INTERNAL naming the encoding, and the node keeps serving`, async () => {
      const garbage = Buffer.from("this is not compressed data at all, just bytes");
      const answer = await call(session, PUT, garbage, { encoding, compressed: true });
      assert.equal(answer.status, grpc.status.INTERNAL, answer.message);
      assert.match(answer.message, new RegExp(`^Failed to decompress message: invalid ${encoding} data: `));
      // A truncated message of the right format too.
      const compressed = compress(putRequest("k-cut", value));
      const truncated = await call(session, PUT, compressed.subarray(0, compressed.length - 9), { encoding, compressed: true });
      assert.equal(truncated.status, grpc.status.INTERNAL, truncated.message);
      await assertHealthy();
    });
  }

  test("an unsupported encoding (br) gets UNIMPLEMENTED naming the accepted ones, and the node keeps serving", async () => {
    const answer = await call(session, PUT, Buffer.from([0x1b, 0x03, 0x00, 0x00]), { encoding: "br", compressed: true });
    assert.equal(answer.status, grpc.status.UNIMPLEMENTED, answer.message);
    assert.match(answer.message, /unsupported encoding "br" \(this server accepts identity,deflate,gzip,snappy,zstd\)/);
    await assertHealthy();
  });

  test("grpc-js clients (the typed client too), plain or compressing with deflate or gzip, keep working", async () => {
    for (const compression of [undefined, "gzip", "deflate"] as const) {
      const client = new ArmadaClient(leader.apiAddress, compression ? { compression } : {});
      try {
        await client.put("zipped", `k-client-${compression}`, value);
        const result = await client.range("zipped", `k-client-${compression}`);
        assert.deepEqual(result.kvs[0]!.value, value);
      } finally {
        client.close();
      }
    }
    // grpc-js clients compressing with deflate or gzip get responses in the same encoding (the raw calls
    // above show the headers; grpc-js hides them) and must decode them.
    for (const algorithm of [0, 1, 2]) {
      const client = new grpc.Client(leader.apiAddress.replace("http://", ""), grpc.credentials.createInsecure(), { "grpc.default_compression_algorithm": algorithm });
      try {
        const response = await new Promise<Buffer>((resolve, reject) => {
          client.makeUnaryRequest(RANGE, (b: Buffer) => b, (b: Buffer) => b, rangeRequest("k-gzip"), (error, out) => (error ? reject(error) : resolve(out!)));
        });
        assert.deepEqual(Buffer.from(pb.RangeResponse.decode(response).kvs[0]!.value!), value);
      } finally {
        client.close();
      }
    }
  });

  test("the replication and maintenance listeners serve zstd and snappy and answer in kind", async () => {
    for (const address of [leader.replicationAddress, leader.maintenanceAddress]) {
      const other = connect(address);
      try {
        for (const encoding of ["zstd", "snappy"]) {
          // An empty HealthCheckRequest asks for the whole listener, which reads NOT_SERVING for a moment
          // whenever a table created by the tests above has no leader yet: ask until it settles.
          const deadline = Date.now() + 10_000;
          for (;;) {
            const answer = await call(other, HEALTH_CHECK, CODECS[encoding]!.compress(Buffer.alloc(0)), { encoding, compressed: true });
            assert.equal(answer.status, 0, `${address} ${encoding}: ${answer.message}`);
            assertResponseEncoding(answer, encoding);
            const serving = Buffer.from([0x08, 0x01]).equals(messageBytes(answer, 0));
            if (serving) break;
            assert.deepEqual(messageBytes(answer, 0), Buffer.from([0x08, 0x02]), "SERVING or NOT_SERVING");
            assert.ok(Date.now() < deadline, `${address} stayed NOT_SERVING`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      } finally {
        other.close();
      }
    }
  });
});
