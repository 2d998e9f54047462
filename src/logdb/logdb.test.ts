import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CompactedError, InvariantError, MemoryStorage, SnapshotOutOfDateError, UnavailableError } from '../raft/index.js';
import { InvalidUpdateError, LogDBClosedError, LogDBLockedError, openLogDB } from './index.js';
import { makeEntries, makeTempDir, picture, removeTempDir } from './testkit.js';

let dir: string;
let counter = 0;
before(() => (dir = makeTempDir()));
after(() => removeTempDir(dir));
const freshDir = (): string => `${dir}/db${++counter}`;

const CONF = { voters: [1, 2, 3], learners: [4] };

test('several groups round-trip through close and reopen with identical views', async () => {
  // Proves entries, hard states and snapshots of several groups survive a restart exactly, including
  // entries that must be read back from the segment files because the cache is tiny.
  const path = freshDir();
  const { logdb } = await openLogDB({ dir: path, cacheBytesMax: 64 });
  await logdb.save([
    { groupId: 1, entries: makeEntries(1, 20, 1), hardState: { term: 1, vote: 1, commit: 5 } },
    { groupId: 7, snapshot: { index: 10, term: 3, confState: CONF, descriptor: Buffer.from('snap-7-10') }, entries: makeEntries(11, 15, 3) },
    { groupId: 2 ** 40, hardState: { term: 9, vote: 0, commit: 0 } },
  ]);
  await logdb.save([{ groupId: 1, entries: makeEntries(21, 30, 2, 300) }]);
  await logdb.createSnapshot(1, { index: 12, confState: CONF, descriptor: Buffer.from('snap-1-12') });
  const views = [1, 7, 2 ** 40].map((g) => picture(logdb.storage(g)));
  assert.deepEqual(logdb.groups(), [1, 7, 2 ** 40]);
  await logdb.close();

  const reopened = await openLogDB({ dir: path, cacheBytesMax: 64 });
  assert.equal(reopened.recovered.truncation, undefined);
  assert.deepEqual([1, 7, 2 ** 40].map((g) => picture(reopened.logdb.storage(g))), views);
  assert.deepEqual(reopened.logdb.groups(), [1, 7, 2 ** 40]);
  assert.deepEqual(reopened.logdb.storage(7).snapshot().metadata, { index: 10, term: 3, confState: CONF });
  assert.equal(Buffer.from(reopened.logdb.storage(1).snapshot().data).toString(), 'snap-1-12');
  await reopened.logdb.close();
});

test('a conflicting append truncates the suffix, in memory and after reopen', async () => {
  // Proves Raft's overwrite rule: entries at index <= last replace the conflicting suffix, as in MemoryStorage.
  const path = freshDir();
  const { logdb } = await openLogDB({ dir: path });
  const model = new MemoryStorage();
  const steps = [makeEntries(1, 10, 1), makeEntries(6, 8, 2), makeEntries(8, 12, 3), makeEntries(1, 2, 1)];
  for (const entries of steps) {
    await logdb.save([{ groupId: 3, entries }]);
    model.append(entries);
    assert.deepEqual(picture(logdb.storage(3)), picture(model));
  }
  assert.equal(logdb.storage(3).lastIndex(), 2);
  await logdb.close();
  const reopened = await openLogDB({ dir: path });
  assert.deepEqual(picture(reopened.logdb.storage(3)), picture(model));
  await reopened.logdb.close();
});

