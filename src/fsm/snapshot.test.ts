import assert from "node:assert/strict";
import { test } from "node:test";
import { pb } from "../proto/index.js";
import { SNAPSHOT_CHUNK_BYTES_MAX, encodeRecord, encodeSnappyFrames, readCommandStream } from "../snapshot/index.js";
import { InvalidSnapshotStreamError, StateMachineClosedError } from "./errors.js";
import { CommandType, b, keys, put, withTable, type TestTable } from "./testkit.js";

const ALL = { key: new Uint8Array(0), rangeEnd: Uint8Array.of(0) };

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const piece of source) out.push(piece);
  return out;
}

async function* stream(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* pieces;
}

async function framed(records: Uint8Array[]): Promise<Uint8Array[]> {
  return collect(encodeSnappyFrames(records));
}

/** Fills a table with awkward keys and values: empty value, binary bytes, an empty key, a large value. */
async function fillVaried(table: TestTable): Promise<void> {
  await table.apply(
    put("a", "1"),
    put("empty-value", ""),
    put("\x00\xff\x01", "\xff\x00"),
    put("", "empty key"),
    put("large", "L".repeat(300_000)),
    put("z", "last", { leaderIndex: 3 }),
  );
}

test("snapshot → recover into another table reproduces contents and indices", async () => {
  // Proves the round trip of §9.4/§9.9: identical data, trailer leader index = source applied index.
  await withTable(async (source) => {
    await fillVaried(source);
    const snapshot = source.sm.snapshot();
    assert.equal(snapshot.index, source.sm.appliedIndex);
    const pieces = await collect(snapshot.chunks());
    assert.ok(pieces.every((p) => p.length <= SNAPSHOT_CHUNK_BYTES_MAX));
    await withTable(async (target) => {
      const recovered = await target.sm.recoverFromSnapshot(stream(pieces), { index: 17 });
      assert.deepEqual(recovered, { leaderIndex: source.sm.appliedIndex, keys: 6 });
      assert.deepEqual(target.dump(), source.dump());
      assert.deepEqual(target.sm.range({ key: new Uint8Array(0) }), source.sm.range({ key: new Uint8Array(0) }));
      assert.equal(target.sm.appliedIndex, 17);
      assert.equal(target.sm.leaderIndex, source.sm.appliedIndex);
      await target.reopen();
      assert.deepEqual(target.dump(), source.dump());
      assert.equal(target.sm.appliedIndex, 17);
      assert.equal(target.sm.leaderIndex, source.sm.appliedIndex);
    });
  });
});

test("a snapshot is one PUT record per key in order, then the DUMMY trailer", async () => {
  // Proves the record stream layout: table name, ascending keys, no revisions, trailer with the applied index.
  await withTable(async (table) => {
    await table.apply(put("b", "2"), put("a", "1"), null);
    const commands = [];
    for await (const command of readCommandStream(await collect(table.sm.snapshot().chunks()))) commands.push(command);
    assert.deepEqual(commands.map((c) => [c.type, Buffer.from(c.table).toString(), Buffer.from(c.kv?.key ?? []).toString()]), [
      [CommandType.PUT, "t", "a"],
      [CommandType.PUT, "t", "b"],
      [CommandType.DUMMY, "t", ""],
    ]);
    assert.equal(commands[2]!.leaderIndex!.toString(), "3");
    assert.ok(!Object.prototype.hasOwnProperty.call(commands[0]!, "leaderIndex"));
  });
});

test("an empty table's snapshot is the trailer only", async () => {
  // Proves §17: Snapshot.Stream of an empty table decodes to only the trailer.
  await withTable(async (table) => {
    const commands = [];
    for await (const command of readCommandStream(await collect(table.sm.snapshot().chunks()))) commands.push(command);
    assert.equal(commands.length, 1);
    assert.equal(commands[0]!.type, CommandType.DUMMY);
    assert.equal(commands[0]!.leaderIndex!.toString(), "0");
  });
});

test("a snapshot is a point-in-time view", async () => {
  // Proves writes applied after snapshot() are not in the stream and the index is the one at creation.
  await withTable(async (table) => {
    await table.apply(put("a", "1"), put("b", "2"));
    const snapshot = table.sm.snapshot();
    await table.apply(put("c", "3"), { type: CommandType.DELETE, kv: { key: b("a") } });
    const pieces = await collect(snapshot.chunks());
    await withTable(async (target) => {
      const recovered = await target.sm.recoverFromSnapshot(stream(pieces));
      assert.equal(recovered.leaderIndex, 2);
      assert.deepEqual(keys(target.sm.range(ALL)), ["a", "b"]);
    });
  });
});

