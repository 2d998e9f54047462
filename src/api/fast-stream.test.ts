/**
 * Server streams on the fast path behind the HTTP/2 front (fast-unary.ts, registerFastServerStream) are
 * answered as grpc-js answers them: each case is sent, as raw HTTP/2, to a server with the front and to
 * one that grpc-js serves (a server interceptor keeps calls off the fast path), and the answers must be
 * equal: headers, messages, status, details and trailing metadata.
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

const MIB = 1024 * 1024;
const BIG_MESSAGES = 12;

/** What the handler of each server did in its last call. */
const seen = new Map<string, { sent: number; abortReason?: string; finished?: boolean }>();

function handlers(name: string): Record<string, Handler> {
  const iterateRange = async (request: { key: Uint8Array }, context: CallContext, send: (message: object) => Promise<void>) => {
    const key = Buffer.from(request.key).toString();
    const record: { sent: number; abortReason?: string; finished?: boolean } = { sent: 0 };
    seen.set(name, record);
    const message = (count: number, valueBytes = 3) => ({ kvs: [{ key: Buffer.from(`k${count}`), value: Buffer.alloc(valueBytes, 0x61 + count) }], count });
    if (key === "fail-before") throw new StatusError(Code.FAILED_PRECONDITION, "ключ не найден: 100% sure");
    if (key === "three" || key === "fail-after") {
      for (let i = 1; i <= 3; i++) {
        await send(message(i));
        record.sent++;
      }
      if (key === "fail-after") throw new StatusError(Code.FAILED_PRECONDITION, "cut after three: 100%");
      context.trailers.set("x-note", "all sent");
    }
    if (key === "big") {
      for (let i = 0; i < BIG_MESSAGES; i++) {
        await send(message(i, MIB));
        record.sent++;
      }
    }
    if (key === "wait") {
      await send(message(1));
      record.sent++;
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
      record.abortReason = String((context.signal.reason as Error).message);
      throw context.signal.reason;
    }
    record.finished = true;
  };
  return { IterateRange: iterateRange as Handler };
}

let front: grpc.Server;
let slow: grpc.Server;
let frontAddress: string;
let slowAddress: string;

before(async () => {
  front = new grpc.Server(serverOptions());
  enableHttp2Front(front);
  slow = new grpc.Server(serverOptions({ interceptors: [(_descriptor, call) => new grpc.ServerInterceptingCall(call)] }));
  bindService(front, KV_SERVICE, handlers("front"));
  bindService(slow, KV_SERVICE, handlers("slow"));
  frontAddress = await listen(front, "http://127.0.0.1:0");
  slowAddress = await listen(slow, "http://127.0.0.1:0");
});

after(async () => {
  await shutdown(front, 0);
  slow.forceShutdown();
});

function frame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

const request = (key: string) => frame(pb.RangeRequest.encode({ table: Buffer.from("t"), key: Buffer.from(key) }).finish());

interface CallOptions {
  headers?: http2.OutgoingHttpHeaders;
  /** The client resets the stream after this long. */
  cancelAfterMs?: number;
  /** The client reads nothing for this long after the response headers, with a small window. */
  pauseMs?: number;
  /** Runs at the end of the pause, before reading resumes. */
  duringPause?: () => void;
  /** The client's stream window (HTTP/2's default otherwise). */
  window?: number;
}

/** One raw IterateRange call. */
function call(address: string, body: Buffer, options: CallOptions = {}): Promise<RawGrpcAnswer> {
  const { pauseMs, duringPause } = options;
  return rawGrpcCall(address, "/armada.v1.KV/IterateRange", body, {
    fields: ["x-note"],
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.cancelAfterMs !== undefined ? { cancelAfterMs: options.cancelAfterMs } : {}),
    ...(options.window !== undefined ? { settings: { initialWindowSize: options.window }, connectionWindow: options.window } : {}),
    ...(pauseMs !== undefined
      ? {
          settings: { initialWindowSize: 65_535 },
          onResponse: (stream: http2.ClientHttp2Stream) => {
            stream.pause();
            setTimeout(() => {
              duringPause?.();
              stream.resume();
            }, pauseMs);
          },
        }
      : {}),
  });
}

/** The same call on both servers: the answers, which must be equal, and whether the front's fast path took it. */
async function both(body: Buffer, options: CallOptions = {}): Promise<RawGrpcAnswer> {
  const before = fastCallCount();
  const viaFront = await call(frontAddress, body, options);
  assert.equal(fastCallCount(), before + 1, "the stream did not take the fast path behind the HTTP/2 front");
  const viaGrpcJs = await call(slowAddress, body, options);
  assert.equal(fastCallCount(), before + 1, "the server with an interceptor must not take the fast path");
  assert.deepEqual(viaFront, viaGrpcJs);
  return viaFront;
}

