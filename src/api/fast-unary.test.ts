/**
 * The fast unary path answers every edge case exactly as grpc-js does: each case is sent, as raw HTTP/2,
 * to three servers bound with the same handlers, one taking the fast path behind node:http2, one taking it
 * behind Armada's own HTTP/2 layer (server/http2-front.ts), and one that grpc-js serves (a server
 * interceptor keeps calls off the fast path), and the answers must be equal.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { bindService, type CallContext, type Handler } from "./bind.js";
import { fastCallCount } from "./fast-unary.js";
import { Code, StatusError } from "./status.js";
import { KV_SERVICE } from "../proto/services.js";
import { pb } from "../proto/index.js";
import { listen, serverOptions, shutdown } from "../server/listen.js";
import { enableHttp2Front } from "../server/http2-front.js";
import { rawGrpcCall, type RawGrpcAnswer } from "../test-support/raw-grpc.js";

/** What the handler saw of its last call, by server. */
const seen = new Map<string, { metadata?: Record<string, unknown>; abortReason?: string }>();

function handlers(name: string): Record<string, Handler> {
  const range = async (request: { key: Uint8Array }, context: CallContext) => {
    const key = Buffer.from(request.key).toString();
    const record = { metadata: context.metadata.getMap() as Record<string, unknown> };
    seen.set(name, record);
    if (key === "fail") throw new StatusError(Code.FAILED_PRECONDITION, "ключ не найден: 100% sure");
    if (key === "wait") {
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
      seen.set(name, { ...record, abortReason: String((context.signal.reason as Error).message) });
      throw context.signal.reason;
    }
    return { count: 7 };
  };
  return { Range: range as Handler };
}

type Answer = RawGrpcAnswer;

let fast: grpc.Server;
let front: grpc.Server;
let slow: grpc.Server;
let fastAddress: string;
let frontAddress: string;
let slowAddress: string;

before(async () => {
  fast = new grpc.Server(serverOptions());
  front = new grpc.Server(serverOptions());
  enableHttp2Front(front);
  slow = new grpc.Server(serverOptions({ interceptors: [(_descriptor, call) => new grpc.ServerInterceptingCall(call)] }));
  bindService(fast, KV_SERVICE, handlers("fast"));
  bindService(front, KV_SERVICE, handlers("front"));
  bindService(slow, KV_SERVICE, handlers("slow"));
  fastAddress = await listen(fast, "http://127.0.0.1:0");
  frontAddress = await listen(front, "http://127.0.0.1:0");
  slowAddress = await listen(slow, "http://127.0.0.1:0");
});

after(async () => {
  fast.forceShutdown();
  await shutdown(front, 0);
  slow.forceShutdown();
});

function frame(message: Uint8Array, declaredLength = message.length): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([header, message]);
}

const rangeRequest = (key: string) => pb.RangeRequest.encode({ table: Buffer.from("t"), key: Buffer.from(key) }).finish();

/** One raw call; with `cancelAfterMs` the client resets the stream after that long. */
function call(address: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}, cancelAfterMs?: number): Promise<Answer> {
  return rawGrpcCall(address, "/armada.v1.KV/Range", body, { headers, ...(cancelAfterMs !== undefined ? { cancelAfterMs } : {}) });
}

/** The same call on the three servers: the answers, which must be equal, and whether the fast path took it. */
async function both(body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  const before = fastCallCount();
  const viaFast = await call(fastAddress, body, headers);
  assert.equal(fastCallCount(), before + 1, "the call did not take the fast path");
  const viaFront = await call(frontAddress, body, headers);
  assert.equal(fastCallCount(), before + 2, "the call did not take the fast path behind the HTTP/2 front");
  const viaGrpcJs = await call(slowAddress, body, headers);
  assert.equal(fastCallCount(), before + 2, "the server with an interceptor must not take the fast path");
  assert.deepEqual(viaFast, viaGrpcJs);
  assert.deepEqual(viaFront, viaGrpcJs);
  return viaFast;
}

const servers = () => [["fast", fastAddress], ["front", frontAddress], ["slow", slowAddress]] as const;

test("a plain call is answered on the fast path with grpc-js's headers, message and status", async () => {
  const answer = await both(frame(rangeRequest("echo")));
  assert.equal(answer.grpcStatus, "0");
  assert.equal(pb.RangeResponse.decode(answer.body.subarray(5)).count.toString(), "7");
});

test("a handler's error: its code and its details, percent-encoded as grpc-js does", async () => {
  const answer = await both(frame(rangeRequest("fail")));
  assert.equal(answer.grpcStatus, String(grpc.status.FAILED_PRECONDITION));
  assert.equal(decodeURI(answer.grpcMessage!), "ключ не найден: 100% sure");
});

