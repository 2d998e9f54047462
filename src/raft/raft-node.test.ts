import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import { SeededRandom } from './prng.js';
import { RaftNode } from './raft-node.js';

function newNode(storage: MemoryStorage, id = 1): RaftNode {
  return new RaftNode({ id, storage, random: new SeededRandom(3), electionTicks: 10, preVote: false });
}

describe('RaftNode: the Ready / advance contract', () => {
  it('the first Ready of a bootstrapped node applies the membership entries', () => {
    // Proves: bootstrap entries are committed and handed out for applying; after advance the membership is in effect.
    const node = newNode(MemoryStorage.bootstrap([1, 2, 3]));
    assert.ok(node.hasReady());
    const rd = node.ready();
    assert.equal(rd.committedEntries.length, 3);
    assert.ok(rd.committedEntries.every((e) => e.type === 'confChange'));
    assert.deepEqual(node.confState(), { voters: [], learners: [] });
    node.advance(rd);
    assert.deepEqual(node.confState(), { voters: [1, 2, 3], learners: [] });
    assert.equal(node.hasReady(), false);
  });

  it('a campaign produces a hard state that must be synced before the vote requests are sent', () => {
    // Proves: term and vote changes come in the same Ready as the messages that depend on them, with mustSync set.
    const node = newNode(MemoryStorage.bootstrap([1, 2, 3]));
    node.advance(node.ready());
    node.campaign();
    const rd = node.ready();
    assert.deepEqual(rd.hardState, { term: 2, vote: 1, commit: 3 });
    assert.equal(rd.mustSync, true);
    assert.deepEqual(rd.messages.map((m) => [m.type, m.to]), [['vote', 2], ['vote', 3]]);
    assert.deepEqual(rd.softState, { leaderId: 0, role: 'candidate' });
  });

  it('ready() twice without advance() is a caller bug', () => {
    // Proves: the contract is enforced with an InvariantError rather than silently handing out entries twice.
    const node = newNode(MemoryStorage.bootstrap([1]));
    node.ready();
    assert.throws(() => node.ready(), InvariantError);
  });

  it('inputs between ready() and advance() land in the next Ready', () => {
    // Proves: the engine may keep stepping while it persists a Ready; nothing is lost or duplicated.
    const storage = MemoryStorage.bootstrap([1]);
    const node = newNode(storage);
    node.advance(node.ready());
    node.campaign();
    const rd1 = node.ready();
    storage.append(rd1.entries);
    if (rd1.hardState) storage.setHardState(rd1.hardState);
    const ticket = node.propose(new Uint8Array([42]));
    assert.equal(node.hasReady(), false, 'nothing new until advance');
    node.advance(rd1);
    const rd2 = node.ready();
    assert.deepEqual(rd2.entries.map((e) => e.index), [ticket.index]);
    assert.ok(rd2.committedEntries.some((e) => e.index === ticket.index));
  });

  it('a restarted node resumes from persisted term, vote and log', () => {
    // Proves: everything needed to restart is in the storage the Ready asked the engine to write.
    const storage = MemoryStorage.bootstrap([1, 2, 3]);
    const node = newNode(storage);
    const persist = (): void => {
      const rd = node.ready();
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      node.advance(rd);
    };
    persist();
    node.campaign();
    persist();
    node.campaign();
    persist();
    const before = node.status();
    const again = newNode(storage);
    const after = again.status();
    assert.equal(after.term, before.term);
    assert.equal(after.vote, before.vote);
    assert.equal(after.lastIndex, before.lastIndex);
  });

  it('a message addressed to another node is refused', () => {
    // Proves: misrouted messages are caught at the edge.
    const node = newNode(MemoryStorage.bootstrap([1, 2]));
    assert.throws(() => node.step({ type: 'timeoutNow', from: 2, to: 3, term: 1 }), InvariantError);
  });
});
