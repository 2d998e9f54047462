import { test } from "node:test";
import assert from "node:assert/strict";
import { pb, toNumber, type armada } from "../../proto/index.js";
import type { Engine, TableHandle, TableLogEntry } from "../../engine/engine.js";
import { LogCompactedError, TableNotFoundError } from "../../engine/errors.js";
import type { CallContext } from "../../api/bind.js";
import { StatusError } from "../../api/status.js";
import { logHandlers, toReplicated } from "./log-service.js";

const CommandType = pb.Command.CommandType;

/** A table whose log holds entries [first, last]; entry 2 is a leader no-op, the rest PUTs of ~100 bytes. */
function fakeEngine(options: { first: number; last: number; applied: number }): Engine {
  const entryAt = (index: number): TableLogEntry => ({
    index,
    command: index === 2 ? new Uint8Array(0) : pb.Command.encode({ table: Buffer.from("t"), type: CommandType.PUT, kv: { key: Buffer.from(`k${index}`), value: Buffer.alloc(100) } }).finish(),
  });
  const table = {
    info: { name: "t", shardId: 10001 },
    readIndex: async () => undefined,
    stateMachine: { appliedIndex: options.applied },
    log: {
      firstIndex: () => options.first,
      lastIndex: () => options.last,
      entries(lo: number, hi: number, maxBytes: number) {
        if (lo < options.first) throw new LogCompactedError(lo, options.first);
        const out: TableLogEntry[] = [];
        let bytes = 0;
        for (let index = lo; index < hi; index++) {
          const entry = entryAt(index);
          bytes += entry.command.length;
          if (out.length > 0 && bytes > maxBytes) break;
          out.push(entry);
        }
        return out;
      },
    },
  } as unknown as TableHandle;
  return {
    table(name: string) {
      if (name !== "t") throw new TableNotFoundError(name);
      return table;
    },
  } as unknown as Engine;
}

async function replicate(engine: Engine, leaderIndex: number, maxMessageBytes = 0, table = "t"): Promise<armada.v1.IReplicateResponse[]> {
  const handler = logHandlers(engine, { maxMessageBytes, cacheEntries: 4 }).Replicate as (r: unknown, c: CallContext, s: (m: object) => Promise<void>) => Promise<void>;
  const sent: armada.v1.IReplicateResponse[] = [];
  const context = { signal: new AbortController().signal } as CallContext;
  await handler(pb.ReplicateRequest.create({ table: Buffer.from(table), leaderIndex }), context, async (message) => {
    // Through the wire encoding, as a follower would see it.
    sent.push(pb.ReplicateResponse.decode(pb.ReplicateResponse.encode(message).finish()));
  });
  return sent;
}

test("every index from the asked one to the applied one is shipped once, in order, in bounded messages", async () => {
  const sent = await replicate(fakeEngine({ first: 1, last: 30, applied: 25 }), 1, 500);
  const commands = sent.filter((m) => m.commandsResponse).flatMap((m) => m.commandsResponse!.commands!);
  assert.deepEqual(commands.map((c) => toNumber(c.leaderIndex)), Array.from({ length: 25 }, (_, i) => i + 1));
  // Entry 2 has no command: it travels as a DUMMY carrying its index.
  assert.equal(commands[1]!.command!.type, CommandType.DUMMY);
  assert.equal(toNumber(commands[1]!.command!.leaderIndex), 2);
  assert.equal(toNumber(commands[4]!.command!.leaderIndex), 5);
  assert.ok(sent.length > 3, "500-byte messages hold a few entries each");
  for (const message of sent.slice(0, -1)) assert.equal(toNumber(message.leaderIndex), 25);
  // The last message has no response member and carries the applied index.
  const final = sent[sent.length - 1]!;
  assert.equal(final.commandsResponse ?? null, null);
  assert.equal(final.errorResponse ?? null, null);
  assert.equal(toNumber(final.leaderIndex), 25);
});

test("an up-to-date follower receives exactly one message with the applied index", async () => {
  const sent = await replicate(fakeEngine({ first: 1, last: 10, applied: 10 }), 11);
  assert.equal(sent.length, 1);
  assert.equal(toNumber(sent[0]!.leaderIndex), 10);
  assert.equal(sent[0]!.commandsResponse ?? null, null);
});

test("a follower ahead of the leader gets LEADER_BEHIND; one behind the compacted log gets USE_SNAPSHOT as an empty error_response", async () => {
  const behind = await replicate(fakeEngine({ first: 1, last: 10, applied: 10 }), 12);
  assert.equal(behind.length, 1);
  assert.equal(behind[0]!.errorResponse!.error, pb.ReplicateError.LEADER_BEHIND);
  const compacted = await replicate(fakeEngine({ first: 50, last: 60, applied: 60 }), 10);
  assert.equal(compacted.length, 1);
  assert.ok(compacted[0]!.errorResponse);
  assert.equal(compacted[0]!.errorResponse!.error, pb.ReplicateError.USE_SNAPSHOT);
  const bytes = pb.ReplicateResponse.encode({ errorResponse: {} }).finish();
  assert.deepEqual([...bytes], [0x12, 0x00], "USE_SNAPSHOT is a present, empty error_response");
});

test("index 0 and unknown tables are refused with the reference's codes and texts", async () => {
  await assert.rejects(replicate(fakeEngine({ first: 1, last: 1, applied: 1 }), 0), (error: StatusError) =>
    error.code === 3 && error.details === "invalid leaderIndex: leaderIndex must be greater than 0");
  await assert.rejects(replicate(fakeEngine({ first: 1, last: 1, applied: 1 }), 1, 0, "nope"), TableNotFoundError);
});

test("a shipped command is the proposed one with the entry index as its leader index", () => {
  const proposed = { table: Buffer.from("t"), type: CommandType.DELETE, kv: { key: Buffer.from("a") }, rangeEnd: Buffer.from("b") };
  const shipped = toReplicated({ index: 77, command: pb.Command.encode(proposed).finish() });
  assert.equal(toNumber(shipped.leaderIndex), 77);
  assert.equal(shipped.type, CommandType.DELETE);
  assert.deepEqual(Buffer.from(shipped.rangeEnd!), Buffer.from("b"));
});