test("no message, a cut message and two messages: UNIMPLEMENTED, as grpc-js answers", async () => {
  const none = await both(Buffer.alloc(0));
  assert.equal(none.grpcStatus, String(grpc.status.UNIMPLEMENTED));
  assert.match(decodeURI(none.grpcMessage!), /Received no request message/);
  const cut = await both(frame(rangeRequest("echo")).subarray(0, 8));
  assert.equal(cut.grpcStatus, String(grpc.status.UNIMPLEMENTED));
  const two = await both(Buffer.concat([frame(rangeRequest("echo")), frame(rangeRequest("echo"))]));
  assert.equal(two.grpcStatus, String(grpc.status.UNIMPLEMENTED));
  assert.match(decodeURI(two.grpcMessage!), /Received a second request message/);
});

test("a message over the receive limit is refused from its length prefix: RESOURCE_EXHAUSTED", async () => {
  const answer = await both(frame(Buffer.alloc(16), 5 * 1024 * 1024));
  assert.equal(answer.grpcStatus, String(grpc.status.RESOURCE_EXHAUSTED));
  assert.equal(decodeURI(answer.grpcMessage!), "Received message larger than max (5242880 vs 4194304)");
});

test("bytes that are not protobuf: INVALID_ARGUMENT naming the problem", async () => {
  const answer = await both(frame(Buffer.from([0xff, 0xff, 0xff, 0xff])));
  assert.equal(answer.grpcStatus, String(grpc.status.INVALID_ARGUMENT));
  assert.match(decodeURI(answer.grpcMessage!), /request is not a valid protobuf message/);
});

test("an invalid grpc-timeout is INTERNAL; a deadline that passes is DEADLINE_EXCEEDED and aborts the handler", async () => {
  const invalid = await both(frame(rangeRequest("echo")), { "grpc-timeout": "soon" });
  assert.equal(invalid.grpcStatus, String(grpc.status.INTERNAL));
  assert.equal(decodeURI(invalid.grpcMessage!), 'Invalid grpc-timeout value "soon"');
  // Two timers race at the deadline on either path: the transport's ("Deadline exceeded") and the handler's
  // signal (answered "deadline exceeded"); the status is the same.
  for (const [, address] of servers()) {
    const passed = await call(address, frame(rangeRequest("wait")), { "grpc-timeout": "50m" });
    assert.equal(passed.grpcStatus, String(grpc.status.DEADLINE_EXCEEDED));
    assert.match(decodeURI(passed.grpcMessage!), /^deadline exceeded$/i);
  }
  // Which of the two fired first decides the handler's reason: the deadline, or the call ending.
  for (const [name] of servers()) assert.match(seen.get(name)?.abortReason ?? "", /deadline exceeded|cancelled/, `${name} server`);
});

test("a client that resets the stream aborts the handler's signal as cancelled", async () => {
  for (const [name, address] of servers()) {
    seen.delete(name);
    await call(address, frame(rangeRequest("wait")), {}, 50);
    for (let i = 0; i < 100 && !seen.get(name)?.abortReason; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.match(seen.get(name)?.abortReason ?? "", /cancelled/, `${name} server`);
  }
});

test("the handler sees the same metadata on both paths, without the transport's headers", async () => {
  await both(frame(rangeRequest("echo")), { "x-tag": "blue", authorization: "Bearer t0ken", "grpc-timeout": "5S" });
  const metadata = seen.get("fast")!.metadata!;
  assert.deepEqual(metadata, seen.get("slow")!.metadata);
  assert.deepEqual(metadata, seen.get("front")!.metadata);
  assert.equal(metadata["x-tag"], "blue");
  assert.equal(metadata["authorization"], "Bearer t0ken");
  for (const transport of ["grpc-timeout", "content-type", "te"]) assert.ok(!(transport in metadata), `${transport} reached the handler`);
});

test("a compressed request and a wrong content type stay with grpc-js", async () => {
  const before = fastCallCount();
  for (const address of [fastAddress, frontAddress]) {
    const gzip = await call(address, frame(rangeRequest("echo")), { "grpc-encoding": "gzip" });
    // Not compressed though announced: grpc-js reads the flag (0) and answers normally.
    assert.equal(gzip.grpcStatus, "0");
    const wrongType = await call(address, frame(rangeRequest("echo")), { "content-type": "text/plain" });
    assert.equal(wrongType.httpStatus, 415);
  }
  assert.equal(fastCallCount(), before);
});


for (const path of ["node:http2", "front"]) test(`bytes streamed past the first message are refused at once, before the client finishes sending (${path})`, async () => {
  const session = http2.connect(path === "front" ? frontAddress : fastAddress);
  try {
    const stream = session.request({ ":method": "POST", ":path": "/armada.v1.KV/Range", "content-type": "application/grpc", te: "trailers" });
    const answered = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", resolve));
    stream.on("error", () => undefined);
    // A valid message, then more bytes, and the stream left open: the answer must not wait for the end.
    stream.write(Buffer.concat([frame(rangeRequest("echo")), Buffer.alloc(64 * 1024, 1)]));
    const headers = await answered;
    assert.equal(headers["grpc-status"], String(grpc.status.UNIMPLEMENTED));
    assert.match(decodeURI(String(headers["grpc-message"])), /second request message/);
  } finally {
    // The client never finished its request: drop the connection rather than wait for the stream.
    session.destroy();
  }
});
