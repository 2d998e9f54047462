import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import type { Entry } from './types.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index, term]) });
const filled = (terms: number[]): MemoryStorage => {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => entry(i + 1, t)));
  return s;
};

describe('MemoryStorage', () => {
  it('appends, and a conflicting append replaces the suffix', () => {
    // Proves: entries at or after the first new index are overwritten, as followers need when repairing logs.
    const s = filled([1, 1, 2, 2]);
    s.append([entry(3, 3)]);
    assert.equal(s.lastIndex(), 3);
    assert.equal(s.term(3), 3);
    assert.throws(() => s.append([entry(6, 3)]), /gap/);
  });

  it('term() and entries() report compacted and unavailable ranges with typed errors', () => {
    // Proves: callers can tell "gone into a snapshot" from "not written yet".
    const s = filled([1, 1, 1, 2, 2]);
    s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array());
    s.compact(3);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.term(3), 1, 'the snapshot index keeps its term');
    assert.throws(() => s.term(2), CompactedError);
    assert.throws(() => s.term(6), UnavailableError);
    assert.throws(() => s.entries(3, 5, 1000), CompactedError);
    assert.deepEqual(s.entries(4, 6, 1000).map((e) => e.index), [4, 5]);
  });

  it('entries() honours maxBytes but always returns at least one entry', () => {
    // Proves: the byte limit cannot stall replication of an entry larger than the limit.
    const s = filled([1, 1, 1]);
    assert.equal(s.entries(1, 4, 1).length, 1);
    assert.equal(s.entries(1, 4, 2 * 26).length, 2);
  });

  it('applySnapshot replaces the log and refuses older snapshots', () => {
    // Proves: installing a leader's snapshot discards the local log; stale snapshots are rejected.
    const s = filled([1, 1, 1]);
    const snap = { metadata: { index: 10, term: 4, confState: { voters: [1, 2], learners: [] } }, data: new Uint8Array([9]) };
    s.applySnapshot(snap);
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(10), 4);
    assert.deepEqual(s.initialState().confState, { voters: [1, 2], learners: [] });
    assert.throws(() => s.applySnapshot(snap), SnapshotOutOfDateError);
  });

  it('bootstrap writes one committed addVoter entry per initial member', () => {
    // Proves: every initial member starts from the identical log that encodes the membership.
    const s = MemoryStorage.bootstrap([3, 1, 2]);
    assert.equal(s.lastIndex(), 3);
    assert.deepEqual(s.initialState().hardState, { term: 1, vote: 0, commit: 3 });
    assert.ok(s.entries(1, 4, 1 << 20).every((e) => e.type === 'confChange' && e.term === 1));
  });
});
