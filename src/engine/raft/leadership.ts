/**
 * Handing Raft leadership away before a node stops (graceful shutdown, issue 8): for every group this
 * node leads, ask the most up-to-date active voter to take over, and wait until it has. Without this the
 * rest of the cluster only notices the departure after an election timeout, and writes stall that long.
 */
import type { RaftStatus } from "../../raft/index.js";

/** The part of a Raft group a hand-off needs. */
export interface TransferableGroup {
  readonly groupId: number;
  readonly node: {
    status(): RaftStatus;
    transferLeader(target: number): void;
    readonly leaderId: number;
  };
}

export interface HandOffOptions {
  /** This node's id. */
  readonly nodeId: number;
  /** Give up on groups still led here after this long (ms); their followers will elect a leader. */
  readonly timeoutMs: number;
  /** How often progress is checked (ms); the Raft tick is a good value. */
  readonly pollMs: number;
  /** Runs the Raft loop soon after a transfer was requested (its messages must be sent). */
  readonly schedule: () => void;
}

/** Outcome of a hand-off: groups whose leadership moved (to which node), and groups still led here. */
export interface HandOffResult {
  readonly moved: ReadonlyMap<number, number>;
  readonly kept: readonly number[];
}

/**
 * The voter to hand a group to: the active voter other than this node with the highest matched index
 * (the one that needs the fewest entries before it can campaign), or undefined when there is none.
 */
export function transferTarget(status: RaftStatus, nodeId: number): number | undefined {
  let best: { id: number; match: number } | undefined;
  for (const id of status.confState.voters) {
    const progress = status.progress.get(id);
    if (id === nodeId || !progress || progress.isLearner || !progress.recentActive) continue;
    if (!best || progress.match > best.match) best = { id, match: progress.match };
  }
  return best?.id;
}

/**
 * Moves leadership of every group in `groups` that this node leads to another voter. A transfer the core
 * aborted (it must finish within one election timeout) is asked again, possibly of another voter, until
 * `timeoutMs` passes. Never throws: a group that cannot be handed off is reported in `kept`.
 */
export async function handOffLeadership(groups: readonly TransferableGroup[], options: HandOffOptions): Promise<HandOffResult> {
  const moved = new Map<number, number>();
  const deadline = Date.now() + options.timeoutMs;
  // A group with no other voter (a single-node cluster) has no one to hand over to.
  let pending = groups.filter((group) => group.node.leaderId === options.nodeId && group.node.status().confState.voters.some((id) => id !== options.nodeId));
  while (pending.length > 0) {
    const still: TransferableGroup[] = [];
    for (const group of pending) {
      const status = group.node.status();
      if (status.role !== "leader") {
        // Stepped down. Right after, this node may not have heard from the new leader yet (leader 0):
        // keep polling until it has, so that the result names the node that took over.
        if (status.leaderId !== 0) moved.set(group.groupId, status.leaderId);
        else still.push(group);
        continue;
      }
      still.push(group);
      if (status.leadTransferee !== 0) continue; // a transfer is under way
      const target = transferTarget(status, options.nodeId);
      if (target === undefined) continue; // no voter is reachable now; it may be on the next poll
      try {
        group.node.transferLeader(target);
      } catch {
        // The group stepped down between status() and here: the next poll sees it.
      }
    }
    pending = still;
    if (pending.length === 0 || Date.now() >= deadline) break;
    options.schedule();
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
  // Out of time: a group no longer led here moved, even if its new leader is not known here yet (0).
  const kept: number[] = [];
  for (const group of pending) {
    const status = group.node.status();
    if (status.role === "leader") kept.push(group.groupId);
    else moved.set(group.groupId, status.leaderId);
  }
  return { moved, kept };
}
