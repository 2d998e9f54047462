import { invariant } from './assert.js';
import { confChangeProblem, decodeConfChange, encodeConfChange, type ConfChange } from './confchange.js';
import { resolveConfig, type RaftConfig, type ResolvedRaftConfig } from './config.js';
import { payloadBytes } from './entry-utils.js';
import { NotLeaderError, ProposalDroppedError, SnapshotTemporarilyUnavailableError } from './errors.js';
import { NO_BYTES_LIMIT, SNAPSHOT_RETRY_ELECTION_TIMEOUTS } from './limits.js';
import { RaftLog } from './raft-log.js';
import { ReadOnlyQueue } from './read-only.js';
import { stepMessage } from './step.js';
import { ProgressTracker } from './tracker.js';
import {
  NO_NODE,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type ProposalTicket,
  type ReadState,
  type Role,
  type Snapshot,
  type SoftState,
} from './types.js';

/** A read request waiting until the leader has committed an entry of its own term. */
interface DeferredRead {
  readonly from: number;
  readonly context: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * The Raft algorithm for one node: pure, synchronous and deterministic. Inputs are tick(), step() and
 * the local requests; outputs accumulate in `messages` and `readStates` and in the log, and are handed
 * to the engine by RaftNode.ready(). Message handlers live in handlers/, one per message type and role.
 */
export class Raft {
  readonly id: number;
  readonly config: ResolvedRaftConfig;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  term = 0;
  vote = NO_NODE;
  leaderId = NO_NODE;
  role: Role = 'follower';
  /** Outgoing messages not yet taken by ready(). */
  messages: Message[] = [];
  /** Confirmed reads not yet taken by ready(). */
  readStates: ReadState[] = [];
  /** Ticks since the last election timeout reset (followers: since the leader was last heard from). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** The node leadership is being transferred to, or NO_NODE. */
  leadTransferee = NO_NODE;
  /** Index of the newest conf change this leader may have in flight; a new one waits until it is applied. */
  pendingConfIndex = 0;
  /** Payload bytes this leader appended that are not yet applied. */
  uncommittedBytes = 0;
  readOnly = new ReadOnlyQueue();
  deferredReads: DeferredRead[] = [];
  /** Reads were queued since the last heartbeat round that carried a read context. */
  readHeartbeatPending = false;
  /**
   * Proposals were appended since the engine last took a Ready. Their appends go out when it next takes
   * one: one message per follower for all of them, instead of one per proposal and follower.
   */
  proposalAppendsPending = false;

  constructor(config: RaftConfig) {
    this.config = resolveConfig(config);
    this.id = this.config.id;
    this.log = new RaftLog(this.config.storage, this.id);
    this.tracker = new ProgressTracker(this.config.inflightMessagesMax);
    const { hardState, confState } = this.config.storage.initialState();
    this.tracker.setConfState(confState, this.log.lastIndex() + 1);
    this.loadHardState(hardState);
    const snapshotIndex = this.config.storage.snapshot().metadata.index;
    this.replayAppliedConfChanges(snapshotIndex, this.config.applied ?? snapshotIndex);
    this.becomeFollower(this.term, NO_NODE);
  }

  private loadHardState(hardState: HardState): void {
    invariant(hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(), () =>
      `node ${this.id}: stored commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`);
    this.log.committed = hardState.commit;
    this.term = hardState.term;
    this.vote = hardState.vote;
  }

  /**
   * The state machine already applied up to `applied` (at least the snapshot index): skip those entries,
   * but adopt the conf changes among them, since the stored membership is only as of the snapshot.
   */
  private replayAppliedConfChanges(snapshotIndex: number, applied: number): void {
    invariant(applied >= snapshotIndex && applied <= this.log.committed, () =>
      `node ${this.id}: applied index ${applied} outside [snapshot ${snapshotIndex}, commit ${this.log.committed}]`);
    if (applied > snapshotIndex) {
      const entries = this.log.slice(snapshotIndex + 1, applied + 1, NO_BYTES_LIMIT);
      for (const e of entries) if (e.type === 'confChange') this.applyConfChange(decodeConfChange(e.data));
    }
    this.log.applied = applied;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leaderId: this.leaderId, role: this.role };
  }

