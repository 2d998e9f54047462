// Proves that both queues are bounded on real sockets: sending to a connected peer that stopped reading drops
// messages beyond maxSendQueueBytes (without throwing) instead of buffering them; and a slow consumer makes the
// receiver stop reading its socket, so the sender ends up dropping while the receiver holds only a bounded amount,
// deliveries never overlap, and order is kept for everything that gets through.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { GroupMessage } from "./message-codec.js";
import { FAST_TIMING, FakeAcceptor, appendMessage, closeAll, createNode, sleep, waitFor } from "./testkit.js";

const KIB = 1024;
const MIB = 1024 * KIB;

test("a connected peer that stops reading: the send queue drops beyond its bound", async () => {
  const bound = 256 * KIB;
  const stuck = new FakeAcceptor(2, { read: false });
  const node = createNode(1, [1, 2], { maxSendQueueBytes: bound });
  try {
    await node.transport.start();
    node.transport.setPeerAddress(2, await stuck.start());
    await waitFor("connected", () => node.transport.peerStatus().get(2)!.connected);
    const entry = new Uint8Array(16 * KIB);
    let peakQueuedBytes = 0;
    for (let index = 0; index < 2_000; index++) {
      node.transport.send([{ groupId: 1000, message: appendMessage(1, 2, index, [entry]) }]);
      peakQueuedBytes = Math.max(peakQueuedBytes, node.transport.peerStatus().get(2)!.queuedBytes);
      if (index % 20 === 0) await sleep(1); // let flushes happen, so the socket buffers fill too
    }
    const status = node.transport.peerStatus().get(2)!;
    assert.ok(status.droppedMessages > 1_000, `dropped ${status.droppedMessages} of 2000 (32 MiB sent at a stuck peer)`);
    assert.ok(peakQueuedBytes <= bound + 17 * KIB, `peak queued ${peakQueuedBytes} bytes, bound ${bound}`);
    assert.ok(node.log.matching("warn", "Send queue to peer is full").length > 0);
  } finally {
    await node.transport.close();
    await stuck.close();
  }
});

test("a slow consumer: the receiver stops reading, the sender drops, order holds, deliveries never overlap", async () => {
  const timing = { ...FAST_TIMING, peerSilenceTimeoutMs: 10_000 }; // the blocked receiver does not answer pings
  let release: () => void = () => {};
  let blocked = true;
  let active = 0;
  let maxActive = 0;
  const delivered: GroupMessage[] = [];
  const onMessages = async (batch: GroupMessage[]): Promise<void> => {
    active++;
    maxActive = Math.max(maxActive, active);
    delivered.push(...batch);
    if (blocked) await new Promise<void>((resolve) => (release = resolve));
    active--;
  };
  const sender = createNode(1, [1, 2], { maxSendQueueBytes: 1 * MIB, timing });
  const receiver = createNode(2, [1, 2], { maxRecvQueueBytes: 64 * KIB, onMessages, timing });
  try {
    await sender.transport.start();
    sender.transport.setPeerAddress(2, await receiver.transport.start());
    await waitFor("connected", () => sender.transport.peerStatus().get(2)!.connected);
    const entry = new Uint8Array(16 * KIB);
    const total = 1_024; // 16 MiB
    for (let index = 0; index < total; index++) {
      sender.transport.send([{ groupId: 1000, message: appendMessage(1, 2, index, [entry]) }]);
      if (index % 16 === 0) await sleep(1);
    }
    await waitFor("the sender to drop", () => sender.transport.peerStatus().get(2)!.droppedMessages > 0);
    const stalled = sender.transport.peerStatus().get(2)!;
    // What left the sender sits in kernel buffers and the receiver's bounded queue, far less than the 16 MiB sent.
    assert.ok((total - stalled.droppedMessages - stalled.queuedBytes / (16 * KIB)) * 16 * KIB < 12 * MIB, JSON.stringify(stalled));
    assert.equal(active, 1, "the first delivery is still blocked");

    blocked = false;
    release();
    const expected = total - sender.transport.peerStatus().get(2)!.droppedMessages;
    await waitFor("everything admitted delivered", () => delivered.length === expected);
    const indices = delivered.map((item) => (item.message.type === "append" ? item.message.index : -1));
    for (let i = 1; i < indices.length; i++) assert.ok(indices[i]! > indices[i - 1]!, `order broken at ${i}: ${indices[i - 1]} then ${indices[i]}`);
    assert.equal(maxActive, 1, "onMessages is never re-entered while its promise is pending");
  } finally {
    release();
    await closeAll([sender, receiver]);
  }
});
