import { Inflights } from './inflights.js';

/** How the leader replicates to one peer. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * The leader's record of one peer.
 *
 * - probe: the match point is unknown; send one append at a time and wait for the answer.
 * - replicate: the peer is keeping up; stream appends optimistically, bounded by the inflights window.
 * - snapshot: the peer needs entries we compacted; a snapshot is on its way, send nothing else.
 */
export class Progress {
  /** Highest index known to be replicated on the peer. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = 'probe';
  /** While in the snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Whether the peer was heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: an append was sent and not yet answered. */
  probeSent = false;
  /** Ticks spent in the snapshot state, so a lost snapshot is eventually retried. */
  snapshotTicks = 0;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the peer has at least the snapshot: resume just after it.
    const resumeAfter = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.resetState('probe');
    this.next = resumeAfter + 1;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to `index` arrived; returns whether it taught us anything new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append at `rejected` arrived with the follower's hint. Returns false when the
   * rejection is stale (an answer to an older message) and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether sending to this peer must wait. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
