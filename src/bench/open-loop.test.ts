import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { runOpenLoop } from "./open-loop.js";
import { grpcFrame } from "./wire.js";

/** A gRPC-shaped server: /ok answers a message and grpc-status 0, /fail answers trailers only, /never never answers. */
async function grpcLikeServer(): Promise<{ server: Http2Server; address: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer();
  server.on("stream", (stream, headers) => {
    seen.push(`${headers[":method"]} ${headers["content-type"]} ${headers.te}${headers[":path"]?.startsWith("/") ? "" : " bad path"}`);
    stream.on("data", () => undefined);
    stream.on("end", () => {
      if (headers[":path"] === "/ok" || headers[":path"] === "/big") {
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        // /big: answers larger than one read of the generator's buffer, so frames arrive cut in two.
        stream.end(grpcFrame(headers[":path"] === "/big" ? Buffer.alloc(300_000, 7) : Buffer.from("answer")));
      } else if (headers[":path"] === "/fail") {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "5" }, { endStream: true });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const body = grpcFrame(Buffer.from("request")).toString("base64");

test("every call due is sent on schedule and counted by its answer: a message and trailers succeed", async () => {
  const { server, address, seen } = await grpcLikeServer();
  try {
    const result = await runOpenLoop({ address, path: "/ok", bodyBase64: body, rate: 400, durationS: 1, warmupS: 0.25, connections: 2, drainMs: 500 });
    assert.equal(result.scheduled, 300);
    assert.equal(result.succeeded, 300);
    assert.equal(result.failed + result.unanswered, 0);
    assert.equal(seen.length, 400, "warm-up calls are sent too");
    assert.equal(seen[0], "POST application/grpc trailers");
    // Later requests name their fields by HPACK index; they must decode to the same headers.
    assert.deepEqual(new Set(seen), new Set(["POST application/grpc trailers"]));
    assert.ok(result.p50Ms > 0 && result.p50Ms <= result.p99Ms && result.p99Ms <= result.maxMs);
    assert.ok(Number.isFinite(result.maxMs));
  } finally {
    server.close();
  }
});

test("answers that arrive in pieces (frames cut across reads) are put together and counted", async () => {
  const { server, address } = await grpcLikeServer();
  try {
    const result = await runOpenLoop({ address, path: "/big", bodyBase64: body, rate: 100, durationS: 1, warmupS: 0, connections: 2, drainMs: 2000 });
    assert.equal(result.scheduled, 100);
    assert.equal(result.succeeded, 100);
    assert.equal(result.failed + result.unanswered, 0);
  } finally {
    server.close();
  }
});

test("a trailers-only answer (a gRPC error) counts as failed, and calls never answered as unanswered and slowest", async () => {
  const { server, address } = await grpcLikeServer();
  try {
    const failing = await runOpenLoop({ address, path: "/fail", bodyBase64: body, rate: 200, durationS: 0.5, warmupS: 0, connections: 1, drainMs: 500 });
    assert.equal(failing.failed, 100);
    assert.equal(failing.succeeded, 0);
    const silent = await runOpenLoop({ address, path: "/never", bodyBase64: body, rate: 200, durationS: 0.5, warmupS: 0, connections: 1, drainMs: 100 });
    assert.equal(silent.unanswered, 100);
    assert.equal(silent.p99Ms, Infinity);
    assert.equal(silent.rps, 0);
  } finally {
    server.close();
  }
});
