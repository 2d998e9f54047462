import { strict as assert } from "node:assert";
import http2, { type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { fullGc } from "../test-support/full-gc.js";
import { FreshMap, registeredRenewals, renewAfterFullGc, watchHttp2Session } from "./fresh-tables.js";

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function streamsOf(session: Http2Session): { streams: Map<number, unknown>; pendingStreams: Set<unknown> } {
  const key = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === "state")!;
  return (session as unknown as Record<symbol, { streams: Map<number, unknown>; pendingStreams: Set<unknown> }>)[key]!;
}

test("a renewal runs after each full collection until it is withdrawn", async () => {
  let runs = 0;
  const withdraw = renewAfterFullGc(() => runs++);
  fullGc();
  await until(() => runs >= 1, "the renewal after a full collection");
  withdraw();
  const before = runs;
  fullGc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(runs, before);
});

test("a watched HTTP/2 session gets copies of its stream collections and keeps serving", async () => {
  const server = http2.createServer();
  let serverSession: Http2Session | undefined;
  server.on("stream", (stream) => {
    serverSession = stream.session;
    watchHttp2Session(stream.session);
    watchHttp2Session(stream.session); // idempotent
    stream.respond({ ":status": 200 });
    stream.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const get = () =>
    new Promise<string>((resolve, reject) => {
      const request = client.request({ ":path": "/" });
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => resolve(body));
      request.on("error", reject);
      request.end();
    });

  assert.equal(await get(), "ok");
  const collections = streamsOf(serverSession!);
  const [streams, pending] = [collections.streams, collections.pendingStreams];
  fullGc();
  await until(() => collections.streams !== streams, "the copied stream map");
  assert.notEqual(collections.pendingStreams, pending);
  // The copies are of node:http2's own classes, so nothing it calls on them changes.
  assert.equal(collections.streams.constructor, streams.constructor);
  assert.equal(collections.pendingStreams.constructor, pending.constructor);
  assert.equal(await get(), "ok");
  assert.equal(await get(), "ok");
  await new Promise<void>((resolve) => {
    serverSession!.once("close", () => resolve());
    client.close();
  });
  await new Promise((resolve) => server.close(resolve));
});

test("a closed session's renewal is withdrawn", async () => {
  const server = http2.createServer();
  const closed = new Promise<void>((resolve) =>
    server.on("session", (session) => {
      watchHttp2Session(session);
      session.once("close", () => setImmediate(resolve));
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const before = registeredRenewals();
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await new Promise((resolve) => client.once("connect", resolve));
  await until(() => registeredRenewals() === before + 1, "the session's renewal");
  client.close();
  await closed;
  assert.equal(registeredRenewals(), before);
  await new Promise((resolve) => server.close(resolve));
});

test("a session without node:http2's private state is left alone", () => {
  const stranger = { once: () => assert.fail("no renewal should be registered") } as unknown as Http2Session;
  const before = registeredRenewals();
  watchHttp2Session(stranger);
  watchHttp2Session(undefined);
  assert.equal(registeredRenewals(), before);
});

test("a FreshMap behaves as a Map and keeps its entries, in order, across renewals", async () => {
  const map = new FreshMap<number, string>();
  map.set(3, "c").set(1, "a").set(2, "b");
  map.delete(1);
  assert.equal(map.size, 2);
  assert.equal(map.get(3), "c");
  assert.equal(map.has(1), false);
  map.renew();
  assert.deepEqual([...map], [[3, "c"], [2, "b"]]);
  fullGc();
  // After a full collection the map moves to a new table on its own; nothing it holds changes.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual([...map.keys()], [3, 2]);
  assert.deepEqual([...map.values()], ["c", "b"]);
  assert.deepEqual([...map.entries()], [[3, "c"], [2, "b"]]);
  map.clear();
  assert.equal(map.size, 0);
  map.set(5, "e");
  assert.deepEqual([...map], [[5, "e"]]);
});
