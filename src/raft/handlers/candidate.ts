import type { Raft } from '../raft.js';
import type { HandlerTable } from '../step.js';
import type { CampaignResponseMessage } from '../types.js';
import { handleAppend, handleHeartbeat, handleSnapshot } from './replication-follower.js';

/** Counts a vote; pre-candidates only count pre-vote answers and candidates only real ones. */
function handleCampaignResponse(raft: Raft, message: CampaignResponseMessage): void {
  const expected = raft.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
  if (message.type !== expected) return;
  const result = raft.poll(message.from, !message.reject);
  if (result === 'won') raft.onElectionWon();
  else if (result === 'lost') raft.becomeFollower(raft.term, 0);
}

/**
 * How (pre-)candidates handle each message type. A message from a leader of our term means the
 * election is lost (§5.2): become its follower, then handle the message as a follower would.
 */
export const candidateHandlers: HandlerTable = {
  append: (raft, message) => {
    raft.becomeFollower(message.term, message.from);
    handleAppend(raft, message);
  },
  heartbeat: (raft, message) => {
    raft.becomeFollower(message.term, message.from);
    handleHeartbeat(raft, message);
  },
  snapshot: (raft, message) => {
    raft.becomeFollower(message.term, message.from);
    handleSnapshot(raft, message);
  },
  voteResponse: handleCampaignResponse,
  preVoteResponse: handleCampaignResponse,
  // A read answered by the leader we knew before campaigning is still valid.
  readIndexResponse: (raft, message) => {
    raft.readStates.push({ index: message.index, context: message.context });
  },
};
