/**
 * The API listener's HTTP/2 front on a real node: it serves unary calls and passes streams on to grpc-js,
 * survives garbage on its socket, and `ARMADA_API_HTTP2=node` puts node:http2 back. Which server answers is
 * told by the SETTINGS each announces: the front limits a connection to 1,000 streams, node:http2 does not.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { connect } from "node:net";
import { after, describe, test } from "node:test";
import { ArmadaClient } from "../client/index.js";
import { LeaderProcess, removeDir, tempDir } from "../test-support/process.js";

async function announcedStreams(address: string): Promise<number | undefined> {
  const session = http2.connect(address);
  try {
    await new Promise<void>((resolve, reject) => {
      session.once("remoteSettings", () => resolve());
      session.once("error", reject);
    });
    return session.remoteSettings.maxConcurrentStreams;
  } finally {
    session.destroy();
  }
}

/** Writes `bytes` on a raw TCP connection to the listener and resolves when the node closes it. */
function closedAfter(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    const received: Buffer[] = [];
    socket.on("data", (chunk) => received.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(received)));
    setTimeout(() => { socket.destroy(); reject(new Error("the node kept the connection open")); }, 10_000).unref();
  });
}

async function exercise(client: ArmadaClient, table: string): Promise<void> {
  await client.createTable(table);
  await client.put(table, "a", "1");
  await client.put(table, "b", "2");
  assert.deepEqual((await client.range(table, "a")).kvs.map((kv) => kv.value.toString()), ["1"]);
  const streamed: string[] = [];
  for await (const message of client.iterateRange(table, "\0", { rangeEnd: "\0" })) streamed.push(...message.kvs.map((kv) => kv.key.toString()));
  assert.deepEqual(streamed, ["a", "b"]);
}

for (const mode of ["front", "node:http2"] as const) {
  describe(`the API listener with ${mode}`, () => {
    const dir = tempDir("front-");
    let leader: LeaderProcess | undefined;
    const clients: ArmadaClient[] = [];
    after(async () => {
      for (const client of clients) client.close();
      await leader?.stop("SIGKILL");
      removeDir(dir);
    });

    test("serves unary and streaming calls; garbage on the socket is refused and the node serves on", async () => {
      leader = await LeaderProcess.start(dir, [], mode === "front" ? {} : { env: { ARMADA_API_HTTP2: "node" } });
      const streams = await announcedStreams(leader.apiAddress);
      if (mode === "front") assert.equal(streams, 1000);
      else assert.notEqual(streams, 1000);
      const client = new ArmadaClient(leader.apiAddress, { timeoutMs: 5000 });
      clients.push(client);
      await exercise(client, "t1");
      const port = Number(new URL(leader.apiAddress).port);
      const answer = await closedAfter(port, Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      if (mode === "front") {
        // A GOAWAY frame (type 7) with PROTOCOL_ERROR (1), after the server's SETTINGS.
        const goAway = answer.indexOf(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x00]));
        assert.ok(goAway >= 0, "a GOAWAY was sent");
        assert.equal(answer.readUInt32BE(goAway + 6 + 4), 1);
      }
      await closedAfter(port, Buffer.alloc(64 * 1024, 0xff)).catch(() => Buffer.alloc(0));
      assert.equal((await client.range("t1", "b")).kvs[0]?.value.toString(), "2");
      assert.equal(leader.exitStatus, null);
    });
  });
}