  /** Only voters campaign. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  // ---------------------------------------------------------------- role transitions

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.leaderId = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    const base = this.config.electionTicks;
    this.randomizedElectionTimeout = base + this.config.random.nextInt(base);
    this.leadTransferee = NO_NODE;
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.log.lastIndex(), this.id);
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly = new ReadOnlyQueue();
    this.deferredReads = [];
    this.readHeartbeatPending = false;
    this.proposalAppendsPending = false;
  }

  becomeFollower(term: number, leaderId: number): void {
    this.reset(term);
    this.leaderId = leaderId;
    this.role = 'follower';
  }

  becomePreCandidate(): void {
    invariant(this.role !== 'leader', () => `node ${this.id}: leader cannot become pre-candidate in term ${this.term}`);
    // A pre-vote changes neither the term nor the vote: a node that cannot win must not disturb the others.
    this.tracker.resetVotes();
    this.leaderId = NO_NODE;
    this.role = 'preCandidate';
  }

  becomeCandidate(): void {
    invariant(this.role !== 'leader', () => `node ${this.id}: leader cannot become candidate in term ${this.term}`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    invariant(this.role === 'candidate', () => `node ${this.id}: ${this.role} cannot become leader in term ${this.term}`);
    this.reset(this.term);
    this.leaderId = this.id;
    this.role = 'leader';
    this.tracker.progress.get(this.id)!.becomeReplicate();
    // Conf changes already in the log must be applied before this leader may propose another one.
    this.pendingConfIndex = this.log.lastIndex();
    // The no-op lets this leader commit (and so learn) everything before it: entries of earlier terms
    // are committed only indirectly, by committing an entry of the current term (figure 8).
    this.appendEntries([{ type: 'normal', data: EMPTY }]);
  }

  // ---------------------------------------------------------------- clock

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) this.checkQuorum();
      // A transfer that did not finish within an election timeout has failed: accept proposals again.
      if (this.role === 'leader') this.leadTransferee = NO_NODE;
    }
    if (this.role !== 'leader') return;
    this.retryLostSnapshots();
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.readHeartbeatPending = false;
      this.broadcastHeartbeat(this.readOnly.lastContext());
    }
  }

  /** Steps down unless a quorum was heard from during the last election timeout. */
  private checkQuorum(): void {
    if (!this.tracker.quorumActive(this.id)) {
      this.becomeFollower(this.term, NO_NODE);
      return;
    }
    for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
  }

  /** A snapshot message can be lost; after a while, probe the follower again (which resends it if still needed). */
  private retryLostSnapshots(): void {
    const limit = SNAPSHOT_RETRY_ELECTION_TIMEOUTS * this.config.electionTicks;
    for (const [id, pr] of this.tracker.progress) {
      if (pr.state !== 'snapshot' || ++pr.snapshotTicks < limit) continue;
      // Assume the snapshot never arrived: probe from the last known match, which resends it if still needed.
      pr.pendingSnapshot = 0;
      pr.becomeProbe();
      this.sendAppend(id);
    }
  }

  // ---------------------------------------------------------------- elections

