import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemoryStorage, type Entry, type RaftStorage } from '../raft/index.js';
import { openLogDB, type GroupUpdate, type LogDB } from './index.js';
import { makeEntries, makeTempDir, outcome, picture, removeTempDir } from './testkit.js';

const GROUPS = [1, 2, 3];
const CONF = { voters: [1, 2], learners: [] };

type UpdateCommand =
  | { kind: 'append'; group: number; start: number; count: number; termBump: number; dataBytes: number }
  | { kind: 'hardState'; group: number; term: number; commit: number }
  | { kind: 'applySnapshot'; group: number; pick: number; termBump: number };
type Command =
  | UpdateCommand
  | { kind: 'createSnapshot' | 'compact'; group: number; pick: number }
  | { kind: 'remove'; group: number }
  | { kind: 'batch'; updates: UpdateCommand[] }
  | { kind: 'reopen' };

const group = fc.constantFrom(...GROUPS);
const updateCommand: fc.Arbitrary<UpdateCommand> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), group, start: fc.nat(40), count: fc.integer({ min: 0, max: 6 }), termBump: fc.nat(2), dataBytes: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('hardState' as const), group, term: fc.nat(9), commit: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('applySnapshot' as const), group, pick: fc.nat(40), termBump: fc.nat(2) }) },
);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: updateCommand },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('createSnapshot' as const, 'compact' as const), group, pick: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), group }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('batch' as const), updates: fc.array(updateCommand, { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

/** Picks an index around the model's log, including just outside it, so errors are exercised too. */
function around(s: MemoryStorage, pick: number): number {
  const lo = Math.max(0, s.firstIndex() - 2);
  return lo + (pick % (s.lastIndex() - lo + 3));
}

function lastTerm(s: MemoryStorage): number {
  return Math.max(1, s.term(s.lastIndex()));
}

/** Turns a command into a GroupUpdate relative to the model's current state. */
function toUpdate(c: UpdateCommand, s: MemoryStorage): GroupUpdate {
  switch (c.kind) {
    case 'append': {
      const first = around(s, c.start);
      if (c.count === 0 || first === 0) return { groupId: c.group, entries: [] };
      return { groupId: c.group, entries: makeEntries(first, first + c.count - 1, lastTerm(s) + c.termBump, c.dataBytes, c.start) };
    }
    case 'hardState':
      return { groupId: c.group, hardState: { term: c.term, vote: c.term % 3, commit: c.commit } };
    case 'applySnapshot':
      return { groupId: c.group, snapshot: { index: around(s, c.pick) + 3, term: lastTerm(s) + c.termBump, confState: CONF, descriptor: Uint8Array.of(c.pick, c.termBump) } };
  }
}

function applyToModel(update: GroupUpdate, s: MemoryStorage): void {
  if (update.snapshot) {
    const { descriptor, ...metadata } = update.snapshot;
    s.applySnapshot({ metadata, data: descriptor ?? new Uint8Array(0) });
  }
  if (update.entries) s.append(update.entries);
  if (update.hardState) s.setHardState(update.hardState);
}

/** The model: one MemoryStorage per group plus the updates that built it, so a refused batch can be undone. */
class Model {
  private readonly history = new Map<number, ((s: MemoryStorage) => void)[]>();
  private readonly storages = new Map<number, MemoryStorage>();

  storage(groupId: number): MemoryStorage {
    return this.storages.get(groupId) ?? new MemoryStorage();
  }

  /** Runs `change` on copies of the groups; keeps the result only if it did not throw. */
  tryChange(groupIds: readonly number[], change: (storages: Map<number, MemoryStorage>) => ((s: MemoryStorage) => void)[][]): string {
    const copies = new Map(groupIds.map((g) => [g, this.rebuild(this.history.get(g) ?? [])]));
    let ops: ((s: MemoryStorage) => void)[][] = [];
    const result = outcome(() => (ops = change(copies)));
    if (result !== 'ok') return result;
    groupIds.forEach((g, i) => {
      this.history.set(g, [...(this.history.get(g) ?? []), ...ops[i]!]);
      this.storages.set(g, copies.get(g)!);
    });
    return result;
  }

  remove(groupId: number): void {
    this.history.delete(groupId);
    this.storages.delete(groupId);
  }

  private rebuild(ops: readonly ((s: MemoryStorage) => void)[]): MemoryStorage {
    const s = new MemoryStorage();
    for (const op of ops) op(s);
    return s;
  }
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

async function runUpdates(db: LogDB, model: Model, commands: readonly UpdateCommand[]): Promise<void> {
  const ids = [...new Set(commands.map((c) => c.group))];
  const updates: GroupUpdate[] = [];
  const expected = model.tryChange(ids, (copies) => {
    const ops = ids.map(() => [] as ((s: MemoryStorage) => void)[]);
    for (const c of commands) {
      const update = toUpdate(c, copies.get(c.group)!);
      updates.push(update);
      const op = (s: MemoryStorage): void => applyToModel(update, s);
      op(copies.get(c.group)!);
      ops[ids.indexOf(c.group)]!.push(op);
    }
    return ops;
  });
  // The model stopped at the first failing update; build the rest so the logdb sees the same batch.
  for (const c of commands.slice(updates.length)) updates.push(toUpdate(c, model.storage(c.group)));
  assert.equal(await rejection(db.save(updates)), expected);
}

async function runCommand(db: LogDB, model: Model, c: Exclude<Command, { kind: 'reopen' }>): Promise<void> {
  if (c.kind === 'batch') return runUpdates(db, model, c.updates);
  if (c.kind === 'append' || c.kind === 'hardState' || c.kind === 'applySnapshot') return runUpdates(db, model, [c]);
  if (c.kind === 'remove') {
    model.remove(c.group);
    return void (await db.removeGroup(c.group));
  }
  const index = around(model.storage(c.group), c.pick);
  const op = c.kind === 'compact'
    ? (s: MemoryStorage): void => s.compact(index)
    : (s: MemoryStorage): void => void s.createSnapshot(index, CONF, Uint8Array.of(index));
  const expected = model.tryChange([c.group], (copies) => (op(copies.get(c.group)!), [[op]]));
  const actual = c.kind === 'compact' ? db.compact(c.group, index) : db.createSnapshot(c.group, { index, confState: CONF, descriptor: Uint8Array.of(index) });
  assert.equal(await rejection(actual), expected);
}

/** Compares everything a view shows, including the errors of out-of-range reads, with the model. */
function assertSame(view: RaftStorage, model: MemoryStorage): void {
  assert.deepEqual(picture(view), picture(model));
  const first = model.firstIndex();
  const last = model.lastIndex();
  const brief = (entries: Entry[]): string => entries.map((e) => `${e.index}@${e.term}`).join(',');
  for (let i = first - 2; i <= last + 2; i++) assert.equal(outcome(() => view.term(i)), outcome(() => model.term(i)));
  for (let lo = Math.max(0, first - 1); lo <= last + 1; lo++) {
    for (const hi of [lo, lo + 2, last + 1, last + 2]) {
      for (const maxBytes of [0, 40, Number.MAX_SAFE_INTEGER]) {
        const got = outcome(() => brief(view.entries(lo, hi, maxBytes)));
        assert.equal(got.startsWith('ok') ? brief(view.entries(lo, hi, maxBytes)) : got, got.startsWith('ok') ? brief(model.entries(lo, hi, maxBytes)) : outcome(() => model.entries(lo, hi, maxBytes)));
      }
    }
  }
}

test('the logdb behaves like MemoryStorage for any sequence of operations, across reopens', async () => {
  // Proves (property test) that after every save, snapshot, compaction, removal, refused update and
  // reopen, each group's view equals a MemoryStorage that received the same operations, with tiny
  // segments (rotation and deletion) and a tiny cache (reads from the files).
  // Durability is not under test here (see recovery and crash tests): skip the fsyncs to afford more runs.
  const io = { fdatasync: async (): Promise<void> => undefined, fsyncDir: async (): Promise<void> => undefined };
  const options = { segmentBytesTarget: 1024, cacheBytesMax: 300, io };
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (commands) => {
      const dir = makeTempDir();
      let db = (await openLogDB({ dir, ...options })).logdb;
      try {
        const model = new Model();
        for (const c of [...commands, { kind: 'reopen' as const }]) {
          if (c.kind === 'reopen') {
            await db.close();
            const reopened = await openLogDB({ dir, ...options });
            assert.equal(reopened.recovered.truncation, undefined);
            db = reopened.logdb;
          } else {
            await runCommand(db, model, c);
          }
          for (const g of GROUPS) assertSame(db.storage(g), model.storage(g));
        }
      } finally {
        await db.close();
        removeTempDir(dir);
      }
    }),
    { numRuns: 80 },
  );
});
