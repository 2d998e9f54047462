/**
 * Typed errors of the Raft core. Expected conditions (not leader, proposal dropped, compacted log) are
 * distinct classes with a stable `code`, so the engine can map each to a gRPC status without parsing text.
 * InvariantError means a bug or corrupted state: the engine should stop the group, never retry.
 */

/** Stable machine-readable codes, one per error class. */
export type RaftErrorCode =
  | 'NOT_LEADER'
  | 'PROPOSAL_DROPPED'
  | 'COMPACTED'
  | 'UNAVAILABLE'
  | 'SNAPSHOT_OUT_OF_DATE'
  | 'SNAPSHOT_TEMPORARILY_UNAVAILABLE'
  | 'INVALID_CONFIG'
  | 'INVARIANT';

/** Base class of every error thrown by src/raft. */
export class RaftError extends Error {
  readonly code: RaftErrorCode;

  constructor(code: RaftErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The request needs the leader and this node is not it. `leaderId` is the leader this node knows of, or 0. */
export class NotLeaderError extends RaftError {
  readonly leaderId: number;

  constructor(nodeId: number, leaderId: number, what: string) {
    const known = leaderId === 0 ? 'no leader is known' : `the leader is node ${leaderId}`;
    super('NOT_LEADER', `Cannot ${what} on node ${nodeId}: it is not the leader (${known})`);
    this.leaderId = leaderId;
  }
}

/** Why the leader refused a proposal or read; all are transient except `entryTooLarge` and `invalidConfChange`. */
export type DropReason =
  | 'entryTooLarge'
  | 'uncommittedBytesExceeded'
  | 'leaderTransferInProgress'
  | 'confChangePending'
  | 'invalidConfChange'
  | 'readIndexQueueFull';

/** The leader refused a proposal or a read request; nothing was appended. */
export class ProposalDroppedError extends RaftError {
  readonly reason: DropReason;

  constructor(reason: DropReason, detail: string) {
    super('PROPOSAL_DROPPED', `Proposal dropped (${reason}): ${detail}`);
    this.reason = reason;
  }
}

/** Storage: the requested index is at or before the last snapshot, its entry is gone. */
export class CompactedError extends RaftError {
  constructor(index: number, firstIndex: number) {
    super('COMPACTED', `Log index ${index} is compacted: the first available index is ${firstIndex}`);
  }
}

/** Storage: the requested index is beyond the stored log. */
export class UnavailableError extends RaftError {
  constructor(index: number, lastIndex: number) {
    super('UNAVAILABLE', `Log index ${index} is not available: the last stored index is ${lastIndex}`);
  }
}

/** Storage: a snapshot at or before the current one was offered. */
export class SnapshotOutOfDateError extends RaftError {
  constructor(index: number, currentIndex: number) {
    super('SNAPSHOT_OUT_OF_DATE', `Snapshot at index ${index} is out of date: storage already has a snapshot at ${currentIndex}`);
  }
}

/** Storage: no snapshot can be produced right now; the leader will retry later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor(detail: string) {
    super('SNAPSHOT_TEMPORARILY_UNAVAILABLE', `Snapshot temporarily unavailable: ${detail}`);
  }
}

/** A configuration value is outside its allowed range. */
export class ConfigError extends RaftError {
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

/** An internal invariant failed: a bug or corrupted storage. The group must stop. */
export class InvariantError extends RaftError {
  constructor(message: string) {
    super('INVARIANT', `Raft invariant violated: ${message}`);
  }
}
