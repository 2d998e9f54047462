import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LogDBFailedError, openLogDB } from './index.js';
import { makeEntries, makeTempDir, picture, removeTempDir, TestIO } from './testkit.js';

let root: string;
let counter = 0;
before(() => (root = makeTempDir()));
after(() => removeTempDir(root));
const freshDir = (): string => join(root, `db${++counter}`);

test('concurrent saves share one write and one fdatasync', async () => {
  // Proves group commit: 64 saves issued together (one engine round, many groups) cost one fdatasync.
  const io = new TestIO();
  const { logdb } = await openLogDB({ dir: freshDir(), io });
  const syncsBefore = io.syncs;
  await Promise.all(Array.from({ length: 64 }, (_, i) => logdb.save([{ groupId: i + 1, entries: makeEntries(1, 1, 1), hardState: { term: 1, vote: 0, commit: 1 } }])));
  assert.equal(io.syncs - syncsBefore, 1);
  assert.equal(logdb.groups().length, 64);
  await logdb.close();
});

test('saves arriving while a sync is in flight are coalesced into the next single sync', async () => {
  // Proves that while one batch is being synced, every new save waits for, and shares, the next one:
  // 1 + 100 saves over two waves need 2 fdatasyncs, not 101.
  const io = new TestIO();
  const { logdb } = await openLogDB({ dir: freshDir(), io });
  io.syncDelayMs = 30;
  const syncsBefore = io.syncs;
  const first = logdb.save([{ groupId: 1, entries: makeEntries(1, 1, 1) }]);
  await new Promise((resolve) => setTimeout(resolve, 5)); // the first batch is now being synced
  const order: number[] = [];
  void first.then(() => order.push(0));
  const rest = Array.from({ length: 100 }, (_, i) => logdb.save([{ groupId: 1, entries: makeEntries(i + 2, i + 2, 1) }]).then(() => order.push(i + 1)));
  await Promise.all([first, ...rest]);
  assert.equal(io.syncs - syncsBefore, 2);
  assert.equal(order[0], 0, 'the first save resolves first');
  assert.equal(logdb.storage(1).lastIndex(), 101);
  await logdb.close();
});

test('a failed fdatasync rejects the batch and makes the logdb refuse all further work', async () => {
  // Proves a failed fsync is fatal and never retried: the failing save, saves queued behind it, later
  // saves and reads are all refused with LogDBFailedError; reopening recovers a consistent log.
  const dir = freshDir();
  const io = new TestIO();
  const { logdb } = await openLogDB({ dir, io });
  await logdb.save([{ groupId: 1, entries: makeEntries(1, 5, 1) }]);
  const durable = picture(logdb.storage(1));
  io.syncDelayMs = 20;
  io.failSyncAfter = 0;
  const failing = logdb.save([{ groupId: 1, entries: makeEntries(6, 6, 1) }]);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const queued = logdb.save([{ groupId: 1, entries: makeEntries(7, 7, 1) }]);
  await Promise.all([assert.rejects(failing, LogDBFailedError), assert.rejects(queued, LogDBFailedError)]);
  await assert.rejects(logdb.save([{ groupId: 2, entries: makeEntries(1, 1, 1) }]), LogDBFailedError);
  await assert.rejects(logdb.compact(1, 1), LogDBFailedError);
  assert.throws(() => logdb.storage(1).lastIndex(), LogDBFailedError);
  assert.equal(io.failSyncAfter, -1, 'the fdatasync was not retried');
  await logdb.close();
  const reopened = await openLogDB({ dir });
  const recovered = picture(reopened.logdb.storage(1));
  // Index 6 may or may not have reached the disk (its write succeeded), index 7 was never written.
  assert.ok(recovered.lastIndex === 5 || recovered.lastIndex === 6);
  assert.deepEqual(recovered.entries.slice(0, 5), durable.entries);
  await reopened.logdb.close();
});

test('a failed write is fatal in the same way', async () => {
  // Proves write errors (EIO, ENOSPC) are treated like fsync errors.
  const io = new TestIO();
  const { logdb } = await openLogDB({ dir: freshDir(), io });
  io.failWrites = true;
  await assert.rejects(logdb.save([{ groupId: 1, entries: makeEntries(1, 1, 1) }]), /failed during write or fdatasync of the WAL.*injected EIO on write/);
  io.failWrites = false;
  await assert.rejects(logdb.sync(), LogDBFailedError);
  await logdb.close();
});

test('an unexpected error while applying a validated update is fatal, and close() still completes', async () => {
  // Proves the logdb stops (rather than continuing with a half-applied update) when applying throws
  // after validation passed, rejects the saves queued with it, and still shuts down cleanly.
  const { logdb } = await openLogDB({ dir: freshDir() });
  const queued = logdb.save([{ groupId: 1, entries: makeEntries(1, 1, 1) }]);
  let reads = 0;
  const treacherous = { term: 1, index: 2, type: 'normal' as const, get data(): Uint8Array {
    if (++reads > 1) throw new Error('data vanished');
    return new Uint8Array(1);
  } };
  await Promise.all([
    assert.rejects(logdb.save([{ groupId: 1, entries: [treacherous] }]), /failed during save \(applying a validated update\).*data vanished/),
    assert.rejects(queued, LogDBFailedError),
  ]);
  await logdb.close();
});

test('a save that need not be durable skips the fdatasync; the next durable save covers it', async () => {
  // Proves `sync: false` (Raft Readys whose only change is the commit index): no fdatasync for it, the
  // record is still written and read back, and a later durable save syncs both.
  const dir = freshDir();
  const io = new TestIO();
  const { logdb } = await openLogDB({ dir, io });
  await logdb.save([{ groupId: 1, entries: makeEntries(1, 2, 1), hardState: { term: 1, vote: 1, commit: 0 } }]);
  const syncsBefore = io.syncs;
  await logdb.save([{ groupId: 1, hardState: { term: 1, vote: 1, commit: 2 } }], { sync: false });
  assert.equal(io.syncs - syncsBefore, 0, 'no fdatasync for a commit-only save');
  await logdb.save([{ groupId: 1, entries: makeEntries(3, 3, 1) }]);
  assert.equal(io.syncs - syncsBefore, 1);
  await logdb.close();
  const { logdb: reopened } = await openLogDB({ dir, io: new TestIO() });
  assert.equal(reopened.storage(1).initialState().hardState.commit, 2);
  assert.equal(reopened.storage(1).lastIndex(), 3);
  await reopened.close();
});