test('compaction and the Raft storage errors match MemoryStorage', async () => {
  // Proves compact(), CompactedError, UnavailableError, SnapshotOutOfDateError and InvariantError behave
  // (class and message) exactly like MemoryStorage, and that a rejected call changes nothing.
  const path = freshDir();
  const { logdb } = await openLogDB({ dir: path });
  const model = new MemoryStorage();
  await logdb.save([{ groupId: 1, entries: makeEntries(1, 20, 1) }]);
  model.append(makeEntries(1, 20, 1));
  await assert.rejects(logdb.compact(1, 10), InvariantError); // beyond the latest snapshot
  await logdb.createSnapshot(1, { index: 10, confState: CONF });
  model.createSnapshot(10, CONF, new Uint8Array(0));
  await logdb.compact(1, 10);
  model.compact(10);
  const view = logdb.storage(1);
  assert.deepEqual(picture(view), picture(model));
  const same = (run: (s: typeof model | typeof view) => unknown, type: new (...args: never[]) => Error): void => {
    assert.throws(() => run(model), type);
    assert.throws(() => run(view), (error: Error) => error instanceof type && error.message === messageOf(() => run(model)));
  };
  same((s) => s.term(9), CompactedError);
  same((s) => s.term(21), UnavailableError);
  same((s) => s.entries(10, 12, 100), CompactedError);
  same((s) => s.entries(11, 22, 100), InvariantError);
  assert.equal(view.term(10), 1);
  await assert.rejects(logdb.compact(1, 10), CompactedError);
  await assert.rejects(logdb.compact(1, 21), InvariantError);
  await assert.rejects(logdb.createSnapshot(1, { index: 9, confState: CONF }), SnapshotOutOfDateError);
  await logdb.createSnapshot(1, { index: 15, confState: CONF });
  await assert.rejects(logdb.createSnapshot(1, { index: 15, confState: CONF }), SnapshotOutOfDateError);
  await assert.rejects(logdb.compact(1, 16), InvariantError);
  await assert.rejects(logdb.save([{ groupId: 1, snapshot: { index: 15, term: 1, confState: CONF } }]), SnapshotOutOfDateError);
  await assert.rejects(logdb.save([{ groupId: 1, entries: makeEntries(23, 24, 1) }]), InvariantError);
  // A batch with one bad update is refused whole: the good update before it is not applied either.
  const before = picture(view);
  await assert.rejects(logdb.save([{ groupId: 1, entries: makeEntries(21, 21, 1) }, { groupId: 1, entries: makeEntries(30, 30, 1) }]), InvariantError);
  await assert.rejects(logdb.save([{ groupId: 1, entries: [...makeEntries(21, 21, 1), ...makeEntries(23, 23, 1)] }]), InvalidUpdateError);
  await assert.rejects(logdb.save([{ groupId: -1, hardState: { term: 1, vote: 0, commit: 0 } }]), InvalidUpdateError);
  assert.deepEqual(picture(view), before);
  await logdb.close();
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

test('entries() honours maxBytes like MemoryStorage, returning at least one entry', async () => {
  // Proves the size limit counts entries as the Raft core does (entryBytes) and never returns nothing.
  const path = freshDir();
  const { logdb } = await openLogDB({ dir: path, cacheBytesMax: 0 });
  const model = new MemoryStorage();
  const entries = makeEntries(1, 10, 1, 40);
  await logdb.save([{ groupId: 1, entries }]);
  model.append(entries);
  for (const maxBytes of [0, 63, 64, 128, 200, 1000]) {
    assert.deepEqual(logdb.storage(1).entries(2, 9, maxBytes).map((e) => e.index), model.entries(2, 9, maxBytes).map((e) => e.index));
  }
  await logdb.close();
});

test('removeGroup forgets a group, also after reopen; a group without state reads as empty', async () => {
  // Proves removal is persisted and that views of unknown groups behave like a new MemoryStorage.
  const path = freshDir();
  const { logdb } = await openLogDB({ dir: path });
  await logdb.save([{ groupId: 1, entries: makeEntries(1, 5, 1) }, { groupId: 2, entries: makeEntries(1, 5, 1) }]);
  await logdb.removeGroup(1);
  await logdb.removeGroup(99);
  assert.deepEqual(logdb.groups(), [2]);
  assert.equal(logdb.hasGroup(1), false);
  assert.equal(logdb.hasGroup(2), true);
  assert.deepEqual(picture(logdb.storage(1)), picture(new MemoryStorage()));
  await logdb.close();
  const reopened = await openLogDB({ dir: path });
  assert.deepEqual(reopened.logdb.groups(), [2]);
  assert.deepEqual(picture(reopened.logdb.storage(1)), picture(new MemoryStorage()));
  await reopened.logdb.close();
});

test('a directory is locked while open and everything is refused after close', async () => {
  // Proves two logdbs cannot share a WAL directory, and that a closed logdb refuses reads and writes.
  const path = freshDir();
  const { logdb } = await openLogDB({ dir: path });
  await assert.rejects(openLogDB({ dir: path }), LogDBLockedError);
  await logdb.close();
  await assert.rejects(logdb.save([{ groupId: 1, entries: makeEntries(1, 1, 1) }]), LogDBClosedError);
  assert.throws(() => logdb.storage(1).lastIndex(), LogDBClosedError);
  const again = await openLogDB({ dir: path });
  await again.logdb.close();
});
