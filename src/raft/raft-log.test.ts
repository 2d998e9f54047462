import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import { RaftLog } from './raft-log.js';
import type { Entry } from './types.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([term]) });
function logWith(terms: number[]): RaftLog {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => entry(i + 1, t)));
  return new RaftLog(s, 1);
}

describe('RaftLog', () => {
  it('maybeAppend accepts entries after a matching position and truncates a conflicting suffix', () => {
    // Proves: the consistency check of AppendEntries (§5.3) and repair of a divergent tail.
    const log = logWith([1, 1, 2, 2]);
    assert.equal(log.maybeAppend(2, 1, 0, [entry(3, 3), entry(4, 3)]), 4);
    assert.deepEqual([log.term(3), log.term(4)], [3, 3]);
    assert.equal(log.maybeAppend(4, 2, 0, [entry(5, 3)]), undefined, 'mismatch at (4, 2)');
  });

  it('maybeAppend commits only up to the last entry known to match the leader', () => {
    // Proves: a follower never commits entries beyond what this append verified, even if the leader's commit is higher.
    const log = logWith([1, 1, 1, 1, 1]);
    log.maybeAppend(2, 1, 10, []);
    assert.equal(log.committed, 2);
  });

  it('refuses to overwrite a committed entry', () => {
    // Proves: the invariant that committed entries never change is asserted, not assumed.
    const log = logWith([1, 1, 1]);
    log.commitTo(3);
    assert.throws(() => log.maybeAppend(1, 1, 3, [entry(2, 2)]), InvariantError);
  });

  it('findConflictByTerm skips back over a whole term', () => {
    // Proves: fast backtracking: the hint jumps to the last entry whose term is <= the probed term.
    const log = logWith([1, 1, 2, 2, 2, 4, 4]);
    assert.deepEqual(log.findConflictByTerm(7, 3), { index: 5, term: 2 });
    assert.deepEqual(log.findConflictByTerm(7, 1), { index: 2, term: 1 });
    assert.deepEqual(log.findConflictByTerm(7, 0), { index: 0, term: 0 });
  });

  it('isUpToDate compares last term first, then length (§5.4.1)', () => {
    // Proves: the election restriction's ordering of logs.
    const log = logWith([1, 2, 2]);
    assert.equal(log.isUpToDate(1, 3), true);
    assert.equal(log.isUpToDate(3, 2), true);
    assert.equal(log.isUpToDate(2, 2), false);
    assert.equal(log.isUpToDate(9, 1), false);
  });

  it('maybeCommit commits only an entry of the given term (figure 8)', () => {
    // Proves: a quorum index whose entry is from an older term does not advance the commit index.
    const log = logWith([1, 2, 3]);
    assert.equal(log.maybeCommit(2, 3), false);
    assert.equal(log.committed, 0);
    assert.equal(log.maybeCommit(3, 3), true);
    assert.equal(log.committed, 3);
  });
});
