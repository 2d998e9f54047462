import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage } from '../memory-storage.js';
import type { Entry } from '../types.js';
import { SafetyChecker, SimViolation } from './checker.js';

const entry = (index: number, term: number, byte = term): Entry => ({ index, term, type: 'normal', data: new Uint8Array([byte]) });
const violation = (kind: string) => (err: unknown): boolean => err instanceof SimViolation && err.kind === kind;

describe('SafetyChecker fed broken histories', () => {
  it('flags two leaders in one term', () => {
    // Proves: election safety is checked from leader messages, not only from role changes.
    const c = new SafetyChecker();
    c.onLeaderMessage(1, 5);
    assert.throws(() => c.onLeaderMessage(2, 5), violation('electionSafety'));
  });

  it('flags a new leader that lacks a committed entry', () => {
    // Proves: leader completeness compares the new leader's log with everything committed so far.
    const c = new SafetyChecker();
    const committed = new MemoryStorage();
    committed.append([entry(1, 1), entry(2, 2)]);
    c.onCommit(1, 0, 2, committed);
    const stale = new MemoryStorage();
    stale.append([entry(1, 1), entry(2, 1)]);
    assert.throws(() => c.onBecameLeader(3, 3, stale), violation('leaderCompleteness'));
  });

  it('flags two different entries with the same index and term', () => {
    // Proves: log matching is checked on every persisted entry.
    const c = new SafetyChecker();
    const a = new MemoryStorage();
    a.append([entry(1, 1, 10)]);
    c.afterPersist(1, [entry(1, 1, 10)], a);
    const b = new MemoryStorage();
    b.append([entry(1, 1, 11)]);
    assert.throws(() => c.afterPersist(2, [entry(1, 1, 11)], b), violation('logMatching'));
  });

  it('flags nodes applying different entries at the same index, and gaps', () => {
    // Proves: state machine safety and in-order application are checked on every apply.
    const c = new SafetyChecker();
    c.onApply(1, 0, entry(1, 1), 111);
    assert.throws(() => c.onApply(2, 0, entry(1, 2), 222), violation('stateMachineSafety'));
    assert.throws(() => c.onApply(3, 0, entry(2, 1), 333), violation('applyOrder'));
  });

  it('flags a node overwriting an entry that is committed', () => {
    // Proves: committed entries never change in any log.
    const c = new SafetyChecker();
    const s = new MemoryStorage();
    s.append([entry(1, 1), entry(2, 1)]);
    c.onCommit(1, 0, 2, s);
    assert.throws(() => c.beforePersist(1, [entry(2, 3)], s), violation('committedEntryChanged'));
  });
});
