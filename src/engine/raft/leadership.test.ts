import { test } from "node:test";
import assert from "node:assert/strict";
import type { PeerProgressStatus, RaftStatus } from "../../raft/index.js";
import { handOffLeadership, transferTarget } from "./leadership.js";

function progress(match: number, recentActive = true, isLearner = false): PeerProgressStatus {
  return { match, next: match + 1, state: "replicate", isLearner, recentActive };
}

function leaderStatus(progressById: Record<number, PeerProgressStatus>, voters = [1, 2, 3]): RaftStatus {
  return {
    id: 1, term: 3, vote: 1, commit: 10, applied: 10, lastIndex: 10, role: "leader", leaderId: 1, leadTransferee: 0,
    confState: { voters, learners: [] }, progress: new Map(Object.entries(progressById).map(([id, p]) => [Number(id), p])),
  };
}

test("the hand-off target is the most caught-up active voter other than this node", () => {
  // Proves inactive peers, learners and this node are never chosen, and the highest match wins.
  assert.equal(transferTarget(leaderStatus({ 1: progress(10), 2: progress(7), 3: progress(9) }), 1), 3);
  assert.equal(transferTarget(leaderStatus({ 1: progress(10), 2: progress(7), 3: progress(9, false) }), 1), 2);
  assert.equal(transferTarget(leaderStatus({ 1: progress(10), 2: progress(9, true, true) }, [1]), 1), undefined);
  assert.equal(transferTarget(leaderStatus({ 1: progress(10), 2: progress(1, false), 3: progress(1, false) }), 1), undefined);
});

test("a group with no reachable voter is kept after the timeout, and nothing throws", async () => {
  // Proves the hand-off is bounded: a lone leader (no active peer) is reported in `kept` once time is up.
  let asked = 0;
  const lonely = { groupId: 7, node: { leaderId: 1, status: () => leaderStatus({ 1: progress(10), 2: progress(0, false) }), transferLeader: () => { asked++; } } };
  const started = Date.now();
  const result = await handOffLeadership([lonely], { nodeId: 1, timeoutMs: 100, pollMs: 10, schedule: () => undefined });
  assert.deepEqual(result.kept, [7]);
  assert.equal(result.moved.size, 0);
  assert.equal(asked, 0);
  assert.ok(Date.now() - started < 1000);
});

test("a group whose only voter is this node is left alone at once", async () => {
  // Proves a single-node cluster does not wait out the hand-off timeout when it stops.
  const alone = { groupId: 1000, node: { leaderId: 1, status: () => leaderStatus({ 1: progress(10) }, [1]), transferLeader: () => assert.fail("no target") } };
  const started = Date.now();
  const result = await handOffLeadership([alone], { nodeId: 1, timeoutMs: 5000, pollMs: 10, schedule: () => undefined });
  assert.deepEqual(result, { moved: new Map(), kept: [] });
  assert.ok(Date.now() - started < 100);
});

test("a group that stepped down before it heard from its new leader is reported with that leader once known", async () => {
  // Proves the race seen in CI: right after the transfer this node is a follower with leader 0 (the new
  // leader's first message has not arrived); the result waits for the new leader's id instead of saying 0.
  let polls = 0;
  const follower = (leaderId: number): RaftStatus => ({ ...leaderStatus({ 1: progress(10) }), role: "follower", leaderId });
  const group = { groupId: 9, node: { leaderId: 1, status: () => (++polls < 3 ? leaderStatus({ 1: progress(10), 2: progress(10) }) : polls < 6 ? follower(0) : follower(2)), transferLeader: () => undefined } };
  const result = await handOffLeadership([group], { nodeId: 1, timeoutMs: 5000, pollMs: 5, schedule: () => undefined });
  assert.deepEqual(result.kept, []);
  assert.equal(result.moved.get(9), 2);
});

test("out of time while the new leader is still unknown here: moved (to 0), not kept", async () => {
  const group = { groupId: 11, node: { leaderId: 1, status: () => ({ ...leaderStatus({ 1: progress(10), 2: progress(10) }), role: "follower" as const, leaderId: 0 }), transferLeader: () => undefined } };
  const result = await handOffLeadership([group], { nodeId: 1, timeoutMs: 50, pollMs: 5, schedule: () => undefined });
  assert.deepEqual(result.kept, []);
  assert.equal(result.moved.get(11), 0);
});