  /** Starts an election if this node may: `transfer` skips the pre-vote and the voters' leader lease. */
  hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable() || this.hasUnappliedConfChanges()) return;
    if (this.config.preVote && !transfer) this.campaign('preVote', false);
    else this.campaign('vote', transfer);
  }

  /** A committed but unapplied conf change means our configuration is stale: do not lead with it. */
  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (lo > this.log.committed) return false;
    return this.log.slice(lo, this.log.committed + 1, NO_BYTES_LIMIT).some((e) => e.type === 'confChange');
  }

  campaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    if (kind === 'preVote') this.becomePreCandidate();
    else this.becomeCandidate();
    const term = kind === 'preVote' ? this.term + 1 : this.term;
    if (this.poll(this.id, true) === 'won') {
      this.onElectionWon();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of [...this.tracker.voters].sort((a, b) => a - b)) {
      if (id === this.id) continue;
      this.messages.push({ type: kind, from: this.id, to: id, term, index, logTerm, transfer });
    }
  }

  /** Records a vote and returns the election's result so far. */
  poll(from: number, granted: boolean): 'won' | 'lost' | 'pending' {
    this.tracker.recordVote(from, granted);
    return this.tracker.tallyVotes();
  }

  /** A pre-vote win starts the real election; a real win makes this node leader. */
  onElectionWon(): void {
    if (this.role === 'preCandidate') {
      this.campaign('vote', false);
    } else {
      this.becomeLeader();
      this.broadcastAppend();
    }
  }

  // ---------------------------------------------------------------- sending

  /** Queues a message stamped with this node's id and term. */
  send(message: Message): void {
    this.messages.push(message);
  }

  /** Sends entries (or a snapshot) to `to`, even an empty append to carry the commit index. */
  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends what `to` needs next unless its progress is paused; returns whether a message went out. */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    invariant(prevIndex <= this.log.lastIndex(), () =>
      `node ${this.id}: next index ${pr.next} for peer ${to} is beyond the last index ${this.log.lastIndex()}`);
    const prevTerm = this.log.term(prevIndex);
    const entries = prevTerm === undefined ? undefined : this.log.entriesFrom(pr.next, this.config.messageBytesMax);
    if (prevTerm === undefined || entries === undefined) return this.sendSnapshot(to);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'append', from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    if (entries.length > 0) {
      if (pr.state === 'replicate') {
        const last = entries[entries.length - 1]!.index;
        pr.next = last + 1;
        pr.inflights.add(last);
      } else if (pr.state === 'probe') {
        pr.probeSent = true;
      }
    }
    return true;
  }

  /** The entries `to` needs are compacted: send the latest snapshot instead. */
  private sendSnapshot(to: number): boolean {
    const pr = this.tracker.progress.get(to)!;
    // Do not ship a snapshot to a peer that may be down; wait until it answers a heartbeat.
    if (!pr.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.log.snapshot();
    } catch (err) {
      if (err instanceof SnapshotTemporarilyUnavailableError) return false;
      throw err;
    }
    invariant(snapshot.metadata.index > 0, () => `node ${this.id}: peer ${to} needs a snapshot but the snapshot is empty`);
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  sendHeartbeat(to: number, context: Uint8Array | undefined): void {
    // A follower may lack entries up to our commit index; tell it only what it is known to have.
    const commit = Math.min(this.tracker.progress.get(to)!.match, this.log.committed);
    this.send(context === undefined
      ? { type: 'heartbeat', from: this.id, to, term: this.term, commit }
      : { type: 'heartbeat', from: this.id, to, term: this.term, commit, context });
  }

  broadcastAppend(): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  broadcastHeartbeat(context: Uint8Array | undefined): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendHeartbeat(id, context);
  }

  // ---------------------------------------------------------------- the leader's log

  /** Appends entries in the current term (leader only); throws if the uncommitted-bytes limit is hit. */
  appendEntries(entries: readonly { type: EntryType; data: Uint8Array }[]): ProposalTicket {
    const size = payloadBytes(entries as Entry[]);
    const max = this.config.uncommittedBytesMax;
    // The first proposal always fits, so one oversized-but-legal entry cannot block the group forever.
    if (size > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + size > max) {
      throw new ProposalDroppedError('uncommittedBytesExceeded',
        `${this.uncommittedBytes} bytes are uncommitted on node ${this.id}, adding ${size} exceeds ${max}`);
    }
    this.uncommittedBytes += size;
    const first = this.log.lastIndex() + 1;
    const stamped: Entry[] = entries.map((e, i) => ({ term: this.term, index: first + i, type: e.type, data: e.data }));
    const last = this.log.append(stamped);
    this.tracker.progress.get(this.id)!.maybeUpdate(last);
    // A single voter commits on its own.
    this.maybeCommit();
    return { index: last, term: this.term };
  }

  /** Advances the commit index to what a quorum stores, if that entry is from this term. */
  maybeCommit(): boolean {
    const quorumIndex = this.tracker.committed();
    if (this.config.unsafe.commitPriorTermEntries && quorumIndex > this.log.committed) {
      this.log.commitTo(quorumIndex);
      return true;
    }
    return this.log.maybeCommit(quorumIndex, this.term);
  }

  /** Whether this leader's commit index covers an entry of its own term (so it reflects all earlier commits). */
  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---------------------------------------------------------------- local requests

  propose(data: Uint8Array): ProposalTicket {
    this.requireLeader('propose');
    const max = this.config.entryBytesMax;
    if (data.byteLength > max) {
      throw new ProposalDroppedError('entryTooLarge', `entry of ${data.byteLength} bytes exceeds the limit of ${max} bytes`);
    }
    this.requireNoTransfer();
    const ticket = this.appendEntries([{ type: 'normal', data }]);
    this.proposalAppendsPending = true;
    return ticket;
  }

  proposeConfChange(change: ConfChange): ProposalTicket {
    this.requireLeader('change membership');
    this.requireNoTransfer();
    if (this.pendingConfIndex > this.log.applied || !this.committedEntryInCurrentTerm()) {
      throw new ProposalDroppedError('confChangePending',
        `node ${this.id} has a membership change at index ${this.pendingConfIndex} not yet applied (applied ${this.log.applied}) or has not committed in term ${this.term}`);
    }
    const problem = confChangeProblem(this.tracker.confState(), change);
    if (problem !== undefined) throw new ProposalDroppedError('invalidConfChange', problem);
    const ticket = this.appendEntries([{ type: 'confChange', data: encodeConfChange(change) }]);
    this.pendingConfIndex = ticket.index;
    this.broadcastAppend();
    return ticket;
  }

  private requireLeader(what: string): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.id, this.leaderId, what);
  }

  private requireNoTransfer(): void {
    if (this.leadTransferee !== NO_NODE) {
      throw new ProposalDroppedError('leaderTransferInProgress', `node ${this.id} is handing leadership to node ${this.leadTransferee}`);
    }
  }

  /** Hands leadership to `target`: bring it up to date, then tell it to campaign at once. */
  transferLeader(target: number): void {
    this.requireLeader('transfer leadership');
    if (!this.tracker.isVoter(target)) {
      throw new ProposalDroppedError('invalidConfChange', `node ${target} is not a voter and cannot become leader`);
    }
    if (target === this.id || target === this.leadTransferee) return;
    // The transfer must finish within one election timeout, counted from now.
    this.electionElapsed = 0;
    this.leadTransferee = target;
    if (this.tracker.progress.get(target)!.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target);
  }

  sendTimeoutNow(to: number): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  /** A linearizable read: `context` comes back in a ReadState once its index is confirmed. */
  readIndex(context: Uint8Array): void {
    if (this.role === 'leader') {
      this.leaderReadIndex(this.id, context);
      return;
    }
    if (this.leaderId === NO_NODE) throw new NotLeaderError(this.id, NO_NODE, 'serve a read index');
    this.send({ type: 'readIndex', from: this.id, to: this.leaderId, term: 0, context });
  }

  /** Leader side of a read request from `from` (this node or a follower). */
  leaderReadIndex(from: number, context: Uint8Array): void {
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may still be behind the previous leader's: wait for our first commit.
      if (this.deferredReads.length >= this.config.pendingReadIndexMax) {
        if (from === this.id) throw new ProposalDroppedError('readIndexQueueFull', `${this.deferredReads.length} reads are waiting`);
        return;
      }
      this.deferredReads.push({ from, context });
      return;
    }
    if (this.tracker.isSingleton()) {
      this.answerRead(from, this.log.committed, context);
      return;
    }
    if (!this.readOnly.add(this.log.committed, from, context, this.config.pendingReadIndexMax)) {
      if (from === this.id) throw new ProposalDroppedError('readIndexQueueFull', `${this.readOnly.size()} reads are waiting`);
      return;
    }
    this.readOnly.recordAck(this.id, context);
    // One heartbeat round, sent when the engine next takes a Ready, confirms every read queued until then.
    this.readHeartbeatPending = true;
  }

  /** Sends the entries proposed since the last Ready to every follower that can take them (called by ready()). */
  flushProposalAppends(): void {
    if (!this.proposalAppendsPending) return;
    this.proposalAppendsPending = false;
    if (this.role !== 'leader') return;
    // As many appends as the follower's window takes (one, unless messageBytesMax splits the entries).
    // Without entries to send, a follower needs nothing: it got them with an append sent since (one
    // answering its response), or it is paused and will be sent them when it answers.
    for (const id of this.tracker.progress.keys()) if (id !== this.id) while (this.maybeSendAppend(id, false));
  }

  /** Sends the heartbeat round that confirms the reads queued since the last one (called by ready()). */
  flushReadHeartbeat(): void {
    if (!this.readHeartbeatPending) return;
    this.readHeartbeatPending = false;
    if (this.role === 'leader') this.broadcastHeartbeat(this.readOnly.lastContext());
  }

  answerRead(to: number, index: number, context: Uint8Array): void {
    if (to === this.id) this.readStates.push({ index, context });
    else this.send({ type: 'readIndexResponse', from: this.id, to, term: this.term, index, context });
  }

  /** Called when the leader's first commit in its term may have happened. */
  releaseDeferredReads(): void {
    if (this.deferredReads.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const reads = this.deferredReads;
    this.deferredReads = [];
    for (const read of reads) this.leaderReadIndex(read.from, read.context);
  }

  /** The engine's transport finished (or failed) sending a snapshot to `id`. */
  reportSnapshot(id: number, succeeded: boolean): void {
    const pr = this.tracker.progress.get(id);
    if (this.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return;
    if (!succeeded) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's answer (or a heartbeat response) before sending more.
    pr.probeSent = true;
  }

  /** The engine could not reach `id`: stop streaming optimistically and probe instead. */
  reportUnreachable(id: number): void {
    const pr = this.tracker.progress.get(id);
    if (this.role === 'leader' && pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  step(message: Message): void {
    stepMessage(this, message);
  }

  // ---------------------------------------------------------------- applying

  /** The application applied these committed entries (called from advance()). */
  onEntriesApplied(entries: readonly Entry[]): void {
    for (const e of entries) if (e.type === 'confChange') this.applyConfChange(decodeConfChange(e.data));
    if (this.role === 'leader') this.uncommittedBytes = Math.max(0, this.uncommittedBytes - payloadBytes(entries));
  }

  /** Adopts a committed membership change; an invalid change is a no-op on every node alike. */
  applyConfChange(change: ConfChange): void {
    if (confChangeProblem(this.tracker.confState(), change) !== undefined) return;
    this.tracker.applyConfChange(change, this.log.lastIndex() + 1);
    if (this.promotable()) {
      if (this.role === 'leader') this.onLeaderConfChanged();
      return;
    }
    // Removed or demoted: a non-voter must not lead or finish an election.
    if (this.role !== 'follower') this.becomeFollower(this.term, NO_NODE);
  }

  private onLeaderConfChanged(): void {
    if (this.leadTransferee !== NO_NODE && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = NO_NODE;
    // The quorum changed: entries may now be committed, and new members need the log.
    if (this.maybeCommit()) {
      this.releaseDeferredReads();
      this.broadcastAppend();
    } else {
      for (const id of this.tracker.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
  }

  /** Installs a snapshot from the leader; returns false if it is not newer than what we have. */
  restoreSnapshot(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    invariant(this.role === 'follower', () => `node ${this.id}: ${this.role} asked to restore snapshot ${index}`);
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We already have the entry: only the commit index is news, the log after it stays.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.setConfState(confState, this.log.lastIndex() + 1);
    return true;
  }
}
