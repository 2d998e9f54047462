import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestCluster } from './sim/harness.js';

describe('snapshots and log compaction (Raft §7)', () => {
  it('a lagging follower whose entries were compacted receives and installs the leader\'s snapshot, then catches up', () => {
    // Proves: the leader switches the follower to the snapshot state, sends its snapshot, and resumes replication after it.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.crash(3);
    for (let i = 0; i < 10; i++) c.propose(1, `v${i}`);
    const snap = c.snapshotAndCompact(1);
    c.propose(1, 'after');
    c.restart(3);
    c.tickAll(5);
    assert.equal(c.get(3).installed.length, 1);
    assert.equal(c.get(3).installed[0]!.metadata.index, snap.metadata.index);
    assert.equal(c.get(3).storage.snapshot().metadata.index, snap.metadata.index);
    assert.deepEqual(c.appliedTexts(3), ['after'], 'entries after the snapshot are applied normally');
    assert.equal(c.node(3).status().applied, c.node(1).status().applied);
    assert.equal(c.node(1).status().progress.get(3)!.state, 'replicate');
  });

  it('a lost snapshot message is sent again', () => {
    // Proves: a follower stuck in the snapshot state (message dropped, nothing reported) is probed again and recovers.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.crash(3);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    c.snapshotAndCompact(1);
    c.restart(3);
    c.ignore('snapshot');
    c.tickAll(3);
    assert.equal(c.node(1).status().progress.get(3)!.state, 'snapshot');
    c.heal();
    c.tickAll(30);
    assert.equal(c.get(3).installed.length, 1);
    assert.equal(c.node(3).status().applied, c.node(1).status().applied);
  });

  it('reportSnapshot(failed) returns the follower to probing, which retries the snapshot', () => {
    // Proves: the engine's transport can report a failed snapshot send and replication resumes without waiting for a timeout.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.crash(3);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    c.snapshotAndCompact(1);
    c.restart(3);
    c.ignore('snapshot');
    c.tickAll(2);
    c.heal();
    c.node(1).reportSnapshot(3, false);
    assert.equal(c.node(1).status().progress.get(3)!.state, 'probe');
    c.tickAll(2);
    assert.equal(c.get(3).installed.length, 1);
  });

  it('a follower ignores a snapshot older than its commit index and keeps its log', () => {
    // Proves: restoring is refused when it would move the follower backwards; it answers with its commit index.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    for (let i = 0; i < 3; i++) c.propose(1, `v${i}`);
    const old = c.snapshotAndCompact(1);
    c.propose(1, 'later');
    const commit = c.node(2).status().commit;
    c.node(2).step({ type: 'snapshot', from: 1, to: 2, term: c.node(1).term, snapshot: old });
    c.process(2);
    assert.equal(c.get(2).installed.length, 0);
    const answer = c.takeQueue().find((m) => m.from === 2 && m.type === 'appendResponse');
    assert.ok(answer !== undefined && answer.type === 'appendResponse' && answer.index === commit);
  });

  it('a node restarts from a compacted log (snapshot + tail) with its term, vote and commit', () => {
    // Proves: storage holding only a snapshot and later entries is enough to resume; replay starts after the snapshot.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    for (let i = 0; i < 4; i++) c.propose(1, `v${i}`);
    c.tickAll(1);
    c.snapshotAndCompact(2, 1);
    c.propose(1, 'tail');
    c.tickAll(1);
    const before = c.node(2).status();
    c.crash(2);
    c.restart(2);
    const after = c.node(2).status();
    assert.equal(after.term, before.term);
    assert.equal(after.vote, before.vote);
    assert.equal(after.commit, before.commit);
    assert.deepEqual(c.appliedTexts(2), ['tail'], 'only entries after the snapshot are replayed');
  });
});
