// Proves the transport's main promises on real loopback sockets: three nodes exchange batches for several groups
// with per-sender order kept; everything sent during one event-loop turn leaves as one frame; sending to a peer
// that is down never throws, drops beyond the bound while it is down, and delivers once it comes up (reconnection
// with growing, bounded backoff), also after it restarts; and close() leaves no socket, server or timer behind.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { GroupMessage } from "./message-codec.js";
import { DISCONNECTED_SEND_QUEUE_BYTES_MAX } from "./limits.js";
import { FAST_TIMING, FakeAcceptor, appendMessage, closeAll, createNode, freePort, sleep, startCluster, waitFor } from "./testkit.js";

const GROUPS = [1000, 10001, 10002];

test("three transports exchange batches for several groups in order", async () => {
  const nodes = await startCluster(3);
  try {
    const rounds = 200;
    for (let round = 0; round < rounds; round++) {
      for (const node of nodes) {
        const batch: GroupMessage[] = [];
        for (const peer of nodes) {
          if (peer === node) continue;
          for (const groupId of GROUPS) batch.push({ groupId, message: appendMessage(node.id, peer.id, round, [Uint8Array.of(round & 0xff)]) });
        }
        node.transport.send(batch);
      }
      if (round % 10 === 0) await sleep(0); // spread the rounds over several event-loop turns
    }
    const expected = 2 * GROUPS.length * rounds;
    await waitFor("every message delivered", () => nodes.every((node) => node.received.length === expected));
    for (const node of nodes) {
      for (const peer of nodes) {
        if (peer === node) continue;
        for (const groupId of GROUPS) {
          const indices = node.received
            .filter((item) => item.groupId === groupId && item.message.from === peer.id)
            .map((item) => (item.message.type === "append" ? item.message.index : -1));
          assert.deepEqual(indices, Array.from({ length: rounds }, (_, i) => i), `node ${node.id} from ${peer.id} group ${groupId}`);
        }
      }
      assert.ok(node.received.every((item) => item.message.to === node.id));
    }
    const status = nodes[0]!.transport.peerStatus().get(2)!;
    assert.equal(status.connected, true);
    assert.equal(status.inboundConnected, true);
    assert.ok(status.lastSeenMs !== undefined && Date.now() - status.lastSeenMs < 2_000);
  } finally {
    await closeAll(nodes);
  }
});

test("everything sent during one event-loop turn leaves in one frame", async () => {
  const fake = new FakeAcceptor(2);
  const node = createNode(1, [1, 2]);
  try {
    await node.transport.start();
    node.transport.setPeerAddress(2, await fake.start());
    await waitFor("connected", () => node.transport.peerStatus().get(2)!.connected);
    node.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 1) }]);
    node.transport.send([
      { groupId: 10001, message: appendMessage(1, 2, 2) },
      { groupId: 10002, message: appendMessage(1, 2, 3) },
    ]);
    node.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 4) }]);
    await waitFor("the first frame", () => fake.frames.length === 1);
    node.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 5) }]);
    await waitFor("the second frame", () => fake.frames.length === 2);
    const indices = fake.frames.map((frame) => frame.map((item) => (item.message.type === "append" ? item.message.index : -1)));
    assert.deepEqual(indices, [[1, 2, 3, 4], [5]]);
  } finally {
    await node.transport.close();
    await fake.close();
  }
});

test("a peer that is down: sends never throw, drop beyond the bound, and deliver once it is up, also after a restart", async () => {
  const port = await freePort();
  const sender = createNode(1, [1, 2]);
  await sender.transport.start();
  sender.transport.setPeerAddress(2, `127.0.0.1:${port}`);
  let receiver = createNode(2, [1, 2], {}, `127.0.0.1:${port}`);
  try {
    // 100 × 64 KiB while the peer is down: more than the disconnected bound, so some must be dropped.
    const entry = new Uint8Array(64 * 1024);
    for (let index = 0; index < 100; index++) sender.transport.send([{ groupId: 1000, message: appendMessage(1, 2, index, [entry]) }]);
    await sleep(300); // several failed attempts
    const down = sender.transport.peerStatus().get(2)!;
    assert.equal(down.connected, false);
    assert.ok(down.droppedMessages > 0, "messages beyond the bound were dropped");
    assert.ok(down.queuedBytes <= DISCONNECTED_SEND_QUEUE_BYTES_MAX, `${down.queuedBytes} bytes queued`);
    const retries = sender.log.matching("warn", "Cannot connect to peer").map((line) => Number(line.fields?.["retryInMs"]));
    assert.ok(retries.length >= 3, `expected several attempts, saw ${retries.length}`);
    assert.ok(retries.every((ms) => ms <= FAST_TIMING.backoffMaxMs!), `retry delays ${retries.join(",")}`);
    assert.ok(Math.max(...retries) > retries[0]!, `backoff grows: ${retries.join(",")}`);

    await receiver.transport.start();
    sender.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 100) }]);
    const expected = 100 - down.droppedMessages + 1;
    await waitFor("queued messages delivered after the peer came up", () => receiver.received.length === expected);
    const indices = receiver.received.map((item) => (item.message.type === "append" ? item.message.index : -1));
    assert.deepEqual(indices, [...indices].sort((a, b) => a - b), "delivered in order");
    assert.equal(indices.at(-1), 100);

    await receiver.transport.close();
    await waitFor("the sender noticed", () => !sender.transport.peerStatus().get(2)!.connected);
    receiver = createNode(2, [1, 2], {}, `127.0.0.1:${port}`);
    await receiver.transport.start();
    await waitFor("reconnected", () => sender.transport.peerStatus().get(2)!.connected);
    sender.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 101) }]);
    await waitFor("delivered after the restart", () => receiver.received.some((item) => item.message.type === "append" && item.message.index === 101));
  } finally {
    await sender.transport.close();
    await receiver.transport.close();
  }
});

test("close() leaves no sockets, servers or timers behind", async () => {
  await sleep(50); // libuv finishes closing the previous test's handles one loop turn after their close events
  const before = JSON.stringify(countResources());
  const nodes = await startCluster(3);
  nodes[0]!.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 1) }]);
  await waitFor("delivered", () => nodes[1]!.received.length === 1);
  assert.notEqual(JSON.stringify(countResources()), before, "the probe sees the transports' handles");
  await closeAll(nodes);
  await waitFor(`handles released (before: ${before})`, () => JSON.stringify(countResources()) === before, 1_000);
  // Sending after close is a silent drop, never an exception.
  nodes[0]!.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 2) }]);
});

/** Live handles by type, ignoring the ones the test runner itself holds open. */
function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) {
    if (type === "TCPSocketWrap" || type === "TCPServerWrap" || type === "Timeout" || type === "Immediate") counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}