test("recovery replaces existing contents; readers see the old or the new table", async () => {
  // Proves the slot swap: old keys vanish, applied index is kept without options.index, an iterator opened
  // before recovery still sees the old contents, and a second recovery reuses the freed slot.
  await withTable(async (table) => {
    await table.apply(put("old1", "x"), put("old2", "y"));
    const before = table.sm.iterateRange(ALL);
    const first = await framed([pb.Command.encode({ type: CommandType.PUT, kv: { key: b("new"), value: b("v") } }).finish()].map(encodeRecord));
    const result = await table.sm.recoverFromSnapshot(stream(first));
    assert.deepEqual(result, { leaderIndex: 0, keys: 1 }, "a backup stream has no trailer: leader index 0");
    assert.equal(table.sm.appliedIndex, 2);
    assert.deepEqual(table.dump(), [["new", "v"]]);
    assert.deepEqual(keys([...before][0]!), ["old1", "old2"]);
    const second = await framed([pb.Command.encode({ type: CommandType.PUT, kv: { key: b("newer"), value: b("w") } }).finish(), pb.Command.encode({ type: CommandType.DUMMY, leaderIndex: 9 }).finish()].map(encodeRecord));
    await table.sm.recoverFromSnapshot(stream(second), { index: 5 });
    assert.deepEqual(table.dump(), [["newer", "w"]]);
    assert.equal(table.sm.leaderIndex, 9);
    assert.deepEqual(await table.sm.apply([{ index: 4, command: put("ignored", "1") }]), [], "entries up to the recovered index are skipped");
    table.nextIndex = 6;
    await table.apply(put("after", "1"));
    await table.reopen();
    assert.deepEqual(table.dump(), [["after", "1"], ["newer", "w"]]);
    assert.equal(table.sm.appliedIndex, 6);
  });
});

test("a stream in the reference's format loads every key and no empty-key entry", async () => {
  // Proves the §16.1 fixes with the Appendix B golden records: the trailer only sets the leader index.
  await withTable(async (table) => {
    const records = [Buffer.from("0b000000000000000a01741a060a016b220176", "hex"), Buffer.from("07000000000000000a01741002282a", "hex")];
    const recovered = await table.sm.recoverFromSnapshot(stream(await collect(encodeSnappyFrames(records))));
    assert.deepEqual(recovered, { leaderIndex: 42, keys: 1 });
    assert.deepEqual(table.dump(), [["k", "v"]]);
    assert.deepEqual(table.sm.range({ key: new Uint8Array(0) }).count, 0);
  });
});

test("recovery from a corrupt stream rejects and leaves the table intact", async () => {
  // Proves corrupt input (bad CRC, truncation, bad protobuf, unexpected record type) is a typed error and
  // neither data nor indices change; a valid stream still loads afterwards.
  await withTable(async (source) => {
    await fillVaried(source);
    const good = Buffer.concat(await collect(source.sm.snapshot().chunks()));
    await withTable(async (table) => {
      await table.apply(put("keep", "me", { leaderIndex: 4 }));
      // Flip a checksum byte and a data byte (a flip inside a run of equal bytes can decode identically).
      const flipped = [14, good.length - 1].map((offset) => {
        const copy = Buffer.from(good);
        copy[offset] ^= 0x55;
        return copy;
      });
      const badProtobuf = await framed([encodeRecord(Buffer.from([0x0a, 0x09, 0x01]))]);
      const wrongType = await framed([encodeRecord(pb.Command.encode({ type: CommandType.TXN }).finish())]);
      const inputs = [[flipped[0]!], [flipped[1]!], [good.subarray(0, good.length - 3)], badProtobuf, wrongType, [Buffer.from("not a snapshot")]];
      for (const input of inputs) {
        await assert.rejects(table.sm.recoverFromSnapshot(stream(input), { index: 99 }), InvalidSnapshotStreamError);
        assert.deepEqual(table.dump(), [["keep", "me"]]);
        assert.equal(table.sm.appliedIndex, 1);
        assert.equal(table.sm.leaderIndex, 4);
      }
      await table.reopen();
      assert.deepEqual(table.dump(), [["keep", "me"]]);
      await table.sm.recoverFromSnapshot(stream([good]));
      assert.deepEqual(table.dump(), source.dump());
    });
  });
});

test("snapshot streams are read once and fail if the table closes mid-read", async () => {
  // Proves the lifecycle: a second chunks() is refused, close() releases, shutdown revokes an unread stream.
  await withTable(async (table) => {
    await table.apply(put("a", "1"));
    const once = table.sm.snapshot();
    await collect(once.chunks());
    assert.throws(() => once.chunks());
    const unread = table.sm.snapshot();
    unread.close();
    assert.throws(() => unread.chunks(), StateMachineClosedError);
    const pending = table.sm.snapshot();
    const iterator = pending.chunks()[Symbol.asyncIterator]();
    await table.sm.close();
    await assert.rejects(iterator.next(), StateMachineClosedError);
    await table.reopen();
  });
});
