import type { Raft } from '../raft.js';
import type { HandlerTable } from '../step.js';
import { NO_NODE, type Message } from '../types.js';
import { handleAppend, handleHeartbeat, handleSnapshot } from './replication-follower.js';

/** Any message from the leader of our term resets the election timer and names the leader. */
function heardFromLeader(raft: Raft, message: Message): void {
  raft.electionElapsed = 0;
  raft.leaderId = message.from;
}

/** How a follower handles each message type. */
export const followerHandlers: HandlerTable = {
  append: (raft, message) => {
    heardFromLeader(raft, message);
    handleAppend(raft, message);
  },
  heartbeat: (raft, message) => {
    heardFromLeader(raft, message);
    handleHeartbeat(raft, message);
  },
  snapshot: (raft, message) => {
    heardFromLeader(raft, message);
    handleSnapshot(raft, message);
  },
  // The leader chose us as its successor: campaign now, skipping pre-vote and the voters' lease.
  timeoutNow: (raft) => raft.hup(true),
  // A read forwarded to us by a node that thought we lead: pass it on, keeping the original asker.
  readIndex: (raft, message) => {
    if (raft.leaderId === NO_NODE || raft.leaderId === message.from) return;
    raft.send({ ...message, to: raft.leaderId, term: 0 });
  },
  readIndexResponse: (raft, message) => {
    raft.readStates.push({ index: message.index, context: message.context });
  },
};
