/**
 * The node host's ordering of a round: what is applied beside the log write and what only after it.
 * Groups and Readys are scripted, and the log write is held open until the test releases it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Entry, Ready } from "../../raft/index.js";
import { NodeHost } from "./node-host.js";
import type { GroupUpdate, LogStorePort } from "./ports.js";

const entry = (index: number): Entry => ({ index, term: 1, type: "normal", data: new Uint8Array([index]) });

function ready(fields: Partial<Ready>): Ready {
  return { entries: [], committedEntries: [], messages: [], readStates: [], mustSync: false, ...fields };
}

/** A log store whose writes stay open until released, recording what happened in which order. */
class HeldLogStore {
  readonly events: string[] = [];
  private release: (() => void)[] = [];

  save(updates: readonly GroupUpdate[]): Promise<void> {
    const indices = updates.flatMap((update) => (update.entries ?? []).map((e) => e.index));
    this.events.push(`write started [${indices.join(",")}]`);
    return new Promise((resolve) => this.release.push(() => {
      this.events.push(`write done [${indices.join(",")}]`);
      resolve();
    }));
  }

  /** Log storage seen by snapshot recording: an empty log with no snapshot yet. */
  storage(): { snapshot(): { metadata: { index: number } }; firstIndex(): number } {
    return { snapshot: () => ({ metadata: { index: 0 } }), firstIndex: () => 1 };
  }

  async createSnapshot(_groupId: number, snapshot: { metadata: { index: number } }): Promise<void> {
    this.events.push(`snapshot recorded at ${snapshot.metadata.index}`);
  }

  async compact(_groupId: number, index: number): Promise<void> {
    this.events.push(`log compacted to ${index}`);
  }

  finishWrite(): void {
    const next = this.release.shift();
    assert.ok(next, "no write is open");
    next();
  }

  get openWrites(): number {
    return this.release.length;
  }
}

/** Asks for a snapshot after applying `entry`, and holds the state machine's flush open until released. */
interface SnapshotScript {
  readonly afterEntry: number;
  releaseFlush?: () => void;
}

/** One scripted group: hands out the given Readys in turn and logs what it applies. */
function scriptedGroup(readies: Ready[], events: string[], snapshotAt?: SnapshotScript) {
  let advanced = true;
  return {
    groupId: 7,
    node: {
      hasReady: () => advanced && readies.length > 0,
      ready: () => {
        advanced = false;
        return readies[0]!;
      },
      advance: () => {
        readies.shift();
        advanced = true;
      },
      tick: () => undefined,
    },
    flushReads: () => undefined,
    onWork: () => undefined,
    handleReady: async (r: Ready) => {
      if (r.committedEntries.length > 0) events.push(`applied [${r.committedEntries.map((e) => e.index).join(",")}]`);
      const last = r.committedEntries[r.committedEntries.length - 1];
      if (!snapshotAt || last?.index !== snapshotAt.afterEntry) return null;
      const metadata = { index: last.index, term: last.term, confState: { voters: [1], learners: [] } };
      return { snapshot: { metadata, data: new Uint8Array() }, compactTo: last.index - 1 };
    },
    flushApplied: () => {
      events.push("flush started");
      return new Promise<void>((resolve) => {
        if (!snapshotAt) return resolve();
        snapshotAt.releaseFlush = () => {
          events.push("flush done");
          resolve();
        };
      });
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function hostWith(store: HeldLogStore, readies: Ready[], snapshotAt?: SnapshotScript): NodeHost {
  const host = new NodeHost({
    nodeId: 1,
    rttMs: 1_000_000,
    log: store as unknown as LogStorePort,
    network: () => ({ send: () => undefined, sendSnapshot: async () => undefined, request: async () => new Uint8Array(), connectedPeers: () => new Set() }),
    snapshotSource: () => null,
    onFatal: (error) => assert.fail(error),
    logWarn: () => undefined,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  host.add(scriptedGroup(readies, store.events, snapshotAt) as any);
  return host;
}

test("committed entries already on disk are applied while the next write is still in flight", async () => {
  const store = new HeldLogStore();
  const host = hostWith(store, [
    ready({ entries: [entry(1), entry(2)], mustSync: true }),
    ready({ entries: [entry(3)], committedEntries: [entry(1), entry(2)], mustSync: true }),
  ]);
  await settle();
  store.finishWrite();
  await settle();
  assert.equal(store.openWrites, 1);
  assert.deepEqual(store.events, ["write started [1,2]", "write done [1,2]", "write started [3]", "applied [1,2]"]);
  store.finishWrite();
  await settle();
  await host.stop();
});

test("committed entries that this round's write carries are applied only once it finished", async () => {
  const store = new HeldLogStore();
  // A single-node leader commits what it appends: entries 1 and 2 are committed before they are on disk.
  const host = hostWith(store, [ready({ entries: [entry(1), entry(2)], committedEntries: [entry(1), entry(2)], mustSync: true })]);
  await settle();
  assert.deepEqual(store.events, ["write started [1,2]"]);
  store.finishWrite();
  await settle();
  assert.deepEqual(store.events, ["write started [1,2]", "write done [1,2]", "applied [1,2]"]);
  await host.stop();
});

test("a Ready carrying a snapshot is applied only after its write, even when its committed entries are old", async () => {
  const store = new HeldLogStore();
  const snapshot = { metadata: { index: 10, term: 1, confState: { voters: [1], learners: [] } }, data: new Uint8Array() };
  const host = hostWith(store, [ready({ snapshot, committedEntries: [entry(1)], mustSync: true })]);
  await settle();
  assert.deepEqual(store.events, ["write started []"]);
  store.finishWrite();
  await settle();
  assert.deepEqual(store.events, ["write started []", "write done []", "applied [1]"]);
  await host.stop();
});

test("committed membership changes are applied only after the round's write, when the core has taken them in", async () => {
  const store = new HeldLogStore();
  const change: Entry = { index: 2, term: 1, type: "confChange", data: new Uint8Array([1]) };
  const host = hostWith(store, [
    ready({ entries: [entry(1), change], mustSync: true }),
    ready({ entries: [entry(3)], committedEntries: [entry(1), change], mustSync: true }),
  ]);
  await settle();
  store.finishWrite();
  await settle();
  assert.deepEqual(store.events, ["write started [1,2]", "write done [1,2]", "write started [3]"]);
  store.finishWrite();
  await settle();
  assert.deepEqual(store.events.slice(3), ["write done [3]", "applied [1,2]"]);
  await host.stop();
});

test("a snapshot is recorded, and the log compacted, only after the state machine flushed what it applied", async () => {
  const store = new HeldLogStore();
  const snapshotAt: SnapshotScript = { afterEntry: 2 };
  // A single-node leader: the snapshot is asked for by the apply of entries 1 and 2, after their write.
  const host = hostWith(store, [ready({ entries: [entry(1), entry(2)], committedEntries: [entry(1), entry(2)], mustSync: true })], snapshotAt);
  await settle();
  store.finishWrite();
  await settle();
  assert.deepEqual(store.events, ["write started [1,2]", "write done [1,2]", "applied [1,2]", "flush started"]);
  assert.ok(snapshotAt.releaseFlush, "the host flushes before recording");
  snapshotAt.releaseFlush();
  await settle();
  assert.deepEqual(store.events.slice(4), ["flush done", "snapshot recorded at 2", "log compacted to 1"]);
  await host.stop();
});
