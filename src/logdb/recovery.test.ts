import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeSegmentStart } from './codec.js';
import { CorruptLogError, FORMAT_VERSION, openLogDB, type LogDB } from './index.js';
import { listSegments, segmentFileName } from './segment-files.js';
import { makeEntries, makeTempDir, picture, removeTempDir, type StoragePicture } from './testkit.js';

let root: string;
let counter = 0;
before(() => (root = makeTempDir()));
after(() => removeTempDir(root));
const freshDir = (): string => join(root, `db${++counter}`);

const GROUPS = [1, 2, 3];
/** These tests check what recovery makes of given bytes, not durability: skip the fsyncs of opening. */
const NO_SYNC = { io: { fdatasync: async (): Promise<void> => undefined, fsyncDir: async (): Promise<void> => undefined } };
/** Bytes of the commit record that ends every batch. */
const COMMIT_RECORD_BYTES = 21;
const pictures = (db: LogDB): StoragePicture[] => GROUPS.map((g) => picture(db.storage(g)));

/** Copies the segment files of `from` into a new directory (the lock file stays behind). */
function copyWal(from: string): string {
  const to = freshDir();
  mkdirSync(to);
  for (const s of listSegments(from)) copyFileSync(join(from, segmentFileName(s)), join(to, segmentFileName(s)));
  return to;
}

/**
 * Builds a WAL whose last save is a batch for all three groups (entries, a conflicting append, a
 * snapshot and hard states), and returns the pictures before and after that save and its byte range.
 */
async function walWithLastSave(): Promise<{ dir: string; file: string; start: number; end: number; beforeLast: StoragePicture[]; afterLast: StoragePicture[] }> {
  const dir = freshDir();
  const { logdb } = await openLogDB({ dir, cacheBytesMax: 0 });
  await logdb.save([{ groupId: 1, entries: makeEntries(1, 30, 1, 20) }, { groupId: 2, entries: makeEntries(1, 10, 1) }]);
  await logdb.save([{ groupId: 3, hardState: { term: 2, vote: 1, commit: 0 } }, { groupId: 2, hardState: { term: 1, vote: 2, commit: 4 } }]);
  await logdb.createSnapshot(1, { index: 10, confState: { voters: [1, 2, 3], learners: [] } });
  await logdb.compact(1, 10);
  const file = join(dir, segmentFileName(logdb.stats().activeSegment));
  const beforeLast = pictures(logdb);
  const start = statSync(file).size;
  await logdb.save([
    { groupId: 1, entries: makeEntries(25, 40, 2, 20), hardState: { term: 2, vote: 1, commit: 24 } },
    { groupId: 2, snapshot: { index: 50, term: 3, confState: { voters: [2], learners: [] }, descriptor: Buffer.from('d') }, hardState: { term: 3, vote: 2, commit: 50 } },
    { groupId: 3, entries: makeEntries(1, 3, 2, 5) },
  ]);
  const afterLast = pictures(logdb);
  const end = statSync(file).size;
  await logdb.close();
  return { dir, file, start, end, beforeLast, afterLast };
}

test('a torn last save (cut at any byte) is truncated away and the state is the one before it', async () => {
  // Proves recovery stops cleanly at a torn tail, reports it, and recovers a save entirely or not at
  // all: for cuts inside the last save's bytes (every byte of its last two records, every 7th before)
  // the state equals the state before that save.
  const wal = await walWithLastSave();
  assert.ok(wal.end - wal.start > 300, `last save spans ${wal.end - wal.start} bytes`);
  const everyByteFrom = wal.end - COMMIT_RECORD_BYTES - 40;
  for (let cut = wal.start; cut < wal.end; cut += cut < everyByteFrom ? 7 : 1) {
    const dir = copyWal(wal.dir);
    truncateSync(join(dir, segmentFileName(listSegments(dir).at(-1)!)), cut);
    const { logdb, recovered } = await openLogDB({ dir, ...NO_SYNC });
    assert.deepEqual(pictures(logdb), wal.beforeLast, `cut at ${cut}`);
    if (cut === wal.start) assert.equal(recovered.truncation, undefined);
    else assert.deepEqual({ ...recovered.truncation, reason: undefined }, { segment: join(dir, segmentFileName(listSegments(dir).at(-2)!)), offset: wal.start, truncatedBytes: cut - wal.start, reason: undefined, segmentRemoved: false });
    await logdb.close();
    if (cut % 10 === 0) {
      // The repair is durable: a second open finds nothing to truncate and the same state.
      const again = await openLogDB({ dir, ...NO_SYNC });
      assert.equal(again.recovered.truncation, undefined);
      assert.deepEqual(pictures(again.logdb), wal.beforeLast);
      await again.logdb.close();
    }
    removeTempDir(dir);
  }
  const whole = copyWal(wal.dir);
  const { logdb } = await openLogDB({ dir: whole });
  assert.deepEqual(pictures(logdb), wal.afterLast);
  await logdb.close();
});

