import { test } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { once } from "node:events";
import { loopbackSocketPair } from "../test-support/sockets.js";
import { PassThrough } from "node:stream";
import { readIntoOwnBuffer } from "./socket-reads.js";

/** Resolves once `predicate` holds, polling (a hang guard, not a timing assertion). */
async function until(predicate: () => boolean): Promise<void> {
  for (let waited = 0; !predicate(); waited += 5) {
    if (waited > 10_000) throw new Error("condition not met");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("an accepted socket's reads arrive as chunks the callee may keep, without data events", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  const chunks: Buffer[] = [];
  assert.equal(readIntoOwnBuffer(socket, (chunk) => chunks.push(chunk)), true);
  assert.equal(socket.listenerCount("data"), 0);
  client.write("first");
  await until(() => chunks.length === 1);
  // The second read lands in the same place as the first: the first chunk must be a copy to survive it.
  client.write("SECOND");
  await until(() => Buffer.concat(chunks).length === 11);
  assert.equal(chunks[0]!.toString(), "first");
  assert.equal(Buffer.concat(chunks).toString(), "firstSECOND");
});

test("a write larger than the read buffer arrives whole and in order", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  const chunks: Buffer[] = [];
  assert.equal(readIntoOwnBuffer(socket, (chunk) => chunks.push(chunk)), true);
  const sent = Buffer.alloc(1 << 20);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 8)) & 0xff;
  client.end(sent);
  await once(socket, "end");
  assert.ok(chunks.length > 1, "a megabyte takes several reads");
  assert.ok(Buffer.concat(chunks).equals(sent));
});

test("a socket accepted paused starts reading", async (t) => {
  const [socket, client] = await loopbackSocketPair(t, { pauseOnConnect: true });
  const chunks: Buffer[] = [];
  assert.equal(readIntoOwnBuffer(socket, (chunk) => chunks.push(chunk)), true);
  client.write("hello");
  await until(() => chunks.length === 1);
  assert.equal(chunks[0]!.toString(), "hello");
});

test("the end of the stream and the close are still reported", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  assert.equal(readIntoOwnBuffer(socket, () => undefined), true);
  const ended = once(socket, "end");
  const closed = once(socket, "close");
  client.end();
  await ended;
  socket.end();
  await closed;
});

test("a socket that already holds read bytes, a TLS socket and other streams keep their data events", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  socket.pause();
  client.write("waiting");
  await until(() => socket.readableLength > 0);
  assert.equal(readIntoOwnBuffer(socket, () => assert.fail("no chunk may be taken")), false);
  assert.equal(socket.read()!.toString(), "waiting");

  const [plain] = await loopbackSocketPair(t);
  const secure = new tls.TLSSocket(plain);
  t.after(() => secure.destroy());
  assert.equal(readIntoOwnBuffer(secure, () => assert.fail("no chunk may be taken")), false);

  assert.equal(readIntoOwnBuffer(new PassThrough(), () => assert.fail("no chunk may be taken")), false);
});

test("a socket given a second reader keeps the first", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  const first: Buffer[] = [];
  assert.equal(readIntoOwnBuffer(socket, (chunk) => first.push(chunk)), true);
  assert.equal(readIntoOwnBuffer(socket, () => assert.fail("the second reader took a chunk")), false);
  client.write("x");
  await until(() => first.length === 1);
});
