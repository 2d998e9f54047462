// Proves that a node refuses connections that fail the handshake — wrong cluster name, unknown or spoofed node
// ids, an unsupported protocol version, silence — telling the dialer why and logging the reason; that garbage
// written to the listening port (random bytes, an HTTP request, a lying frame length, corrupt frames and forged
// messages after a valid handshake) only closes that connection with a log line; and that the node keeps
// serving its real peers throughout.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { FRAME_HEADER_BYTES, FrameKind, MAGIC } from "./frame.js";
import { decodeReason } from "./handshake.js";
import { encodeGroupMessages } from "./message-codec.js";
import { FAST_TIMING, RawClient, appendMessage, closeAll, createNode, sleep, startCluster, waitFor, type TestNode } from "./testkit.js";

async function expectRejection(address: string, hello: Parameters<RawClient["hello"]>[0], reason: RegExp): Promise<void> {
  const client = await RawClient.connect(address);
  try {
    client.hello(hello);
    const frame = await client.nextFrame();
    assert.equal(frame.kind, FrameKind.REJECT);
    assert.match(decodeReason(frame.payload), reason);
    await client.waitClosed();
  } finally {
    client.destroy();
  }
}

async function assertStillServing(nodes: readonly TestNode[], index: number): Promise<void> {
  const [a, b] = nodes as [TestNode, TestNode];
  await waitFor("link re-established", () => a.transport.peerStatus().get(2)!.connected);
  a.transport.send([{ groupId: 1000, message: appendMessage(1, 2, index) }]);
  await waitFor(`message ${index} delivered`, () => b.received.some((item) => item.message.type === "append" && item.message.index === index));
}

test("a peer with another cluster name is refused on both sides, with the reason logged", async () => {
  const a = createNode(1, [1, 2]);
  const b = createNode(2, [1, 2], { clusterName: "other-cluster" });
  try {
    const [addressA, addressB] = [await a.transport.start(), await b.transport.start()];
    a.transport.setPeerAddress(2, addressB);
    b.transport.setPeerAddress(1, addressA);
    a.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 1) }]);
    await waitFor("refusals logged", () => a.log.matching("warn", "Refused").length > 0 && b.log.matching("warn", "refused the handshake").length > 0);
    assert.match(String(a.log.matching("warn", "Refused")[0]!.fields?.["reason"]), /cluster name is "other-cluster", this node belongs to cluster "test-cluster"/);
    assert.match(String(a.log.matching("warn", "Cannot connect")[0]!.fields?.["reason"]), /refused the handshake: cluster name is "test-cluster"/);
    await sleep(100);
    assert.equal(a.transport.peerStatus().get(2)!.connected, false);
    assert.equal(b.received.length, 0);
  } finally {
    await closeAll([a, b]);
  }
});

test("unknown or spoofed node ids and other protocol versions are refused with a reason", async () => {
  const nodes = await startCluster(2);
  try {
    const address = nodes[1]!.address;
    await expectRejection(address, { from: 9, to: 2 }, /sender node id 9 is not a member/);
    await expectRejection(address, { from: 2, to: 2 }, /sender node id 2 is not a member/);
    await expectRejection(address, { from: 1, to: 3 }, /addressed to node 3, this is node 2/);
    await expectRejection(address, { from: 1, to: 2, protocolVersion: 7 }, /unsupported protocol version 7/);
    await expectRejection(address, { from: 1, to: 2, channel: "snapshot" }, /does not accept snapshot transfers/);
    assert.equal(nodes[1]!.log.matching("warn", "Refused a peer connection").length, 5);
    await assertStillServing(nodes, 1);
  } finally {
    await closeAll(nodes);
  }
});

