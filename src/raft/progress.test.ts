import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Inflights } from './inflights.js';
import { Progress } from './progress.js';
import { ProgressTracker } from './tracker.js';

describe('flow control and quorum arithmetic', () => {
  it('Inflights is a bounded window freed by acknowledgements', () => {
    // Proves: the window fills at capacity and frees everything up to an acknowledged index.
    const w = new Inflights(3);
    w.add(5);
    w.add(7);
    w.add(9);
    assert.equal(w.full(), true);
    w.freeLE(7);
    assert.equal(w.size(), 1);
    w.freeFirstOne();
    assert.equal(w.size(), 0);
  });

  it('Progress moves probe → replicate → snapshot → probe and pauses as documented', () => {
    // Proves: one outstanding probe, a window in replicate, nothing while a snapshot is in flight, resume after it.
    const pr = new Progress(11, 2, false);
    pr.probeSent = true;
    assert.equal(pr.isPaused(), true);
    assert.equal(pr.maybeUpdate(10), true);
    pr.becomeReplicate();
    assert.equal(pr.next, 11);
    pr.inflights.add(11);
    pr.inflights.add(12);
    assert.equal(pr.isPaused(), true);
    pr.becomeSnapshot(50);
    assert.equal(pr.isPaused(), true);
    pr.becomeProbe();
    assert.equal(pr.next, 51, 'after a snapshot, resume right after it');
  });

  it('maybeDecrTo ignores stale rejections and uses the follower\'s hint', () => {
    // Proves: duplicated or reordered rejections cannot move next backwards twice.
    const pr = new Progress(20, 4, false);
    pr.match = 5;
    assert.equal(pr.maybeDecrTo(18, 12), false, 'rejects an append we did not just send');
    assert.equal(pr.maybeDecrTo(19, 12), true);
    assert.equal(pr.next, 13);
  });

  it('commit index is the largest index stored on a majority of voters; learners do not count', () => {
    // Proves: the quorum arithmetic behind commitment.
    const t = new ProgressTracker(4);
    t.setConfState({ voters: [1, 2, 3, 4, 5], learners: [6] }, 1);
    const matches: Record<number, number> = { 1: 9, 2: 7, 3: 5, 4: 3, 5: 1, 6: 100 };
    for (const [id, m] of Object.entries(matches)) t.progress.get(Number(id))!.match = m;
    assert.equal(t.committed(), 5);
  });

  it('commit index matches the quorum-th largest match index for any order, ties and membership size', () => {
    // Proves: committed() (insertion into a reused buffer) agrees with sorting, also after the voter set
    // grows and shrinks, and with equal match indexes.
    const t = new ProgressTracker(4);
    let seed = 7;
    const next = (bound: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % bound;
    for (let round = 0; round < 300; round++) {
      const size = 1 + next(7);
      const voters = Array.from({ length: size }, (_, i) => i + 1);
      t.setConfState({ voters, learners: [] }, 1);
      const matches = voters.map(() => next(4) * 10);
      voters.forEach((id, i) => (t.progress.get(id)!.match = matches[i]!));
      const expected = [...matches].sort((a, b) => b - a)[Math.floor(size / 2)]!;
      assert.equal(t.committed(), expected, `voters ${size}, matches ${matches.join(',')}`);
    }
  });

  it('vote tally: won with a majority, lost once a majority refused', () => {
    // Proves: elections end as soon as the outcome is certain.
    const t = new ProgressTracker(4);
    t.setConfState({ voters: [1, 2, 3, 4, 5], learners: [] }, 1);
    t.recordVote(1, true);
    t.recordVote(2, false);
    assert.equal(t.tallyVotes(), 'pending');
    t.recordVote(3, false);
    t.recordVote(4, false);
    assert.equal(t.tallyVotes(), 'lost');
    t.resetVotes();
    for (const id of [1, 2, 3]) t.recordVote(id, true);
    assert.equal(t.tallyVotes(), 'won');
  });
});
