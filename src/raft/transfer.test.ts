import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotLeaderError, ProposalDroppedError } from './errors.js';
import { TestCluster } from './sim/harness.js';

describe('leadership transfer (Raft thesis §3.10)', () => {
  it('transfers to an up-to-date follower with TimeoutNow; the target wins even with leader leases on', () => {
    // Proves: the target campaigns at once (skipping pre-vote and the voters' lease) and becomes leader in the next term.
    const c = new TestCluster({ voters: [1, 2, 3], config: { preVote: true, checkQuorum: true } });
    c.elect(1);
    c.tickAll(1);
    const term = c.node(1).term;
    c.node(1).transferLeader(3);
    c.process(1);
    c.deliverAll();
    assert.equal(c.leader(), 3);
    assert.equal(c.node(3).term, term + 1);
    assert.ok(c.get(1).sent.some((m) => m.type === 'timeoutNow' && m.to === 3));
  });

  it('brings a lagging target up to date before telling it to campaign', () => {
    // Proves: TimeoutNow waits until the target's log matches the leader's, so the target can win the election.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.cutOneWay(1, 3);
    c.propose(1, 'x');
    c.node(1).transferLeader(3);
    c.process(1);
    c.deliverAll();
    assert.ok(!c.get(1).sent.some((m) => m.type === 'timeoutNow'), 'no TimeoutNow while node 3 lags');
    c.heal();
    c.tickAll(2);
    assert.equal(c.leader(), 3);
    assert.deepEqual(c.appliedTexts(3), ['x']);
  });

  it('refuses proposals while a transfer is in progress, and gives up after an election timeout', () => {
    // Proves: proposals get leaderTransferInProgress; an unreachable target does not block the leader forever.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolate(3);
    c.node(1).transferLeader(3);
    assert.throws(() => c.node(1).propose(new Uint8Array([1])),
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'leaderTransferInProgress');
    c.tickAll(10);
    assert.equal(c.node(1).role, 'leader');
    assert.equal(c.node(1).status().leadTransferee, 0);
    c.node(1).propose(new Uint8Array([1]));
  });

  it('only the leader can transfer, and only to a voter', () => {
    // Proves: a follower answers NotLeaderError naming the leader; a learner target is refused.
    const c = new TestCluster({ voters: [1, 2, 3], spares: [4] });
    c.elect(1);
    assert.throws(() => c.node(2).transferLeader(3), (err: unknown) => err instanceof NotLeaderError && err.leaderId === 1);
    c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 });
    c.process(1);
    c.deliverAll();
    assert.throws(() => c.node(1).transferLeader(4), ProposalDroppedError);
  });
});