test("garbage on the listening port closes that connection with a log line and nothing else", async () => {
  const nodes = await startCluster(2, () => ({ timing: { ...FAST_TIMING, handshakeTimeoutMs: 200 } }));
  const target = nodes[1]!;
  try {
    const before = target.log.matching("warn", "never completed the handshake").length;
    const lyingHeader = Buffer.alloc(FRAME_HEADER_BYTES);
    lyingHeader.writeUInt32BE(1 << 30, 0);
    lyingHeader[8] = FrameKind.HELLO;
    const attacks: Buffer[] = [
      randomBytes(4096),
      Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      Buffer.concat([MAGIC, lyingHeader]),
      Buffer.concat([MAGIC, randomBytes(1000)]),
      Buffer.alloc(0), // connect and say nothing: the handshake timer closes it
    ];
    for (const bytes of attacks) {
      const client = await RawClient.connect(target.address);
      client.socket.write(bytes);
      await client.waitClosed();
      client.destroy();
    }
    await waitFor("every attempt logged", () => target.log.matching("warn", "never completed the handshake").length === before + attacks.length);
    const reasons = target.log.matching("warn", "never completed the handshake").map((line) => String(line.fields?.["reason"]));
    assert.ok(reasons.some((reason) => /Bad magic bytes 47 45 54 20/.test(reason)), reasons.join("\n"));
    assert.ok(reasons.some((reason) => /1073741824 bytes, at most 4096/.test(reason)), reasons.join("\n"));
    assert.ok(reasons.some((reason) => /no handshake within 200 ms/.test(reason)), reasons.join("\n"));
    await assertStillServing(nodes, 1);
  } finally {
    await closeAll(nodes);
  }
});

test("corrupt frames and forged messages after a valid handshake close the connection with a warning", async () => {
  // Members 1, 2 and 3; node 3 never starts and the raw client speaks as node 3, so no real link races with it.
  const nodes = [createNode(1, [1, 2, 3]), createNode(2, [1, 2, 3])];
  const target = nodes[1]!;
  try {
    for (const node of nodes) node.address = await node.transport.start();
    nodes[0]!.transport.setPeerAddress(2, target.address);
    const forged = encodeGroupMessages([{ groupId: 1000, message: appendMessage(1, 2, 99) }]);
    const payloads = [Uint8Array.of(1, 0xff, 0xff), randomBytes(64), forged];
    for (const payload of payloads) {
      const client = await RawClient.connect(target.address);
      client.hello({ from: 3, to: 2 });
      assert.equal((await client.nextFrame()).kind, FrameKind.ACCEPT);
      client.frame(FrameKind.RAFT_BATCH, payload);
      await client.waitClosed();
      client.destroy();
    }
    await waitFor("protocol errors logged", () => target.log.matching("warn", "protocol error").length === payloads.length);
    assert.match(JSON.stringify(target.log.matching("warn", "protocol error").at(-1)!.fields), /from 1 to 2 arrived on the connection from node 3/);
    assert.equal(target.received.length, 0);
    await assertStillServing(nodes, 2);
  } finally {
    await closeAll(nodes);
  }
});

test("a read index request relayed by a follower for another node is accepted; other messages must come from the peer", async () => {
  // A Raft follower passes a read on to its leader keeping the asker as sender (the leader answers the asker).
  const nodes = [createNode(1, [1, 2, 3]), createNode(2, [1, 2, 3])];
  const target = nodes[1]!;
  try {
    for (const node of nodes) node.address = await node.transport.start();
    nodes[0]!.transport.setPeerAddress(2, target.address);
    const relayed = encodeGroupMessages([{ groupId: 1000, message: { type: "readIndex", from: 1, to: 2, term: 0, context: Uint8Array.of(7) } }]);
    const client = await RawClient.connect(target.address);
    client.hello({ from: 3, to: 2 });
    assert.equal((await client.nextFrame()).kind, FrameKind.ACCEPT);
    client.frame(FrameKind.RAFT_BATCH, relayed);
    await waitFor("relayed read delivered", () => target.received.some((item) => item.message.type === "readIndex" && item.message.from === 1));
    assert.equal(target.log.matching("warn", "protocol error").length, 0);
    client.destroy();
  } finally {
    await closeAll(nodes);
  }
});
