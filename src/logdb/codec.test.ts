import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DecodeError,
  decodeEntries,
  decodeRecord,
  encodeCheckpoint,
  encodeCommit,
  encodeCompact,
  encodeEntries,
  encodeHardState,
  encodeRemoveGroup,
  encodeSegmentStart,
  encodeSnapshot,
  parseFrame,
} from './codec.js';
import { makeEntries } from './testkit.js';

const SNAPSHOT = { index: 2 ** 40 + 3, term: 7, confState: { voters: [1, 2 ** 50], learners: [9] }, descriptor: Uint8Array.of(1, 2, 3) };

function decode(record: Buffer): unknown {
  const frame = parseFrame(record, 0);
  assert.ok(frame.ok);
  assert.equal(frame.totalBytes, record.length);
  return decodeRecord(frame.type, frame.groupId, frame.payload);
}

test('every record type decodes to what was encoded', () => {
  // Proves the record layouts round-trip, including u64 fields beyond 32 bits.
  const group = 2 ** 45 + 1;
  assert.deepEqual(decode(encodeSegmentStart(1, 12, 3)), { kind: 'segmentStart', version: 1, segment: 12, groupCount: 3 });
  const checkpoint = { hardState: { term: 5, vote: 2, commit: 2 ** 33 }, snapshot: SNAPSHOT, offset: 2 ** 40, offsetTerm: 6, lastIndex: 2 ** 40 + 9 };
  assert.deepEqual(decode(encodeCheckpoint(group, checkpoint)), { kind: 'checkpoint', groupId: group, checkpoint });
  assert.deepEqual(decode(encodeHardState(group, { term: 1, vote: 0, commit: 0 })), { kind: 'hardState', groupId: group, hardState: { term: 1, vote: 0, commit: 0 } });
  assert.deepEqual(decode(encodeSnapshot('snapshot', group, SNAPSHOT)), { kind: 'snapshot', groupId: group, snapshot: SNAPSHOT });
  assert.deepEqual(decode(encodeSnapshot('createSnapshot', group, SNAPSHOT)), { kind: 'createSnapshot', groupId: group, snapshot: SNAPSHOT });
  assert.deepEqual(decode(encodeCompact(group, 99, 4)), { kind: 'compact', groupId: group, index: 99, term: 4 });
  assert.deepEqual(decode(encodeRemoveGroup(group)), { kind: 'removeGroup', groupId: group });
  assert.deepEqual(decode(encodeCommit(17)), { kind: 'commit', recordCount: 17 });
  const entries = makeEntries(10, 14, 3, 33);
  assert.deepEqual(decode(encodeEntries(group, entries)), { kind: 'entries', groupId: group, firstIndex: 10, terms: [3, 3, 3, 3, 3] });
  const frame = parseFrame(encodeEntries(group, entries), 0);
  assert.ok(frame.ok);
  assert.deepEqual(decodeEntries(frame.payload), entries);
});

test('damaged frames are reported with a reason, never decoded', () => {
  // Proves the frame check catches truncation, absurd lengths and any flipped bit before decoding.
  const record = encodeEntries(1, makeEntries(1, 3, 1, 10));
  assert.match(String(!parseFrame(record.subarray(0, 5), 0).ok && (parseFrame(record.subarray(0, 5), 0) as { reason: string }).reason), /truncated record header/);
  const reasonOf = (bytes: Buffer): string => {
    const frame = parseFrame(bytes, 0);
    return frame.ok ? 'ok' : frame.reason;
  };
  assert.match(reasonOf(record.subarray(0, record.length - 1)), /truncated record \(/);
  assert.match(reasonOf(Buffer.alloc(64)), /bad record length 0/);
  for (let bit = 0; bit < record.length * 8; bit++) {
    const copy = Buffer.from(record);
    copy[bit >> 3] ^= 1 << (bit & 7);
    assert.notEqual(reasonOf(copy), 'ok', `bit ${bit}`);
  }
});

test('a record with a valid checksum but impossible content is a DecodeError', () => {
  // Proves content errors are told apart from torn writes (they mean a bug or a foreign file).
  const record = encodeCommit(1);
  const frame = parseFrame(record, 0);
  assert.ok(frame.ok);
  assert.throws(() => decodeRecord('hardState', 0, frame.payload), DecodeError);
});
