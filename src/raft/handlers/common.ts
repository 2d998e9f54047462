import type { Raft } from '../raft.js';
import { NO_NODE, type CampaignMessage, type Message } from '../types.js';

/**
 * A message from a higher term. Returns false when it must be ignored: vote requests while we have a live
 * leader (the leader lease that check-quorum provides), so a node that was cut off cannot depose it.
 */
export function handleHigherTerm(raft: Raft, message: Message): boolean {
  if (message.type === 'vote' || message.type === 'preVote') {
    const inLease = raft.config.checkQuorum && raft.leaderId !== NO_NODE && raft.electionElapsed < raft.config.electionTicks;
    if (inLease && !message.transfer) return false;
  }
  // A pre-vote never changes our term; a granted pre-vote answer carries the term the candidate will use.
  if (message.type === 'preVote') return true;
  if (message.type === 'preVoteResponse' && !message.reject) return true;
  const fromLeader = message.type === 'append' || message.type === 'heartbeat' || message.type === 'snapshot';
  raft.becomeFollower(message.term, fromLeader ? message.from : NO_NODE);
  return true;
}

/** A message from an older term: ignore it, but tell stale leaders and pre-candidates about our term. */
export function handleLowerTerm(raft: Raft, message: Message): void {
  const { checkQuorum, preVote } = raft.config;
  if ((checkQuorum || preVote) && (message.type === 'heartbeat' || message.type === 'append')) {
    // With check-quorum or pre-vote a node may have a higher term without having disrupted the leader;
    // answering lets the stale leader step down instead of talking to us forever.
    raft.send({ type: 'appendResponse', from: raft.id, to: message.from, term: raft.term, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
  } else if (message.type === 'preVote') {
    raft.send({ type: 'preVoteResponse', from: raft.id, to: message.from, term: raft.term, reject: true });
  }
}

/**
 * A (pre-)vote request in our term or a future one (§5.2, §5.4.1): grant it if we have not voted for
 * someone else (a pre-vote for a future term is always allowed) and the candidate's log is at least as
 * up to date as ours.
 */
export function handleCampaignRequest(raft: Raft, message: CampaignMessage): void {
  const canVote =
    raft.vote === message.from ||
    (raft.vote === NO_NODE && raft.leaderId === NO_NODE) ||
    (message.type === 'preVote' && message.term > raft.term);
  const logOk = raft.config.unsafe.skipVoteLogCheck === true || raft.log.isUpToDate(message.index, message.logTerm);
  const type = message.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
  if (canVote && logOk) {
    raft.send({ type, from: raft.id, to: message.from, term: message.term, reject: false });
    if (message.type === 'vote') {
      raft.electionElapsed = 0;
      raft.vote = message.from;
    }
  } else {
    raft.send({ type, from: raft.id, to: message.from, term: raft.term, reject: true });
  }
}
