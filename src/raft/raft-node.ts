import { invariant } from './assert.js';
import type { ConfChange } from './confchange.js';
import type { RaftConfig } from './config.js';
import { Raft } from './raft.js';
import type {
  ConfState,
  HardState,
  Message,
  PeerProgressStatus,
  ProposalTicket,
  RaftStatus,
  Ready,
  SoftState,
} from './types.js';

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leaderId === b.leaderId && a.role === b.role;
}

/**
 * The engine's handle on one Raft node: inputs in, Ready batches out.
 *
 * Contract: call hasReady() after inputs; if true, take ready(), persist its snapshot, entries and hard
 * state, then send its messages, then apply its snapshot and committed entries, then call advance(ready).
 * Inputs (step, tick, propose…) may be called between ready() and advance(); ready() may not be called
 * again until advance(). Membership changes take effect inside advance(), when their entry is applied.
 */
export class RaftNode {
  private readonly raft: Raft;
  private previousSoft: SoftState;
  private previousHard: HardState;
  private outstanding = false;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.previousSoft = this.raft.softState();
    this.previousHard = this.raft.hardState();
  }

  get id(): number {
    return this.raft.id;
  }

  /** Advances the logical clock by one tick (heartbeats, election timeouts, check-quorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (tests and operator tooling). No-op on the leader or a non-voter. */
  campaign(): void {
    this.raft.hup(false);
  }

  /** Handles a message from a peer. Messages addressed to another node are a caller bug. */
  step(message: Message): void {
    invariant(message.to === this.raft.id, () => `node ${this.raft.id} was handed a message for node ${message.to}`);
    this.raft.step(message);
  }

  /**
   * Appends `data` to the log (leader only). Throws NotLeaderError (with the known leader) or
   * ProposalDroppedError. The proposal is committed if and when an entry with the returned index and
   * term is applied; a different entry at that index means it was lost to a leadership change.
   */
  propose(data: Uint8Array): ProposalTicket {
    return this.raft.propose(data);
  }

  /** Proposes one membership change (leader only, one at a time). Same errors as propose(). */
  proposeConfChange(change: ConfChange): ProposalTicket {
    return this.raft.proposeConfChange(change);
  }

  /**
   * Requests a linearizable read. `context` must be unique in the group; it comes back in a ReadState of
   * a later Ready, whose index the state machine must reach before the read is served. On a follower the
   * request is forwarded to the leader; a request lost to a leadership change never comes back, so the
   * engine needs a deadline. Throws NotLeaderError when no leader is known.
   */
  readIndex(context: Uint8Array): void {
    this.raft.readIndex(context);
  }

  /** Hands leadership to voter `target` (leader only); proposals are refused until it completes or times out. */
  transferLeader(target: number): void {
    this.raft.transferLeader(target);
  }

  /** Tells the leader a snapshot send to `id` finished or failed. */
  reportSnapshot(id: number, succeeded: boolean): void {
    this.raft.reportSnapshot(id, succeeded);
  }

  /** Tells the leader `id` could not be reached. */
  reportUnreachable(id: number): void {
    this.raft.reportUnreachable(id);
  }

  /** Whether ready() has work (always false while a Ready is outstanding). */
  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    return (
      r.readHeartbeatPending ||
      r.proposalAppendsPending ||
      r.messages.length > 0 ||
      r.readStates.length > 0 ||
      r.log.unstable.entries.length > 0 ||
      r.log.unstable.snapshot !== undefined ||
      r.log.hasNextCommittedEntries() ||
      !sameSoftState(r.softState(), this.previousSoft) ||
      !sameHardState(r.hardState(), this.previousHard)
    );
  }

  /** Takes the pending batch of work. */
  ready(): Ready {
    invariant(!this.outstanding, () => `node ${this.raft.id}: ready() called twice without advance()`);
    const r = this.raft;
    r.flushReadHeartbeat();
    r.flushProposalAppends();
    const soft = r.softState();
    const hard = r.hardState();
    const entries = r.log.unstable.entries.slice();
    const snapshot = r.log.unstable.snapshot;
    const hardChanged = !sameHardState(hard, this.previousHard);
    const ready: Ready = {
      entries,
      committedEntries: r.log.nextCommittedEntries(r.config.committedBytesPerReadyMax),
      messages: r.messages,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hard.term !== this.previousHard.term || hard.vote !== this.previousHard.vote,
      ...(sameSoftState(soft, this.previousSoft) ? {} : { softState: soft }),
      ...(hardChanged ? { hardState: hard } : {}),
      ...(snapshot === undefined ? {} : { snapshot }),
    };
    r.messages = [];
    r.readStates = [];
    this.outstanding = true;
    return ready;
  }

  /** Acknowledges that `ready` was persisted, sent and applied. */
  advance(ready: Ready): void {
    invariant(this.outstanding, () => `node ${this.raft.id}: advance() without an outstanding ready()`);
    const log = this.raft.log;
    if (ready.softState !== undefined) this.previousSoft = ready.softState;
    if (ready.hardState !== undefined) this.previousHard = ready.hardState;
    if (ready.snapshot !== undefined) {
      log.unstable.stableSnapTo(ready.snapshot.metadata.index);
      log.appliedTo(ready.snapshot.metadata.index);
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) log.unstable.stableTo(lastEntry.index, lastEntry.term);
    const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      log.appliedTo(lastCommitted.index);
      this.raft.onEntriesApplied(ready.committedEntries);
    }
    this.outstanding = false;
  }

  /** The membership as of the applied index: store it with every snapshot taken now. */
  confState(): ConfState {
    return this.raft.tracker.confState();
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress = new Map<number, PeerProgressStatus>();
    if (r.role === 'leader') {
      for (const [id, pr] of r.tracker.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      role: r.role,
      leaderId: r.leaderId,
      leadTransferee: r.leadTransferee,
      confState: r.tracker.confState(),
      progress,
    };
  }

  /** Cheap accessors for hot paths (the simulator's checks). */
  get term(): number {
    return this.raft.term;
  }

  get role(): SoftState['role'] {
    return this.raft.role;
  }

  /** The commit index (cheap: for response headers and metrics; status() builds the full picture). */
  get commit(): number {
    return this.raft.log.committed;
  }

  get leaderId(): number {
    return this.raft.leaderId;
  }
}
