import { test } from "node:test";
import assert from "node:assert/strict";
import { pb, toNumber } from "../../proto/index.js";
import { packSequences } from "./sequences.js";

const put = (index: number, size: number) => ({
  leaderIndex: index,
  command: { type: pb.Command.CommandType.PUT, kv: { key: Buffer.from(`k${index}`), value: Buffer.alloc(size) } },
});

test("commands are packed in order into SEQUENCEs flushed at the size threshold, each carrying its last leader index", () => {
  const commands = [put(5, 100), put(6, 100), put(7, 100), put(8, 100), put(9, 10)];
  const sequences = packSequences(commands, 250);
  assert.deepEqual(sequences.map((s) => s.sequence!.map((c) => toNumber(c.leaderIndex))), [[5, 6, 7], [8, 9]]);
  assert.deepEqual(sequences.map((s) => toNumber(s.leaderIndex)), [7, 9]);
  for (const sequence of sequences) assert.equal(sequence.type, pb.Command.CommandType.SEQUENCE);
});

test("no commands give no SEQUENCE", () => {
  assert.deepEqual(packSequences([]), []);
});
