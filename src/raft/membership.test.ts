import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProposalDroppedError } from './errors.js';
import { SeededRandom } from './prng.js';
import { RaftNode } from './raft-node.js';
import { TestCluster } from './sim/harness.js';

/** Proposes a membership change on the leader and lets it commit and apply everywhere. */
function change(c: TestCluster, leader: number, type: 'addVoter' | 'addLearner' | 'removeNode', nodeId: number): void {
  c.node(leader).proposeConfChange({ type, nodeId });
  c.process(leader);
  c.deliverAll();
  c.tickAll(2);
}

describe('membership changes (Raft thesis §4, one server at a time)', () => {
  it('a new node joins as a learner: it receives the whole log but does not count toward the quorum', () => {
    // Proves: an empty node added as learner catches up (bootstrap entries included) and its acks never commit anything alone.
    const c = new TestCluster({ voters: [1, 2, 3], spares: [4] });
    c.elect(1);
    c.propose(1, 'before');
    change(c, 1, 'addLearner', 4);
    assert.deepEqual(c.node(1).confState(), { voters: [1, 2, 3], learners: [4] });
    assert.deepEqual(c.appliedTexts(4), ['before']);
    assert.deepEqual(c.node(4).confState(), { voters: [1, 2, 3], learners: [4] });
    c.crash(2);
    c.crash(3);
    c.propose(1, 'needs-a-voter');
    assert.deepEqual(c.appliedTexts(1), ['before'], 'leader + learner is not a quorum');
    assert.ok(c.node(4).status().lastIndex > c.node(1).status().commit, 'the learner has the entry anyway');
  });

  it('a learner never campaigns, even when it stops hearing from the leader', () => {
    // Proves: non-voters are not promotable.
    const c = new TestCluster({ voters: [1, 2, 3], spares: [4] });
    c.elect(1);
    change(c, 1, 'addLearner', 4);
    c.isolate(4);
    c.tickAll(100);
    assert.equal(c.node(4).role, 'follower');
  });

  it('promoting a learner makes it a voter that counts toward the quorum', () => {
    // Proves: addVoter on a learner changes the quorum from 2 of 3 to 3 of 4.
    const c = new TestCluster({ voters: [1, 2, 3], spares: [4] });
    c.elect(1);
    change(c, 1, 'addLearner', 4);
    change(c, 1, 'addVoter', 4);
    assert.deepEqual(c.node(1).confState(), { voters: [1, 2, 3, 4], learners: [] });
    c.crash(3);
    c.propose(1, 'with-4');
    assert.deepEqual(c.appliedTexts(1), ['with-4'], '1, 2 and 4 are a quorum of four');
    c.crash(4);
    c.propose(1, 'without-4');
    assert.deepEqual(c.appliedTexts(1), ['with-4'], '1 and 2 are not a quorum of four');
  });

  it('removing a voter shrinks the quorum and stops replication to it', () => {
    // Proves: after removeNode 3, nodes 1 and 2 commit on their own and node 3 gets no more entries.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    change(c, 1, 'removeNode', 3);
    assert.deepEqual(c.node(1).confState(), { voters: [1, 2], learners: [] });
    const lastOn3 = c.node(3).status().lastIndex;
    c.propose(1, 'after-removal');
    c.tickAll(3);
    assert.deepEqual(c.appliedTexts(2), ['after-removal']);
    assert.equal(c.node(3).status().lastIndex, lastOn3);
  });

  it('a removed leader steps down once the change is applied, and the rest elect a new leader', () => {
    // Proves: the leader removing itself hands over safely: it stops leading and never campaigns again.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    change(c, 1, 'removeNode', 1);
    assert.equal(c.node(1).role, 'follower');
    c.tickAll(60);
    const leader = c.leader();
    assert.ok(leader === 2 || leader === 3);
    c.propose(leader, 'new-era');
    c.tickAll(2);
    assert.deepEqual(c.appliedTexts(leader === 2 ? 3 : 2), ['new-era']);
    assert.equal(c.node(1).role, 'follower');
  });

  it('a node restarted with a durable applied index past a conf change keeps that change', () => {
    // Proves: membership is rebuilt from the snapshot plus the conf changes up to the configured applied index.
    const c = new TestCluster({ voters: [1, 2, 3], spares: [4] });
    c.elect(1);
    change(c, 1, 'addLearner', 4);
    c.propose(1, 'x');
    const n2 = c.get(2);
    const applied = n2.node.status().applied;
    const restarted = new RaftNode({ id: 2, storage: n2.storage, random: new SeededRandom(1), applied });
    assert.deepEqual(restarted.confState(), { voters: [1, 2, 3], learners: [4] });
    assert.ok(!restarted.hasReady() || restarted.ready().committedEntries.length === 0, 'applied entries are not handed out again');
  });

  it('only one membership change may be in flight at a time', () => {
    // Proves: a second change is refused with confChangePending until the first is applied.
    const c = new TestCluster({ voters: [1, 2, 3], spares: [4, 5] });
    c.elect(1);
    c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 });
    assert.throws(() => c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 5 }),
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'confChangePending');
    c.process(1);
    c.deliverAll();
    c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 5 });
  });

  it('invalid changes are refused when proposed', () => {
    // Proves: adding an existing voter, removing a stranger or the last voter are rejected with invalidConfChange.
    const c = new TestCluster({ voters: [1] });
    c.elect(1);
    const invalid = (err: unknown): boolean => err instanceof ProposalDroppedError && err.reason === 'invalidConfChange';
    assert.throws(() => c.node(1).proposeConfChange({ type: 'addVoter', nodeId: 1 }), invalid);
    assert.throws(() => c.node(1).proposeConfChange({ type: 'removeNode', nodeId: 9 }), invalid);
    assert.throws(() => c.node(1).proposeConfChange({ type: 'removeNode', nodeId: 1 }), invalid);
  });

  it('a new leader accepts membership changes only after committing an entry of its term', () => {
    // Proves: the guard against the single-server-change bug: the leader must first commit in its own term.
    const c = new TestCluster({ voters: [1, 2, 3], spares: [4] });
    c.campaign(1);
    c.deliverUntil(() => c.node(1).role === 'leader');
    assert.throws(() => c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 }),
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'confChangePending');
    c.deliverAll();
    c.node(1).proposeConfChange({ type: 'addLearner', nodeId: 4 });
  });
});
