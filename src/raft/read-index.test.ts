import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotLeaderError } from './errors.js';
import { TestCluster } from './sim/harness.js';

const ctx = (n: number): Uint8Array => new Uint8Array([n]);

describe('ReadIndex linearizable reads (Raft thesis §6.4)', () => {
  it('on the leader, a read is answered with the commit index only after a quorum answers a heartbeat', () => {
    // Proves: no ReadState before the heartbeat round; afterwards the index equals the commit index at request time.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.propose(1, 'w');
    const commit = c.node(1).status().commit;
    c.node(1).readIndex(ctx(1));
    c.process(1);
    assert.deepEqual(c.get(1).readStates, []);
    assert.ok(c.queue.some((m) => m.type === 'heartbeat' && m.context !== undefined));
    c.deliverAll();
    assert.deepEqual(c.get(1).readStates, [{ index: commit, context: ctx(1) }]);
  });

  it('batches: reads requested between two Readies share one heartbeat round', () => {
    // Proves: three reads cost one heartbeat per follower, and the answers confirm all three.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.node(1).readIndex(ctx(1));
    c.node(1).readIndex(ctx(2));
    c.node(1).readIndex(ctx(3));
    c.process(1);
    const heartbeats = c.queue.filter((m) => m.type === 'heartbeat');
    assert.deepEqual(heartbeats.map((m) => [m.to, m.type === 'heartbeat' ? m.context?.[0] : undefined]), [[2, 3], [3, 3]]);
    c.deliverAll();
    assert.deepEqual(c.get(1).readStates.map((r) => r.context[0]), [1, 2, 3]);
  });

  it('a read whose heartbeat round was lost is confirmed by a later periodic heartbeat', () => {
    // Proves: heartbeats keep carrying the newest pending context, so a lost round is retried without the engine's help.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.node(1).readIndex(ctx(4));
    c.process(1);
    c.takeQueue();
    assert.deepEqual(c.get(1).readStates, []);
    c.tickAll(1);
    assert.deepEqual(c.get(1).readStates.map((r) => r.context[0]), [4]);
  });

  it('on a follower, the request is forwarded to the leader and the answer comes back to the follower', () => {
    // Proves: a follower obtains a read index from the leader and sees it in its own Ready.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.propose(1, 'w');
    c.node(2).readIndex(ctx(7));
    c.process(2);
    c.deliverAll();
    assert.deepEqual(c.get(2).readStates, [{ index: c.node(1).status().commit, context: ctx(7) }]);
    assert.deepEqual(c.get(1).readStates, []);
  });

  it('a new leader answers reads only after committing an entry of its own term', () => {
    // Proves: a read arriving before the leader's no-op commits waits, because its commit index may be stale.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.campaign(1);
    c.deliverUntil(() => c.node(1).role === 'leader');
    c.node(1).readIndex(ctx(5));
    c.process(1);
    assert.ok(!c.queue.some((m) => m.type === 'heartbeat' && m.context !== undefined), 'no read round yet');
    c.deliverAll();
    c.tickAll(1);
    assert.equal(c.get(1).readStates.length, 1);
    assert.equal(c.get(1).readStates[0]!.index, c.node(1).status().commit);
  });

  it('a deposed leader cut off from the majority never confirms a read', () => {
    // Proves: the stale-read bug of etcd 0.4 cannot happen: without a quorum's heartbeat answers there is no ReadState.
    const c = new TestCluster({ voters: [1, 2, 3], config: { checkQuorum: false } });
    c.elect(1);
    c.isolate(1);
    c.elect(2);
    c.propose(2, 'newer');
    c.node(1).readIndex(ctx(9));
    c.tickAll(30);
    assert.deepEqual(c.get(1).readStates, []);
  });

  it('a follower with no known leader refuses the read with NotLeaderError', () => {
    // Proves: the engine gets an immediate, typed answer instead of a read that can never complete.
    const c = new TestCluster({ voters: [1, 2, 3] });
    assert.throws(() => c.node(2).readIndex(ctx(1)), (err: unknown) => err instanceof NotLeaderError && err.leaderId === 0);
  });
});