/** The RangeResponse messages of a streamed body; `intact`: the value holds the byte the handler filled it with. */
function messages(body: Buffer): { count: number; valueBytes: number; intact: boolean }[] {
  const out: { count: number; valueBytes: number; intact: boolean }[] = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at + 1);
    const message = pb.RangeResponse.decode(body.subarray(at + 5, at + 5 + length));
    const count = Number(message.count);
    const value = message.kvs[0]?.value ?? new Uint8Array(0);
    out.push({ count, valueBytes: value.length, intact: value.every((byte) => byte === 0x61 + count) });
    at += 5 + length;
  }
  return out;
}

test("a stream of three messages, then OK with the handler's trailing metadata", async () => {
  const answer = await both(request("three"));
  assert.equal(answer.httpStatus, 200);
  assert.equal(answer.grpcStatus, "0");
  assert.equal(answer.fields["x-note"], "all sent");
  assert.deepEqual(messages(answer.body), [1, 2, 3].map((count) => ({ count, valueBytes: 3, intact: true })));
});

test("a stream without messages: a trailers-only OK", async () => {
  const answer = await both(request("none"));
  assert.equal(answer.grpcStatus, "0");
  assert.equal(answer.body.length, 0);
});

test("an error before the first message, and one after three: the code and details, after the messages sent", async () => {
  const early = await both(request("fail-before"));
  assert.equal(early.grpcStatus, String(grpc.status.FAILED_PRECONDITION));
  assert.equal(decodeURI(early.grpcMessage!), "ключ не найден: 100% sure");
  assert.equal(early.body.length, 0);
  const late = await both(request("fail-after"));
  assert.equal(late.grpcStatus, String(grpc.status.FAILED_PRECONDITION));
  assert.equal(decodeURI(late.grpcMessage!), "cut after three: 100%");
  assert.equal(messages(late.body).length, 3);
});

test("bytes that are not protobuf: INVALID_ARGUMENT, as for a unary call", async () => {
  const answer = await both(frame(Buffer.from([0xff, 0xff, 0xff, 0xff])));
  assert.equal(answer.grpcStatus, String(grpc.status.INVALID_ARGUMENT));
  assert.match(decodeURI(answer.grpcMessage!), /request is not a valid protobuf message/);
});

test("a client that resets the stream, and a deadline that passes mid-stream, abort the handler", async () => {
  for (const [name, address] of [["front", frontAddress], ["slow", slowAddress]] as const) {
    seen.delete(name);
    await call(address, request("wait"), { cancelAfterMs: 50 });
    for (let i = 0; i < 100 && !seen.get(name)?.abortReason; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.match(seen.get(name)?.abortReason ?? "", /cancelled/, `${name} server`);

    const passed = await call(address, request("wait"), { headers: { "grpc-timeout": "100m" } });
    assert.equal(passed.grpcStatus, String(grpc.status.DEADLINE_EXCEEDED), `${name} server`);
    assert.match(decodeURI(passed.grpcMessage!), /^deadline exceeded$/i);
    assert.equal(messages(passed.body).length, 1, "the message sent before the deadline arrives");
  }
});

test("a client that stops reading holds the handler back; when it reads again, every message arrives", async () => {
  for (const [name, address] of [["front", frontAddress], ["slow", slowAddress]] as const) {
    let sentDuringPause = -1;
    const answer = await call(address, request("big"), { pauseMs: 400, duringPause: () => (sentDuringPause = seen.get(name)!.sent) });
    // 12 MiB to send against a 64 KiB window: the handler waits after the first message or two.
    assert.ok(sentDuringPause >= 0 && sentDuringPause <= 3, `${name} server: ${sentDuringPause} messages sent while the client read nothing`);
    assert.equal(answer.grpcStatus, "0");
    assert.deepEqual(messages(answer.body), Array.from({ length: BIG_MESSAGES }, (_, count) => ({ count, valueBytes: MIB, intact: true })));
    assert.equal(seen.get(name)!.finished, true);
  }
});

test("a client whose window takes the whole stream gets every byte of twelve 1 MiB messages", async () => {
  // The connection writes a large answer out as it frames it (http2/connection.ts, flushStream), in many
  // writes of a reused buffer; every byte must arrive, in order.
  const answer = await both(request("big"), { window: 16 * MIB });
  assert.equal(answer.grpcStatus, "0");
  assert.deepEqual(messages(answer.body), Array.from({ length: BIG_MESSAGES }, (_, count) => ({ count, valueBytes: MIB, intact: true })));
});
