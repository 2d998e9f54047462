// Proves snapshot streaming on real sockets: 50 MiB arrive intact while the producer is held to the consumer's
// pace (bounded memory: the producer never runs far ahead) and Raft messages keep flowing meanwhile; the
// receiver's failure, an early finish, the producer's failure, an unreachable peer and closing the transport are
// each reported to the sender by sendSnapshot's promise.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { SnapshotTransferError, TransportClosedError } from "./errors.js";
import type { SnapshotHandler } from "./snapshot-receiver.js";
import { appendMessage, closeAll, createNode, freePort, sleep, startCluster, waitFor, type TestNode } from "./testkit.js";

const KIB = 1024;
const MIB = 1024 * KIB;

/** Lazily produces `totalBytes` of patterned bytes in `chunkBytes` chunks, counting what was pulled. */
class Producer implements AsyncIterable<Uint8Array> {
  produced = 0;
  readonly hash = createHash("sha256");

  constructor(
    readonly totalBytes: number,
    readonly chunkBytes: number,
    readonly failAfterBytes = Infinity,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (let offset = 0; offset < this.totalBytes; offset += this.chunkBytes) {
      if (offset >= this.failAfterBytes) throw new Error("source broke");
      const chunk = new Uint8Array(Math.min(this.chunkBytes, this.totalBytes - offset));
      for (let i = 0; i < chunk.length; i += 4096) chunk[i] = (offset + i) / 4096;
      chunk[chunk.length - 1] = offset & 0xff;
      this.hash.update(chunk);
      this.produced += chunk.length;
      yield chunk;
    }
  }
}

async function twoNodes(onSnapshot: SnapshotHandler): Promise<TestNode[]> {
  return startCluster(2, (id) => (id === 2 ? { onSnapshot } : {}));
}

test("50 MiB stream intact at the consumer's pace while Raft messages keep flowing", async () => {
  const producer = new Producer(50 * MIB, 256 * KIB);
  const received = createHash("sha256");
  let consumed = 0;
  let maxLeadBytes = 0;
  let heartbeatsDuringTransfer = 0;
  let nodes: TestNode[] = [];
  const onSnapshot: SnapshotHandler = async (from, groupId, header, chunks) => {
    assert.deepEqual([from, groupId, Buffer.from(header).toString()], [1, 10001, "descriptor"]);
    for await (const chunk of chunks) {
      received.update(chunk);
      consumed += chunk.length;
      maxLeadBytes = Math.max(maxLeadBytes, producer.produced - consumed);
      if (consumed % (2 * MIB) < chunk.length) await sleep(2); // a consumer slower than loopback TCP
    }
    heartbeatsDuringTransfer = nodes[1]!.received.length;
  };
  nodes = await twoNodes(onSnapshot);
  const heartbeats = setInterval(() => nodes[0]!.transport.send([{ groupId: 1000, message: appendMessage(1, 2, 0) }]), 5);
  try {
    const started = Date.now();
    await nodes[0]!.transport.sendSnapshot(2, 10001, Buffer.from("descriptor"), producer);
    assert.equal(consumed, 50 * MIB);
    assert.equal(received.digest("hex"), producer.hash.digest("hex"));
    // Kernel socket buffers on loopback plus our 4 MiB receive buffer (measured: 7–9 MiB), far from the 50 MiB an
    // unthrottled producer would be ahead.
    assert.ok(maxLeadBytes < 24 * MIB, `the producer ran ${maxLeadBytes} bytes ahead of the consumer`);
    assert.ok(heartbeatsDuringTransfer > 0, `Raft messages were delivered during the ${Date.now() - started} ms transfer`);
  } finally {
    clearInterval(heartbeats);
    await closeAll(nodes);
  }
});

test("the receiver's failure and an early finish are reported to the sender", async () => {
  let mode: "fail" | "early" = "fail";
  const nodes = await twoNodes(async (_from, _group, _header, chunks) => {
    for await (const _chunk of chunks) {
      if (mode === "fail") throw new Error("disk full");
      return; // "early": one chunk was enough (say, the snapshot turned out to be stale)
    }
  });
  try {
    await assert.rejects(
      nodes[0]!.transport.sendSnapshot(2, 10001, new Uint8Array(0), new Producer(8 * MIB, 64 * KIB)),
      (error: unknown) => error instanceof SnapshotTransferError && /Node 2 failed to install the snapshot of group 10001.*disk full/.test(error.message),
    );
    mode = "early";
    const producer = new Producer(64 * MIB, 64 * KIB);
    await nodes[0]!.transport.sendSnapshot(2, 10001, new Uint8Array(0), producer);
    assert.ok(producer.produced < 32 * MIB, `the sender stopped pulling chunks (${producer.produced} bytes produced)`);
    await waitFor("both results logged", () => nodes[1]!.log.matching("warn", "disk full").length === 1 && nodes[1]!.log.matching("info", "installed").length === 1);
  } finally {
    await closeAll(nodes);
  }
});

test("the producer's failure aborts the transfer on both sides", async () => {
  let receiverError: unknown;
  const nodes = await twoNodes(async (_from, _group, _header, chunks) => {
    try {
      for await (const _chunk of chunks);
    } catch (error) {
      receiverError = error;
      throw error;
    }
  });
  try {
    await assert.rejects(
      nodes[0]!.transport.sendSnapshot(2, 10001, new Uint8Array(0), new Producer(8 * MIB, 256 * KIB, 1 * MIB)),
      (error: unknown) => error instanceof SnapshotTransferError && /Reading the snapshot of group 10001 to node 2 failed: source broke/.test(error.message),
    );
    await waitFor("the receiver saw the abort", () => receiverError !== undefined);
    assert.ok(receiverError instanceof SnapshotTransferError);
    assert.match(receiverError.message, /Node 1 aborted the snapshot transfer: source broke/);
  } finally {
    await closeAll(nodes);
  }
});

test("an unreachable peer and closing the transport reject sendSnapshot", async () => {
  const node = createNode(1, [1, 2]);
  let stalled: (() => void) | undefined;
  const receiver = createNode(2, [1, 2], {
    onSnapshot: () => new Promise<void>((resolve) => (stalled = resolve)),
  });
  try {
    await node.transport.start();
    node.transport.setPeerAddress(2, `127.0.0.1:${await freePort()}`);
    await assert.rejects(node.transport.sendSnapshot(2, 10001, new Uint8Array(0), new Producer(1 * MIB, 64 * KIB)), SnapshotTransferError);

    node.transport.setPeerAddress(2, await receiver.transport.start());
    const transfer = node.transport.sendSnapshot(2, 10001, new Uint8Array(0), new Producer(1 * MIB, 64 * KIB));
    const rejected = assert.rejects(transfer, TransportClosedError);
    await waitFor("the transfer to start", () => stalled !== undefined);
    await node.transport.close();
    await rejected;
    await assert.rejects(node.transport.sendSnapshot(2, 10001, new Uint8Array(0), new Producer(1, 1)), TransportClosedError);
  } finally {
    stalled?.();
    await closeAll([node, receiver]);
  }
});
