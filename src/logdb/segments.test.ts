import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CorruptLogError, openLogDB, type LogDB } from './index.js';
import { listSegments, segmentFileName } from './segment-files.js';
import { makeEntries, makeTempDir, picture, removeTempDir, type StoragePicture } from './testkit.js';

let root: string;
let counter = 0;
before(() => (root = makeTempDir()));
after(() => removeTempDir(root));
const freshDir = (): string => join(root, `db${++counter}`);

const SMALL = { segmentBytesTarget: 4096, cacheBytesMax: 1024 };
const CONF = { voters: [1], learners: [] };
const pictures = (db: LogDB, groups: readonly number[]): StoragePicture[] => groups.map((g) => picture(db.storage(g)));

/** Saves `rounds` batches of 5 entries (100 bytes each) for every group in `groups`. */
async function fill(db: LogDB, groups: readonly number[], rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    await db.save(groups.map((groupId) => {
      const first = db.storage(groupId).lastIndex() + 1;
      return { groupId, entries: makeEntries(first, first + 4, 1 + Math.floor(r / 10), 100), hardState: { term: 1 + Math.floor(r / 10), vote: 1, commit: first - 1 } };
    }));
  }
}

/** Snapshots and compacts a group to `keep` entries before its last index. */
async function compactTo(db: LogDB, groupId: number, keep: number): Promise<void> {
  const index = db.storage(groupId).lastIndex() - keep;
  await db.createSnapshot(groupId, { index, confState: CONF });
  await db.compact(groupId, index);
}

test('segments rotate at their size target and recovery replays across all of them', async () => {
  // Proves rotation (each new segment starts with a checkpoint) and that a log spread over many
  // segments reopens to the same views.
  const dir = freshDir();
  const { logdb } = await openLogDB({ dir, ...SMALL });
  await fill(logdb, [1, 2], 40);
  const segments = listSegments(dir);
  assert.ok(segments.length >= 10, `${segments.length} segments`);
  const views = pictures(logdb, [1, 2]);
  await logdb.close();
  const reopened = await openLogDB({ dir, ...SMALL });
  assert.equal(reopened.recovered.segmentsReplayed, segments.length);
  assert.deepEqual(pictures(reopened.logdb, [1, 2]), views);
  await reopened.logdb.close();
});

test('compaction deletes the segments no group needs any more, and only those', async () => {
  // Proves obsolete segments are deleted after compaction, that a segment is kept while any live group
  // still has an entry in it, and that removing that group releases it. Every step reopens identically.
  const dir = freshDir();
  const { logdb } = await openLogDB({ dir, ...SMALL });
  await logdb.save([{ groupId: 3, entries: makeEntries(1, 1, 1), hardState: { term: 1, vote: 3, commit: 1 } }]);
  await fill(logdb, [1, 2], 40);
  const firstSegment = listSegments(dir)[0]!;
  await compactTo(logdb, 1, 3);
  await compactTo(logdb, 2, 3);
  await logdb.sync(); // deletion runs after the compaction's batch is durable, before the next batch
  assert.equal(listSegments(dir)[0], firstSegment, 'group 3 still needs its entry in the first segment');
  await logdb.removeGroup(3);
  await logdb.sync();
  const left = listSegments(dir);
  assert.ok(left.length <= 3, `segments left: ${left.join(', ')}`);
  const views = pictures(logdb, [1, 2, 3]);
  await logdb.close();
  const reopened = await openLogDB({ dir, ...SMALL });
  assert.deepEqual(pictures(reopened.logdb, [1, 2, 3]), views);
  assert.deepEqual(reopened.logdb.groups(), [1, 2]);
  await reopened.logdb.close();
});

test('segments resurrected by an interrupted deletion are harmless', async () => {
  // Proves recovery is correct whatever subset of deleted segments reappears after a crash: contiguous
  // ones are replayed (their checkpoints agree with the rest), those before a gap are removed unread.
  const dir = freshDir();
  const saved = freshDir();
  mkdirSync(saved);
  const { logdb } = await openLogDB({ dir, ...SMALL });
  await fill(logdb, [1, 2], 30);
  const before = listSegments(dir);
  for (const s of before) copyFileSync(join(dir, segmentFileName(s)), join(saved, segmentFileName(s)));
  await compactTo(logdb, 1, 2);
  await compactTo(logdb, 2, 2);
  await fill(logdb, [1, 2], 3);
  await logdb.sync();
  const views = pictures(logdb, [1, 2]);
  await logdb.close();
  const deleted = before.filter((s) => !listSegments(dir).includes(s));
  assert.ok(deleted.length >= 4, `deleted ${deleted.length}`);
  const restore = (s: number): void => copyFileSync(join(saved, segmentFileName(s)), join(dir, segmentFileName(s)));
  // The newest deleted segments come back, contiguous with the live ones: replayed from the oldest.
  deleted.slice(-2).forEach(restore);
  let reopened = await openLogDB({ dir, ...SMALL });
  assert.deepEqual(pictures(reopened.logdb, [1, 2]), views);
  await reopened.logdb.close();
  // Older ones come back with a gap after them: removed unread.
  restore(deleted[0]!);
  const gap = listSegments(dir);
  reopened = await openLogDB({ dir, ...SMALL });
  assert.deepEqual(reopened.recovered.staleSegmentsRemoved, [join(dir, segmentFileName(gap[0]!))]);
  assert.deepEqual(pictures(reopened.logdb, [1, 2]), views);
  await reopened.logdb.close();
});

test('a missing segment that holds needed entries refuses the start', async () => {
  // Proves recovery notices entries that no surviving segment holds, instead of serving a log with a hole.
  const dir = freshDir();
  const { logdb } = await openLogDB({ dir, ...SMALL });
  await fill(logdb, [1], 30);
  await logdb.close();
  const segments = listSegments(dir);
  // Removing the oldest segment makes the second one the first replayed: group 1's first entries are gone.
  unlinkSync(join(dir, segmentFileName(segments[0]!)));
  await assert.rejects(openLogDB({ dir, ...SMALL }), (error: Error) => error instanceof CorruptLogError && /group 1 needs entries 1\.\.\d+/.test(error.message));
});
