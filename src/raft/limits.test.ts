import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, NotLeaderError, ProposalDroppedError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import { SeededRandom } from './prng.js';
import { RaftNode } from './raft-node.js';
import { TestCluster } from './sim/harness.js';

describe('limits and typed refusals', () => {
  it('a proposal on a follower throws NotLeaderError carrying the known leader', () => {
    // Proves: the engine can forward the request (leaderId) or answer "not leader" without parsing text.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(2);
    assert.throws(() => c.node(3).propose(new Uint8Array(1)), (err: unknown) => err instanceof NotLeaderError && err.leaderId === 2 && err.code === 'NOT_LEADER');
  });

  it('an entry larger than entryBytesMax is refused and nothing is appended', () => {
    // Proves: the size limit is enforced at the edge, with reason entryTooLarge.
    const c = new TestCluster({ voters: [1], config: { entryBytesMax: 100 } });
    c.elect(1);
    const last = c.node(1).status().lastIndex;
    c.node(1).propose(new Uint8Array(100));
    assert.throws(() => c.node(1).propose(new Uint8Array(101)), (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'entryTooLarge');
    assert.equal(c.node(1).status().lastIndex, last + 1);
  });

  it('proposals beyond uncommittedBytesMax are refused until entries are applied', () => {
    // Proves: a leader that cannot commit stops accepting data instead of growing its log without bound.
    const c = new TestCluster({ voters: [1, 2, 3], config: { uncommittedBytesMax: 250 } });
    c.elect(1);
    c.isolate(1);
    c.node(1).propose(new Uint8Array(100));
    c.node(1).propose(new Uint8Array(100));
    assert.throws(() => c.node(1).propose(new Uint8Array(100)),
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'uncommittedBytesExceeded');
    c.process(1);
    c.heal();
    c.tickAll(2);
    c.node(1).propose(new Uint8Array(100));
  });

  it('at most inflightMessagesMax appends are in flight to one follower', () => {
    // Proves: in the replicate state the leader stops sending once the window is full, until acknowledgements free it.
    const c = new TestCluster({ voters: [1, 2], config: { inflightMessagesMax: 2, messageBytesMax: 1 } });
    c.elect(1);
    c.tickAll(1);
    for (let i = 0; i < 6; i++) c.node(1).propose(new Uint8Array([i]));
    c.process(1);
    const appends = c.takeQueue().filter((m) => m.type === 'append' && m.entries.length > 0);
    assert.equal(appends.length, 2);
    for (const m of appends) c.deliver(m);
    c.deliverAll();
    assert.equal(c.node(2).status().lastIndex, c.node(1).status().lastIndex, 'acks release the rest');
  });

  it('one append carries at most messageBytesMax of entries (but always at least one entry)', () => {
    // Proves: the per-message byte limit splits a long catch-up into several messages.
    const c = new TestCluster({ voters: [1, 2], config: { messageBytesMax: 200 } });
    c.elect(1);
    c.crash(2);
    for (let i = 0; i < 10; i++) c.node(1).propose(new Uint8Array(60));
    c.process(1);
    c.takeQueue();
    c.restart(2);
    c.tickAll(5);
    const sizes = c.get(1).sent.filter((m) => m.type === 'append' && m.to === 2 && m.entries.length > 1)
      .map((m) => (m.type === 'append' ? m.entries.reduce((s, e) => s + e.data.byteLength + 24, 0) : 0));
    assert.ok(sizes.length > 0 && sizes.every((s) => s <= 200), `append sizes ${sizes}`);
    assert.equal(c.node(2).status().lastIndex, c.node(1).status().lastIndex);
  });

  it('invalid configuration is refused with a ConfigError naming the field', () => {
    // Proves: limits are validated when a node is built, not discovered later.
    const base = { id: 1, storage: new MemoryStorage(), random: new SeededRandom(1) };
    assert.throws(() => new RaftNode({ ...base, id: 0 }), (err: unknown) => err instanceof ConfigError && /id is 0/.test(err.message));
    assert.throws(() => new RaftNode({ ...base, electionTicks: 1, heartbeatTicks: 1 }), /electionTicks is 1/);
    assert.throws(() => new RaftNode({ ...base, inflightMessagesMax: 0 }), /inflightMessagesMax/);
  });
});
