import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { loopbackSocketPair } from "../test-support/sockets.js";
import { PassThrough } from "node:stream";
import { SocketWriter } from "./socket-writes.js";

/** Counts the writes that go through the socket's Writable stream. */
function countStreamWrites(socket: net.Socket): () => number {
  let writes = 0;
  const original = socket._write.bind(socket);
  socket._write = (chunk, encoding, callback) => {
    writes++;
    original(chunk, encoding, callback);
  };
  return () => writes;
}

/** Everything `socket` receives until `bytes` have arrived. */
async function receive(socket: net.Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    received += chunk.length;
    if (received >= bytes) break;
  }
  return Buffer.concat(chunks);
}

test("after the first write, writes go to the handle, in order, and the buffer is free at once", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  const streamWrites = countStreamWrites(socket);
  const writer = new SocketWriter(socket);
  const buffer = Buffer.alloc(3);
  for (const text of ["one", "two", "six"]) {
    buffer.write(text);
    // Reusing the buffer right away is safe only because the kernel took the bytes.
    assert.equal(writer.write(buffer), true);
  }
  assert.equal(streamWrites(), 1, "only the first write went through the stream");
  assert.equal((await receive(client, 9)).toString(), "onetwosix");
});

test("bytes the kernel cannot take yet stay queued, intact, and later writes follow them", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  const writer = new SocketWriter(socket);
  writer.write(Buffer.from("<"));
  client.pause();
  const big = Buffer.alloc(16 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 12)) & 0xff;
  assert.equal(writer.write(big), false, "the caller must not reuse a buffer still being sent");
  assert.ok(writer.unsent > 0, "what is still queued is counted");
  writer.write(Buffer.from(">"));
  client.resume();
  const received = await receive(client, big.length + 2);
  assert.equal(received.length, big.length + 2);
  assert.equal(received[0], "<".charCodeAt(0));
  assert.ok(received.subarray(1, 1 + big.length).equals(big));
  assert.equal(received[big.length + 1], ">".charCodeAt(0));
  assert.equal(writer.unsent, 0);
});

test("a write queued when the peer resets the connection ends the socket without an uncaught error", async (t) => {
  const [socket, client] = await loopbackSocketPair(t);
  const writer = new SocketWriter(socket);
  writer.write(Buffer.from("first"));
  client.pause();
  assert.equal(writer.write(Buffer.alloc(16 << 20)), false);
  // once() would reject on the "error" (ECONNRESET) that comes before the close.
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.on("error", () => undefined);
  client.resetAndDestroy();
  await closed;
  assert.equal(socket.destroyed, true);
});

test("other streams are written through the stream every time", async () => {
  const stream = new PassThrough();
  const writer = new SocketWriter(stream);
  assert.equal(writer.write(Buffer.from("a")), false, "a stream that may keep the buffer never frees it");
  assert.equal(writer.write(Buffer.from("b")), false);
  assert.equal(stream.read()!.toString(), "ab");
});
