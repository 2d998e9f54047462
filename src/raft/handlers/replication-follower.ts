import type { Raft } from '../raft.js';
import type { AppendMessage, HeartbeatMessage, SnapshotMessage } from '../types.js';

/**
 * Follower side of log replication (§5.3): accept entries that extend a matching prefix, otherwise
 * reject with a hint so the leader can skip back a whole term at a time.
 */
export function handleAppend(raft: Raft, message: AppendMessage): void {
  const reply = (index: number, reject: boolean, rejectHint: number, logTerm: number): void =>
    raft.send({ type: 'appendResponse', from: raft.id, to: message.from, term: raft.term, index, reject, rejectHint, logTerm });
  if (message.index < raft.log.committed) {
    // Everything up to our commit index already matches the leader.
    reply(raft.log.committed, false, 0, 0);
    return;
  }
  const lastNew = raft.log.maybeAppend(message.index, message.logTerm, message.commit, message.entries);
  if (lastNew !== undefined) {
    reply(lastNew, false, 0, 0);
    return;
  }
  const hint = raft.log.findConflictByTerm(Math.min(message.index, raft.log.lastIndex()), message.logTerm);
  reply(message.index, true, hint.index, hint.term);
}

/** The leader is alive; its commit index is capped at what we are known to store, so adopt it. */
export function handleHeartbeat(raft: Raft, message: HeartbeatMessage): void {
  raft.log.commitTo(message.commit);
  raft.send(message.context === undefined
    ? { type: 'heartbeatResponse', from: raft.id, to: message.from, term: raft.term }
    : { type: 'heartbeatResponse', from: raft.id, to: message.from, term: raft.term, context: message.context });
}

/** Installs a snapshot from the leader and reports how far our log now reaches. */
export function handleSnapshot(raft: Raft, message: SnapshotMessage): void {
  const index = raft.restoreSnapshot(message.snapshot) ? raft.log.lastIndex() : raft.log.committed;
  raft.send({ type: 'appendResponse', from: raft.id, to: message.from, term: raft.term, index, reject: false, rejectHint: 0, logTerm: 0 });
}
