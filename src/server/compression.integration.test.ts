/**
 * gRPC message compression on the API listener of a real `armada leader` (spec §15, issue 8), spoken
 * byte by byte over node:http2 so that the test controls the compressed flag and the encoding headers
 * exactly (a grpc-js client decides for itself when to compress).
 *
 * What grpc-js 1.14 (the server library) does, and these tests pin down:
 * - requests compressed with gzip or deflate are accepted (and the decompressed size is still limited);
 * - requests compressed with snappy or zstd get the standard UNIMPLEMENTED answer, as the spec requires
 *   for unsupported encodings; the server advertises `grpc-accept-encoding: identity,deflate,gzip`;
 * - responses are never compressed, whatever `grpc-accept-encoding` the client sends: the server always
 *   answers `grpc-encoding: identity` (allowed by the gRPC protocol, but not what the reference does).
 * docs/operations.md ("Compression") says why snappy, zstd and compressed responses are not offered.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { deflateSync, gzipSync } from "node:zlib";
import snappy from "snappy";
import { pb } from "../proto/index.js";
import { ArmadaClient } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";

interface GrpcAnswer {
  readonly status: number;
  readonly message: string;
  readonly headers: IncomingHttpHeaders;
  /** Response messages as sent: the compressed flag and the bytes after the 5-byte prefix. */
  readonly messages: { compressed: boolean; bytes: Buffer }[];
}

/** One unary gRPC call with a hand-built request message. */
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

function putRequest(key: string, value: Buffer): Buffer {
  return Buffer.from(pb.PutRequest.encode({ table: Buffer.from("zipped"), key: Buffer.from(key), value }).finish());
}

describe("gRPC compression on the API listener", () => {
  let dataDir: string;
  let leader: LeaderProcess;
  let session: ClientHttp2Session;
  // Compressible: a value of repeated text shrinks a lot under every codec.
  const value = Buffer.from("armada ".repeat(2000));

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

  for (const [encoding, compress] of [["gzip", gzipSync], ["deflate", deflateSync]] as const) {
    test(`a ${encoding}-compressed request is decompressed and served`, async () => {
      // Proves request decompression end to end: the stored value is the uncompressed one.
      const request = putRequest(`k-${encoding}`, value);
      const compressed = compress(request);
      assert.ok(compressed.length < request.length / 10);
      const answer = await call(session, PUT, compressed, { encoding, compressed: true });
      assert.equal(answer.status, 0, answer.message);
      const range = await call(session, RANGE, Buffer.from(pb.RangeRequest.encode({ table: Buffer.from("zipped"), key: Buffer.from(`k-${encoding}`) }).finish()));
      assert.equal(range.status, 0, range.message);
      const kvs = pb.RangeResponse.decode(range.messages[0]!.bytes).kvs;
      assert.deepEqual(Buffer.from(kvs[0]!.value!), value);
    });
  }

  test("a gzip request that inflates past the 4 MiB limit is refused with RESOURCE_EXHAUSTED", async () => {
    // Proves a small compressed message cannot smuggle a large one past the inbound limit.
    const bomb = gzipSync(putRequest("bomb", Buffer.alloc(5 * 1024 * 1024)));
    const answer = await call(session, PUT, bomb, { encoding: "gzip", compressed: true });
    assert.equal(answer.status, 8, answer.message);
  });

  test("snappy and zstd requests get UNIMPLEMENTED, and the server names the encodings it accepts", async () => {
    // Proves the spec's answer for unsupported encodings, and that the node stays healthy after them.
    const snappyBody = await snappy.compress(putRequest("k-snappy", value));
    for (const [encoding, body] of [["snappy", snappyBody], ["zstd", Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 1, 0, 0])]] as const) {
      const answer = await call(session, PUT, body, { encoding, compressed: true });
      assert.equal(answer.status, 12, `${encoding}: ${answer.message}`);
      assert.match(answer.message, new RegExp(`unsupported encoding "${encoding}"`));
    }
    const plain = await call(session, PUT, putRequest("k-plain", value));
    assert.equal(plain.status, 0);
    assert.equal(plain.headers["grpc-accept-encoding"], "identity,deflate,gzip");
  });

  test("a response is sent uncompressed even when the client accepts gzip (grpc-js has no response compression)", async () => {
    // Pins the library's behaviour: valid gRPC (a server may always answer identity), documented as a gap.
    const request = Buffer.from(pb.RangeRequest.encode({ table: Buffer.from("zipped"), key: Buffer.from("k-gzip") }).finish());
    const answer = await call(session, RANGE, gzipSync(request), { encoding: "gzip", compressed: true, acceptEncoding: "gzip" });
    assert.equal(answer.status, 0, answer.message);
    assert.equal(answer.headers["grpc-encoding"], "identity");
    assert.deepEqual(answer.messages.map((m) => m.compressed), [false]);
  });
});
