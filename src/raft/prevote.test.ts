import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestCluster } from './sim/harness.js';

describe('pre-vote and check-quorum (Raft thesis §9.6)', () => {
  it('with pre-vote, a partitioned node does not inflate its term, and rejoining does not depose the leader', () => {
    // Proves: pre-vote rounds that cannot win leave the term unchanged, so the healed node causes no election.
    const c = new TestCluster({ voters: [1, 2, 3], config: { preVote: true, checkQuorum: false } });
    c.elect(1);
    const term = c.node(1).term;
    c.isolate(3);
    c.tickAll(100);
    assert.equal(c.node(3).term, term, 'isolated node kept its term');
    assert.equal(c.node(3).role, 'preCandidate');
    c.heal();
    c.tickAll(5);
    assert.equal(c.leader(), 1);
    assert.equal(c.node(1).term, term);
  });

  it('without pre-vote, the same partition inflates the term and the rejoining node deposes the leader', () => {
    // Proves: the contrast case — why pre-vote exists.
    const c = new TestCluster({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
    c.elect(1);
    const term = c.node(1).term;
    c.isolate(3);
    c.tickAll(100);
    assert.ok(c.node(3).term > term + 3, `isolated node's term grew to ${c.node(3).term}`);
    c.heal();
    // Node 3 campaigns again at its next timeout, with a term far above the leader's.
    c.tickAll(20);
    assert.ok(c.node(1).term > term, 'the leader saw the higher term');
    c.tickAll(60);
    assert.equal(c.leaders().length, 1);
  });

  it('check-quorum: a leader cut off from the majority steps down within two election timeouts', () => {
    // Proves: a leader that hears from no quorum during a whole election timeout becomes a follower (no stale leadership).
    const c = new TestCluster({ voters: [1, 2, 3], config: { preVote: true, checkQuorum: true } });
    c.elect(1);
    c.isolate(1);
    c.tickAll(19);
    assert.equal(c.node(1).role, 'leader', 'the first check still counts answers from before the cut');
    c.tickAll(1);
    assert.equal(c.node(1).role, 'follower');
    assert.equal(c.node(1).leaderId, 0);
  });

  it('leader lease: followers that hear from a live leader ignore vote requests from a disruptive node', () => {
    // Proves: with check-quorum, a vote request at a higher term is dropped while the leader is alive, so the term does not change.
    const c = new TestCluster({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: true } });
    c.elect(1);
    c.tickAll(2);
    const term = c.node(1).term;
    c.node(2).step({ type: 'vote', from: 3, to: 2, term: term + 5, index: 100, logTerm: term + 4, transfer: false });
    c.process(2);
    assert.equal(c.node(2).term, term);
    assert.equal(c.node(2).leaderId, 1);
    assert.deepEqual(c.takeQueue().filter((m) => m.from === 2 && m.type === 'voteResponse'), []);
  });

  it('a pre-candidate that learns of a live leader in its term returns to following it', () => {
    // Proves: a pre-vote round does not block a node from rejoining the current leader when its heartbeat arrives.
    const c = new TestCluster({ voters: [1, 2, 3], config: { preVote: true, checkQuorum: true } });
    c.elect(1);
    c.cutOneWay(1, 3);
    c.tickAll(25); // node 3 stops hearing the leader and starts pre-voting (others ignore it: lease)
    assert.equal(c.node(3).role, 'preCandidate');
    c.heal();
    c.tickAll(2);
    assert.equal(c.node(3).role, 'follower');
    assert.equal(c.node(3).leaderId, 1);
  });
});
