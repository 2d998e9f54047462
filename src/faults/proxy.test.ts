/**
 * The link proxy on real loopback sockets: it forwards both ways, delays in order, and its cuts really cut.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { LinkProxy } from "./proxy.js";
import { SeededRandom } from "../raft/prng.js";
import { freePort } from "../test-support/process.js";

/** An echo server: every byte comes back. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0 };
}

/** Sends `text` and resolves with the echoed text once `text.length` bytes came back, or null after `timeoutMs`. */
function roundTrip(socket: Socket, text: string, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    let received = "";
    const onData = (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= text.length) done(received);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (value: string | null) => {
      clearTimeout(timer);
      socket.off("data", onData);
      resolve(value);
    };
    socket.on("data", onData);
    socket.write(text);
  });
}

describe("LinkProxy", () => {
  let echo: { server: Server; port: number };
  let proxy: LinkProxy;
  let port: number;
  const sockets: Socket[] = [];
  const dial = async () => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    sockets.push(socket);
    await once(socket, "connect");
    return socket;
  };

  before(async () => {
    echo = await echoServer();
    proxy = new LinkProxy(1, 2, echo.port, new SeededRandom(1));
    port = await freePort();
    await proxy.listen(port);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await proxy.close();
    echo.server.close();
  });

  test("forwards both directions", async () => {
    const socket = await dial();
    assert.equal(await roundTrip(socket, "hello"), "hello");
  });

  test("delays every chunk, keeping their order", async () => {
    const socket = await dial();
    proxy.setDelay(100, 50);
    const started = performance.now();
    const parts = Array.from({ length: 20 }, (_, i) => `<${i}>`);
    const echoed = await roundTrip(socket, parts.join(""));
    assert.equal(echoed, parts.join(""));
    assert.ok(performance.now() - started >= 190, "delayed on the way there and back");
    proxy.heal();
  });

  test("a reset cut breaks open connections and refuses new ones until healed", async () => {
    const socket = await dial();
    const closed = once(socket, "close");
    proxy.cut("reset");
    await closed;
    const refused = connect(port, "127.0.0.1");
    refused.on("error", () => undefined);
    sockets.push(refused);
    await once(refused, "close");
    proxy.heal();
    assert.equal(await roundTrip(await dial(), "back"), "back");
  });

  test("a blackhole holds the bytes and delivers them after the heal", async () => {
    const socket = await dial();
    proxy.cut("blackhole");
    const pending = roundTrip(socket, "held", 3000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    let arrived = false;
    void pending.then(() => (arrived = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(arrived, false, "nothing passes while cut");
    proxy.heal();
    assert.equal(await pending, "held");
  });

  test("loss breaks the connection", async () => {
    const socket = await dial();
    proxy.setLoss(1);
    const closed = once(socket, "close");
    socket.write("lost");
    await closed;
    proxy.heal();
    assert.ok(proxy.stats.resets >= 2);
  });
});
