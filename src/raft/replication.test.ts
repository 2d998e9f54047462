import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestCluster, storageWithLog } from './sim/harness.js';

const MANUAL = { preVote: false, checkQuorum: false };

describe('log replication (Raft §5.3, §5.4)', () => {
  it('figure 7: followers with missing and extra entries are repaired to the new leader\'s log', () => {
    // Proves: a term-8 leader makes all six follower logs of figure 7 identical to its own,
    // deleting extra uncommitted entries (c, d, f) and filling gaps (a, b, e), in few round trips.
    const ids = [1, 2, 3, 4, 5, 6, 7];
    const figure: Record<number, number[]> = {
      1: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], // the leader for term 8
      2: [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a)
      3: [1, 1, 1, 4], // (b)
      4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c)
      5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d)
      6: [1, 1, 1, 4, 4, 4, 4], // (e)
      7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f)
    };
    const storages = new Map(ids.map((id) => [id, storageWithLog(ids, figure[id]!, { term: 7 })]));
    const c = new TestCluster({ voters: ids, storages, config: { ...MANUAL, messageBytesMax: 1 << 20 } });
    c.elect(1);
    assert.equal(c.leader(), 1);
    assert.equal(c.node(1).term, 8);
    c.tickAll(3);
    const expected = [1, 1, 1, 1, 1, 1, 1, ...figure[1]!, 8];
    for (const id of ids) assert.deepEqual(c.logTerms(id), expected, `log of node ${id}`);
    for (const id of ids) assert.equal(c.node(id).status().commit, expected.length, `commit of node ${id}`);
    // Fast backtracking: each follower needs at most a couple of rejections, not one per entry.
    const rejections = c.get(7).sent.filter((m) => m.type === 'appendResponse' && m.reject).length;
    assert.ok(rejections <= 3, `follower (f) rejected ${rejections} times`);
  });

  /**
   * Figure 8's history up to (c): S1 led term 2 and put index 7 on S2; S5 led term 3 and put a different
   * index 7 only on itself; now S5 is down and S1 wins term 4 (indices shift by the 5 bootstrap entries).
   */
  function figure8(unsafe: boolean): TestCluster {
    const ids = [1, 2, 3, 4, 5];
    const storages = new Map([
      [1, storageWithLog(ids, [2, 2], { term: 3, commit: 6 })],
      [2, storageWithLog(ids, [2, 2], { term: 3, commit: 6 })],
      [3, storageWithLog(ids, [2], { term: 3, vote: 5, commit: 6 })],
      [4, storageWithLog(ids, [2], { term: 3, vote: 5, commit: 6 })],
      [5, storageWithLog(ids, [2, 3], { term: 3, vote: 5, commit: 6 })],
    ]);
    // One entry per append message, so the old entry and the new no-op travel separately.
    const c = new TestCluster({ voters: ids, storages, config: { ...MANUAL, messageBytesMax: 1, ...(unsafe ? { unsafe: { commitPriorTermEntries: true } } : {}) } });
    c.crash(5);
    c.cut(1, 2);
    c.campaign(1);
    // S1 wins term 4 with S3 and S4, which then receive index 7 (term 2) — but not yet S1's no-op at 8.
    c.deliverUntil(() => {
      const p = c.node(1).status().progress;
      return (p.get(3)?.match ?? 0) >= 7 && (p.get(4)?.match ?? 0) >= 7;
    });
    assert.equal(c.node(1).role, 'leader');
    assert.equal(c.node(1).term, 4);
    return c;
  }

  it('figure 8: a leader does not commit an entry of an earlier term by counting replicas', () => {
    // Proves: index 7 (term 2) is on a majority (S1, S3, S4) yet not committed; when S5 later
    // overwrites it with its term-3 entry, no node has applied the old one, so nothing committed is lost.
    const c = figure8(false);
    assert.equal(c.node(1).status().commit, 6, 'term-2 entry must not be committed by counting');
    c.takeQueue();
    c.crash(1);
    c.restart(5);
    c.heal();
    // S5's first campaign (term 4) fails: S3 and S4 already voted in term 4. The second (term 5) wins.
    c.elect(5);
    c.elect(5);
    assert.equal(c.leader(), 5);
    c.restart(1);
    c.tickAll(5);
    for (const id of [1, 2, 3, 4, 5]) {
      assert.equal(c.logTerms(id)[6], 3, `node ${id} holds S5's entry at index 7`);
      assert.ok(c.get(id).applied.every((e) => !(e.index === 7 && e.term === 2)), `node ${id} never applied the term-2 entry`);
    }
  });

  it('figure 8: once the leader commits an entry of its own term, the earlier entries are committed too', () => {
    // Proves: the (e) branch — replicating the term-4 no-op to a majority commits index 7 and 8 together.
    const c = figure8(false);
    c.deliverAll();
    assert.equal(c.node(1).status().commit, 8);
    c.heal();
    c.restart(5);
    c.tickAll(5);
    for (const id of [1, 2, 3, 4, 5]) assert.deepEqual(c.logTerms(id).slice(5), [2, 2, 4], `node ${id}`);
  });

  it('figure 8 with the rule broken: committing by counting loses an applied entry', () => {
    // Proves: the unsafe knob really breaks safety — S1 applies index 7 (term 2), then S5 is
    // elected and replaces it, so two nodes apply different entries at index 7. (The simulator tests catch this too.)
    const c = figure8(true);
    assert.equal(c.node(1).status().commit, 7, 'the broken leader commits the old entry');
    assert.ok(c.get(1).applied.some((e) => e.index === 7 && e.term === 2), 'and applies it');
    c.takeQueue();
    c.crash(1);
    c.restart(5);
    c.heal();
    c.elect(5);
    c.elect(5);
    assert.equal(c.leader(), 5);
    c.tickAll(5);
    assert.ok(c.get(2).applied.some((e) => e.index === 7 && e.term === 3), 'another node applies a different index 7');
  });

  it('a stale leader in a minority partition cannot commit, and its entries are replaced after healing', () => {
    // Proves: proposals on a deposed leader never commit; the majority's new leader commits its own; logs converge.
    const c = new TestCluster({ voters: [1, 2, 3, 4, 5], config: MANUAL });
    c.elect(1);
    c.cut(1, 3);
    c.cut(1, 4);
    c.cut(1, 5);
    c.cut(2, 3);
    c.cut(2, 4);
    c.cut(2, 5);
    c.propose(1, 'stale-1');
    c.propose(1, 'stale-2');
    assert.deepEqual(c.appliedTexts(1), []);
    c.elect(3);
    c.propose(3, 'fresh');
    assert.deepEqual(c.appliedTexts(3), ['fresh']);
    c.heal();
    c.tickAll(3);
    assert.equal(c.leader(), 3);
    for (const id of [1, 2, 3, 4, 5]) assert.deepEqual(c.appliedTexts(id), ['fresh'], `node ${id}`);
  });

  it('partitions and healing: the majority side keeps committing, the minority catches up', () => {
    // Proves: a 3-of-5 side elects a leader and commits; after healing everyone applies the same sequence.
    const c = new TestCluster({ voters: [1, 2, 3, 4, 5], config: { preVote: true, checkQuorum: true } });
    c.elect(1);
    c.propose(1, 'a');
    for (const a of [1, 2]) for (const b of [3, 4, 5]) c.cut(a, b);
    c.tickAll(50);
    const leader = c.leaders().find((id) => id >= 3)!;
    assert.ok(leader !== undefined, 'majority side elected a leader');
    c.propose(leader, 'b');
    assert.deepEqual(c.appliedTexts(1), ['a']);
    c.heal();
    c.tickAll(10);
    for (const id of [1, 2, 3, 4, 5]) assert.deepEqual(c.appliedTexts(id), ['a', 'b'], `node ${id}`);
  });

  it('lost appends are retransmitted: a follower missing entries is brought up to date by heartbeats', () => {
    // Proves: with every append to node 3 dropped for a while, the heartbeat-driven probe repairs its log.
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.cutOneWay(1, 3);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    c.heal();
    c.tickAll(3);
    assert.deepEqual(c.appliedTexts(3), ['v0', 'v1', 'v2', 'v3', 'v4']);
  });
});
