// Proves the request/response exchange over the Raft connection: concurrent requests in both directions get their
// own answers; the handler's failure, a missing handler, a timeout, a peer that is down, a connection lost while
// waiting, and a closed transport each reject with a typed error saying which.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestFailedError, TransportClosedError } from "./errors.js";
import type { RequestHandler } from "./raft-channel.js";
import { closeAll, createNode, freePort, startCluster, waitFor } from "./testkit.js";

function failedWith(reason: RequestFailedError["reason"], detail: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof RequestFailedError && error.reason === reason && detail.test(error.message);
}

test("concurrent requests in both directions get their own answers", async () => {
  const echo: RequestHandler = async (from, request) => Buffer.concat([Buffer.from(`${from}:`), request]);
  const nodes = await startCluster(2, () => ({ onRequest: echo }));
  try {
    const [a, b] = [nodes[0]!.transport, nodes[1]!.transport];
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a.request(2, Buffer.from(`q${i}`), 2_000) : b.request(1, Buffer.from(`q${i}`), 2_000))),
    );
    assert.deepEqual(
      answers.map((answer) => Buffer.from(answer).toString()),
      Array.from({ length: 100 }, (_, i) => `${i % 2 === 0 ? 1 : 2}:q${i}`),
    );
  } finally {
    await closeAll(nodes);
  }
});

test("handler failure, missing handler and timeout are reported as such", async () => {
  let mode: "fail" | "hang" = "fail";
  const nodes = await startCluster(2, (id) =>
    id === 2 ? { onRequest: () => (mode === "fail" ? Promise.reject(new Error("not the leader")) : new Promise<Uint8Array>(() => {})) } : {},
  );
  try {
    const [a, b] = [nodes[0]!.transport, nodes[1]!.transport];
    await assert.rejects(a.request(2, Buffer.from("x"), 2_000), failedWith("remoteError", /not the leader/));
    await assert.rejects(b.request(1, Buffer.from("x"), 2_000), failedWith("remoteError", /does not answer requests/));
    mode = "hang";
    const started = Date.now();
    await assert.rejects(a.request(2, Buffer.from("x"), 100), failedWith("timeout", /no answer within 100 ms/));
    assert.ok(Date.now() - started >= 95);
  } finally {
    await closeAll(nodes);
  }
});

test("a peer that is down, a lost connection and a closed transport reject requests", async () => {
  const sender = createNode(1, [1, 2]);
  let receiver = createNode(2, [1, 2], { onRequest: () => new Promise<Uint8Array>(() => {}) });
  try {
    await sender.transport.start();
    sender.transport.setPeerAddress(2, `127.0.0.1:${await freePort()}`);
    await assert.rejects(sender.transport.request(2, Buffer.from("x"), 1_000), failedWith("notConnected", /no connection/));

    sender.transport.setPeerAddress(2, await receiver.transport.start());
    await waitFor("connected", () => sender.transport.peerStatus().get(2)!.connected);
    const waiting = assert.rejects(sender.transport.request(2, Buffer.from("x"), 5_000), failedWith("connectionLost", /connection/));
    await receiver.transport.close();
    await waiting;

    receiver = createNode(2, [1, 2]);
    await sender.transport.close();
    await assert.rejects(sender.transport.request(2, Buffer.from("x"), 1_000), TransportClosedError);
  } finally {
    await closeAll([sender, receiver]);
  }
});
