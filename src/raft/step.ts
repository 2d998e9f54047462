import { candidateHandlers } from './handlers/candidate.js';
import { handleCampaignRequest, handleHigherTerm, handleLowerTerm } from './handlers/common.js';
import { followerHandlers } from './handlers/follower.js';
import { leaderHandlers } from './handlers/leader.js';
import type { Raft } from './raft.js';
import type { Message, MessageOf, MessageType, Role } from './types.js';

/** One handler per message type; a role ignores the types it has no handler for. */
export type HandlerTable = { readonly [K in MessageType]?: (raft: Raft, message: MessageOf<K>) => void };

const HANDLERS: Readonly<Record<Role, HandlerTable>> = {
  follower: followerHandlers,
  preCandidate: candidateHandlers,
  candidate: candidateHandlers,
  leader: leaderHandlers,
};

/**
 * Every incoming message goes through here: first the term rules common to all roles (§5.1: a higher
 * term makes us a follower, a lower term is stale), then vote requests, then the role's own handler.
 */
export function stepMessage(raft: Raft, message: Message): void {
  if (message.term > raft.term) {
    if (!handleHigherTerm(raft, message)) return;
  } else if (message.term < raft.term && message.term !== 0) {
    handleLowerTerm(raft, message);
    return;
  }
  if (message.type === 'vote' || message.type === 'preVote') {
    handleCampaignRequest(raft, message);
    return;
  }
  const handler = HANDLERS[raft.role][message.type] as ((r: Raft, m: Message) => void) | undefined;
  handler?.(raft, message);
}
