import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage } from './memory-storage.js';
import { SeededRandom } from './prng.js';
import { RaftNode } from './raft-node.js';
import { TestCluster, storageWithLog } from './sim/harness.js';

const NO_PREVOTE = { preVote: false, checkQuorum: false };

describe('leader election (Raft §5.2)', () => {
  it('a single voter elects itself as soon as its election timeout fires', () => {
    // Proves: with one voter, the election timeout alone produces a leader, in a randomized tick in [et, 2et).
    const node = new RaftNode({ id: 1, storage: MemoryStorage.bootstrap([1]), random: new SeededRandom(7), electionTicks: 10 });
    const rd = node.ready();
    node.advance(rd); // applies the bootstrap membership
    let ticks = 0;
    while (node.role !== 'leader' && ticks < 100) {
      node.tick();
      ticks++;
    }
    assert.equal(node.role, 'leader');
    assert.ok(ticks >= 10 && ticks < 20, `elected after ${ticks} ticks`);
  });

  it('elects exactly one leader, which every node then follows, and persists term and vote', () => {
    // Proves: a campaign in a healthy cluster yields one leader in a new term; followers learn it; votes are in the hard state.
    const c = new TestCluster({ voters: [1, 2, 3], config: NO_PREVOTE });
    c.elect(1);
    c.tickAll(1);
    assert.deepEqual(c.leaders(), [1]);
    for (const id of [1, 2, 3]) {
      assert.equal(c.node(id).term, 2);
      assert.equal(c.node(id).leaderId, 1);
      assert.equal(c.get(id).storage.initialState().hardState.term, 2);
    }
    assert.equal(c.get(2).storage.initialState().hardState.vote, 1);
  });

  it('a node grants at most one vote per term', () => {
    // Proves: after voting for node 2 in term 2, node 1 rejects node 3 in the same term (§5.2 "first-come-first-served").
    const c = new TestCluster({ voters: [1, 2, 3], config: NO_PREVOTE });
    c.campaign(2);
    c.campaign(3); // both campaign for term 2
    const votes = c.takeQueue().filter((m) => m.to === 1);
    for (const m of votes) c.deliver(m);
    const answers = c.takeQueue().filter((m) => m.type === 'voteResponse' && m.from === 1);
    assert.deepEqual(answers.map((m) => [m.to, m.type === 'voteResponse' && m.reject]), [[2, false], [3, true]]);
  });

  it('a split vote elects nobody, and a later randomized timeout resolves it', () => {
    // Proves: two simultaneous candidates in a 4-node cluster can each get 2 of 4 votes (no majority); the next round elects one leader.
    const c = new TestCluster({ voters: [1, 2, 3, 4], config: NO_PREVOTE });
    c.campaign(1);
    c.campaign(3);
    for (const m of c.takeQueue()) {
      // Node 2 hears node 1 first, node 4 hears node 3 first: 2 votes each.
      const first = (m.to === 2 && m.from === 1) || (m.to === 4 && m.from === 3) || m.to === 1 || m.to === 3;
      if (first) c.deliver(m);
    }
    c.deliverAll();
    assert.deepEqual(c.leaders(), []);
    assert.equal(c.node(1).role, 'candidate');
    assert.equal(c.node(3).role, 'candidate');
    c.tickAll(60);
    assert.equal(c.leaders().length, 1);
    assert.ok(c.node(c.leader()).term >= 3);
  });

  it('a candidate whose log is behind cannot win (election restriction, §5.4.1)', () => {
    // Proves: voters refuse a candidate whose last entry has a lower term, or equal term and lower index.
    const voters = [1, 2, 3];
    const storages = new Map([
      [1, storageWithLog(voters, [2])],
      [2, storageWithLog(voters, [2, 2])],
      [3, storageWithLog(voters, [2, 2])],
    ]);
    const c = new TestCluster({ voters, storages, config: NO_PREVOTE });
    c.elect(1);
    assert.notEqual(c.node(1).role, 'leader');
    c.elect(2);
    assert.equal(c.leader(), 2);
  });

  it('randomized election timeouts fall in [electionTicks, 2 × electionTicks)', () => {
    // Proves: followers that never hear a leader campaign after a timeout drawn from the documented range.
    for (let seed = 1; seed <= 30; seed++) {
      const node = new RaftNode({ id: 1, storage: MemoryStorage.bootstrap([1, 2, 3]), random: new SeededRandom(seed), electionTicks: 10, preVote: false });
      node.advance(node.ready());
      let ticks = 0;
      while (node.role === 'follower') {
        node.tick();
        ticks++;
      }
      assert.ok(ticks >= 10 && ticks < 20, `seed ${seed}: campaigned after ${ticks} ticks`);
    }
  });

  it('a higher term in any message turns a leader into a follower (§5.1)', () => {
    // Proves: a leader that sees a higher term steps down immediately.
    const c = new TestCluster({ voters: [1, 2, 3], config: NO_PREVOTE });
    c.elect(1);
    c.node(1).step({ type: 'appendResponse', from: 2, to: 1, term: 9, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
    assert.equal(c.node(1).role, 'follower');
    assert.equal(c.node(1).term, 9);
  });
});
