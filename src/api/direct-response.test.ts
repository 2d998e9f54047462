import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { answersDirectly, answerWithTrailers, prepareHeaders } from "./direct-response.js";

const HEADERS = prepareHeaders({ ":status": "200", "content-type": "application/grpc+proto", "grpc-encoding": "identity" });
const TRAILERS = prepareHeaders({ "grpc-status": "0", "grpc-message": "OK" });

interface Answer {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
}

async function withServer(onStream: (stream: ServerHttp2Stream) => void, run: (client: ClientHttp2Session, server: Http2Server) => Promise<void>): Promise<void> {
  const server = createServer();
  server.on("stream", onStream);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    await run(client, server);
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function call(client: ClientHttp2Session, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = client.request({ ":method": "POST", ":path": "/t.S/M", "content-type": "application/grpc" });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    request.on("response", (h) => (headers = h));
    request.on("trailers", (t) => (trailers = t));
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("error", reject);
    request.on("close", () => resolve({ headers, body: Buffer.concat(chunks), trailers }));
    request.end(body);
  });
}

/** Answers every stream with its own request body, directly. */
function echo(closed: { count: number }, direct: boolean[]): (stream: ServerHttp2Stream) => void {
  return (stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("close", () => closed.count++);
    stream.on("end", () => {
      direct.push(answersDirectly(stream));
      answerWithTrailers(stream, HEADERS, Buffer.concat(chunks), TRAILERS);
    });
  };
}

test("prepareHeaders puts pseudo-headers first and counts every field", () => {
  const prepared = prepareHeaders({ "content-type": "application/grpc", ":status": "200" });
  assert.deepEqual(prepared.native, [":status\u0000200\u0000\u0000content-type\u0000application/grpc\u0000\u0000", 2]);
  assert.deepEqual(prepared.fields, { "content-type": "application/grpc", ":status": "200" });
  assert.ok(Object.isFrozen(prepared.fields));
});

test("prepareHeaders refuses names and values that would corrupt the native list", () => {
  assert.throws(() => prepareHeaders({ "Content-Type": "x" }), /invalid HTTP\/2 header name/);
  assert.throws(() => prepareHeaders({ "a b": "x" }), /invalid HTTP\/2 header name/);
  assert.throws(() => prepareHeaders({ "x-a": "one\u0000two" }), /invalid value/);
  assert.throws(() => prepareHeaders({ "x-a": "one\r\ntwo" }), /invalid value/);
});

test("a direct answer carries the headers, the body and the trailers, and closes the stream", async () => {
  const closed = { count: 0 };
  const direct: boolean[] = [];
  await withServer(echo(closed, direct), async (client) => {
    const answer = await call(client, Buffer.from("hello"));
    assert.equal(answer.headers[":status"], 200);
    assert.equal(answer.headers["content-type"], "application/grpc+proto");
    assert.equal(answer.headers["grpc-encoding"], "identity");
    assert.equal(answer.body.toString(), "hello");
    assert.equal(answer.trailers["grpc-status"], "0");
    assert.equal(answer.trailers["grpc-message"], "OK");
  });
  assert.equal(closed.count, 1);
  // On the Node.js release this module follows, the internals are found; elsewhere the public API answers.
  assert.deepEqual(direct, [Number(process.versions.node.split(".")[0]) === 20]);
});

test("many direct answers on one connection, in a row and at once, all complete", async () => {
  const closed = { count: 0 };
  const direct: boolean[] = [];
  await withServer(echo(closed, direct), async (client) => {
    for (let i = 0; i < 100; i++) assert.equal((await call(client, Buffer.from(`in-a-row-${i}`))).body.toString(), `in-a-row-${i}`);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => call(client, Buffer.alloc(20_000 + i, i))));
    answers.forEach((answer, i) => {
      assert.equal(answer.body.length, 20_000 + i);
      assert.equal(answer.trailers["grpc-status"], "0");
    });
  });
  assert.equal(closed.count, 150);
});

test("a stream reset by the client before its trailers leaves the connection serving", async () => {
  const errors: unknown[] = [];
  const closed = { count: 0 };
  const onStream = (stream: ServerHttp2Stream): void => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (error) => errors.push(error));
    const first = closed.count === 0;
    stream.on("close", () => closed.count++);
    // 1 MiB cannot leave before the client's flow-control window (64 KiB) is refilled, so the client
    // resets the first stream while its body is still on the way and its trailers not yet asked for.
    stream.on("end", () => answerWithTrailers(stream, HEADERS, first ? Buffer.alloc(1 << 20) : Buffer.concat(chunks), TRAILERS));
  };
  await withServer(onStream, async (client) => {
    await new Promise<void>((resolve) => {
      const request = client.request({ ":method": "POST", ":path": "/t.S/M" });
      request.on("error", () => undefined);
      request.once("response", () => {
        request.close();
        resolve();
      });
      request.end(Buffer.from("x"));
    });
    const next = await call(client, Buffer.from("after"));
    assert.equal(next.body.toString(), "after");
    assert.equal(next.trailers["grpc-status"], "0");
  });
  assert.equal(closed.count, 2);
  assert.deepEqual(errors, []);
});

test("a stream without the expected internals is answered through the public API", () => {
  const calls: string[] = [];
  class PlainStream {
    headersSent = false;
    respond(headers: Record<string, string>, options: { waitForTrailers?: boolean }): void {
      calls.push(`respond ${headers[":status"]} ${String(options.waitForTrailers)}`);
    }
    once(event: string, listener: () => void): void {
      calls.push(`once ${event}`);
      listener();
    }
    sendTrailers(trailers: Record<string, string>): void {
      calls.push(`trailers ${trailers["grpc-status"]}`);
    }
    end(body: Buffer): void {
      calls.push(`end ${body.toString()}`);
    }
  }
  const stream = new PlainStream() as unknown as ServerHttp2Stream;
  assert.equal(answersDirectly(stream), false);
  answerWithTrailers(stream, HEADERS, Buffer.from("body"), TRAILERS);
  assert.deepEqual(calls, ["respond 200 true", "once wantTrailers", "trailers 0", "end body"]);
});
