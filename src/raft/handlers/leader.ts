import type { Raft } from '../raft.js';
import type { HandlerTable } from '../step.js';
import type { AppendResponseMessage, HeartbeatResponseMessage } from '../types.js';

/** The follower refused an append: back off using its hint, at most one term per round trip. */
function handleAppendRejection(raft: Raft, message: AppendResponseMessage): void {
  const pr = raft.tracker.progress.get(message.from)!;
  let nextProbe = message.rejectHint;
  if (message.logTerm > 0) {
    // Skip every entry of ours whose term exceeds the follower's term at the hint: none of them can match.
    nextProbe = raft.log.findConflictByTerm(message.rejectHint, message.logTerm).index;
  }
  if (pr.maybeDecrTo(message.index, nextProbe)) {
    if (pr.state === 'replicate') pr.becomeProbe();
    raft.sendAppend(message.from);
  }
}

/** The follower stores everything up to message.index: advance its progress, maybe commit, send more. */
function handleAppendSuccess(raft: Raft, message: AppendResponseMessage): void {
  const pr = raft.tracker.progress.get(message.from)!;
  const wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(message.index)) return;
  if (pr.state === 'probe') {
    pr.becomeReplicate();
  } else if (pr.state === 'snapshot') {
    if (pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    }
  } else {
    pr.inflights.freeLE(message.index);
  }
  if (raft.maybeCommit()) {
    raft.releaseDeferredReads();
    raft.broadcastAppend();
  } else if (wasPaused) {
    raft.sendAppend(message.from);
  }
  // Stream whatever else fits in the window (bounded by inflightMessagesMax and the log's end).
  while (raft.maybeSendAppend(message.from, false)) { /* keep sending */ }
  if (message.from === raft.leadTransferee && pr.match === raft.log.lastIndex()) raft.sendTimeoutNow(message.from);
}

function handleAppendResponse(raft: Raft, message: AppendResponseMessage): void {
  const pr = raft.tracker.progress.get(message.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (message.reject) handleAppendRejection(raft, message);
  else handleAppendSuccess(raft, message);
}

/** The follower is alive: unblock its progress, and count it toward confirming pending reads. */
function handleHeartbeatResponse(raft: Raft, message: HeartbeatResponseMessage): void {
  const pr = raft.tracker.progress.get(message.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  pr.probeSent = false;
  // Appends may have been lost; let one more through so a full window cannot stall forever.
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < raft.log.lastIndex()) raft.sendAppend(message.from);
  if (message.context === undefined) return;
  const acks = raft.readOnly.recordAck(message.from, message.context);
  if (acks === undefined || raft.tracker.result((id) => (acks.has(id) ? true : undefined)) !== 'won') return;
  // A quorum still follows us: this read and all earlier ones are confirmed.
  for (const read of raft.readOnly.releaseUpTo(message.context)) raft.answerRead(read.from, read.index, read.context);
}

/** How a leader handles each message type. */
export const leaderHandlers: HandlerTable = {
  appendResponse: handleAppendResponse,
  heartbeatResponse: handleHeartbeatResponse,
  readIndex: (raft, message) => raft.leaderReadIndex(message.from, message.context),
};
