import { applyToConfState, type ConfChange } from './confchange.js';
import { Progress } from './progress.js';
import type { ConfState } from './types.js';

/** The outcome of counting votes (or read acknowledgements) against the voters. */
export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * Membership plus, on the leader, the replication progress of every member; on candidates, the votes
 * received. Quorum arithmetic lives here: a majority of voters, learners never count.
 */
export class ProgressTracker {
  voters: Set<number> = new Set();
  /** committed()'s buffer, one slot per voter. */
  private matchScratch = new Float64Array(0);
  learners: Set<number> = new Set();
  readonly progress: Map<number, Progress> = new Map();
  readonly votes: Map<number, boolean> = new Map();
  private readonly maxInflight: number;

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  /** Sets the membership, creating progress for new members (starting at `nextIndex`) and dropping old ones. */
  setConfState(conf: ConfState, nextIndex: number): void {
    this.voters = new Set(conf.voters);
    this.learners = new Set(conf.learners);
    for (const id of [...this.progress.keys()]) {
      if (!this.voters.has(id) && !this.learners.has(id)) this.progress.delete(id);
    }
    for (const id of [...conf.voters, ...conf.learners]) {
      const existing = this.progress.get(id);
      if (existing === undefined) {
        const pr = new Progress(nextIndex, this.maxInflight, this.learners.has(id));
        // A new member counts as active so check-quorum does not depose the leader before it is heard from.
        pr.recentActive = true;
        this.progress.set(id, pr);
      } else {
        existing.isLearner = this.learners.has(id);
      }
    }
  }

  /** Forgets all replication state (a new term): every peer starts probing after `lastIndex`. */
  resetProgress(lastIndex: number, selfId: number): void {
    for (const [id, old] of this.progress) {
      const pr = new Progress(lastIndex + 1, this.maxInflight, old.isLearner);
      if (id === selfId) pr.match = lastIndex;
      this.progress.set(id, pr);
    }
  }

  /** Applies one membership change. */
  applyConfChange(change: ConfChange, nextIndex: number): void {
    this.setConfState(applyToConfState(this.confState(), change), nextIndex);
  }

  confState(): ConfState {
    return {
      voters: [...this.voters].sort((a, b) => a - b),
      learners: [...this.learners].sort((a, b) => a - b),
    };
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** A single voter (learners do not matter): it can decide everything alone. */
  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  /**
   * The largest index replicated on a quorum of voters. A leader asks on every proposal and every append
   * response, so the voters' match indexes are ordered in a reused buffer by insertion (a handful of
   * values) instead of a fresh array and Array.prototype.sort, which allocated about 700 bytes a call.
   */
  committed(): number {
    const count = this.voters.size;
    if (count === 0) return 0;
    if (this.matchScratch.length !== count) this.matchScratch = new Float64Array(count);
    const matches = this.matchScratch;
    let filled = 0;
    for (const id of this.voters) {
      const match = this.progress.get(id)?.match ?? 0;
      // Descending order: shift the smaller values right, then place this one.
      let at = filled++;
      while (at > 0 && matches[at - 1]! < match) {
        matches[at] = matches[at - 1]!;
        at--;
      }
      matches[at] = match;
    }
    return matches[this.quorum() - 1]!;
  }

  /** Counts yes-answers among voters; `yes` lists the nodes that agreed, `no` those that refused. */
  result(yes: (id: number) => boolean | undefined): VoteResult {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const answer = yes(id);
      if (answer === true) granted++;
      else if (answer === false) rejected++;
    }
    const quorum = this.quorum();
    if (granted >= quorum) return 'won';
    if (this.voters.size - rejected < quorum) return 'lost';
    return 'pending';
  }

  /** Records the first vote from `id` in this election (later duplicates are ignored). */
  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** The result of the election so far. */
  tallyVotes(): VoteResult {
    return this.result((id) => this.votes.get(id));
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Whether a quorum of voters was active since the last check (the leader counts itself active). */
  quorumActive(selfId: number): boolean {
    return this.result((id) => id === selfId || this.progress.get(id)?.recentActive === true) === 'won';
  }

  isVoter(id: number): boolean {
    return this.voters.has(id);
  }

  isMember(id: number): boolean {
    return this.voters.has(id) || this.learners.has(id);
  }
}