test('a flipped byte anywhere in the last save is detected and the save is dropped', async () => {
  // Proves checksums catch damage in every field (length, checksum, type, group, payload, commit record).
  const wal = await walWithLastSave();
  for (let at = wal.start; at < wal.end; at += 5) {
    const dir = copyWal(wal.dir);
    const file = join(dir, segmentFileName(listSegments(dir).at(-1)!));
    const bytes = readFileSync(file);
    bytes[at] ^= 0x40;
    writeFileSync(file, bytes);
    const { logdb, recovered } = await openLogDB({ dir, ...NO_SYNC });
    assert.ok(recovered.truncation !== undefined, `flip at ${at} noticed`);
    assert.equal(recovered.truncation.offset, wal.start);
    assert.deepEqual(pictures(logdb), wal.beforeLast, `flip at ${at}`);
    await logdb.close();
    removeTempDir(dir);
  }
});

test('damage in a segment that is not the last refuses to start with a clear error', async () => {
  // Proves corruption where acknowledged data lies is never truncated silently.
  const wal = await walWithLastSave();
  const dir = copyWal(wal.dir);
  const { logdb } = await openLogDB({ dir }); // adds a newer segment: the damaged one is no longer last
  await logdb.close();
  const file = join(dir, segmentFileName(listSegments(dir).at(-2)!));
  const bytes = readFileSync(file);
  bytes[wal.start + 20] ^= 0x01;
  writeFileSync(file, bytes);
  await assert.rejects(openLogDB({ dir }), (error: Error) => {
    assert.ok(error instanceof CorruptLogError);
    assert.match(error.message, /checksum mismatch in a segment that is not the last one/);
    assert.equal(error.file, file);
    return true;
  });
  // The failed open released the directory: a later open is refused for the same reason, not the lock.
  await assert.rejects(openLogDB({ dir }), CorruptLogError);
});

test('damage followed by more bytes than one unsynced write can leave is corruption, not a torn tail', async () => {
  // Proves the tail repair is bounded: a bad record with more than UNSYNCED_BYTES_MAX bytes after it
  // in the last segment means synced (acknowledged) data is damaged, so the open is refused.
  const dir = freshDir();
  const { logdb } = await openLogDB({ dir });
  const big = (index: number): { term: number; index: number; type: 'normal'; data: Uint8Array } => ({ term: 1, index, type: 'normal', data: new Uint8Array(6 * 1024 * 1024) });
  await logdb.save([{ groupId: 1, entries: makeEntries(1, 1, 1) }]);
  const file = join(dir, segmentFileName(logdb.stats().activeSegment));
  const damaged = statSync(file).size + 10;
  for (let i = 2; i <= 4; i++) await logdb.save([{ groupId: 1, entries: [big(i)] }]);
  await logdb.close();
  const fd = readFileSync(file);
  fd[damaged] ^= 0xff;
  writeFileSync(file, fd);
  await assert.rejects(openLogDB({ dir }), /more than one unsynced write/);
});

test('a last segment without a complete checkpoint is removed and its number reused', async () => {
  // Proves a crash while a segment was being created (nothing in it acknowledged) is repaired.
  const wal = await walWithLastSave();
  const dir = copyWal(wal.dir);
  const last = listSegments(dir).at(-1)!;
  writeFileSync(join(dir, segmentFileName(last + 1)), Buffer.from([1, 2, 3]));
  const { logdb, recovered } = await openLogDB({ dir });
  assert.equal(recovered.truncation?.segmentRemoved, true);
  assert.deepEqual(pictures(logdb), wal.afterLast);
  assert.equal(logdb.stats().activeSegment, last + 1);
  await logdb.close();
});

test('a segment written in another format version refuses the start instead of passing for a torn tail', async () => {
  // Proves a format mismatch is reported as such, even in the last segment whose batches never commit.
  const dir = freshDir();
  mkdirSync(dir);
  writeFileSync(join(dir, segmentFileName(1)), encodeSegmentStart(FORMAT_VERSION - 1, 1, 0));
  await assert.rejects(openLogDB({ dir }), /format version 1, expected 2/);
});
