/**
 * Data types shared by the Raft core, its storage and the engine that drives it.
 *
 * Everything here is plain data: the engine encodes messages for the wire and entries for the log itself.
 * Node ids, terms and indices are JavaScript safe integers; node id 0 means "none".
 */

/** The id that means "no node" (no leader known, no vote cast). Real node ids are >= 1. */
export const NO_NODE = 0;

/** A normal entry carries application data (empty data = the leader's no-op); a confChange entry carries an encoded ConfChange. */
export type EntryType = 'normal' | 'confChange';

/** One log entry. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The state that must be on stable storage before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** The node voted for in `term`, or NO_NODE. */
  readonly vote: number;
  readonly commit: number;
}

/** The role a node plays in its current term. */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state the engine may want to observe (never persisted). */
export interface SoftState {
  /** The leader known in the current term, or NO_NODE. */
  readonly leaderId: number;
  readonly role: Role;
}

/** The group's membership: voters count toward quorums, learners only receive the log. */
export interface ConfState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

/** Describes the log prefix a snapshot replaces. */
export interface SnapshotMetadata {
  /** Index of the last entry covered by the snapshot. */
  readonly index: number;
  /** Term of that entry. */
  readonly term: number;
  /** Membership as of `index`. */
  readonly confState: ConfState;
}

/** A state machine snapshot: opaque application data plus the log position and membership it reflects. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** The answer to a readIndex request: once the state machine has applied `index`, reads for `context` are linearizable. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/** Fields every network message carries. `term` is 0 only for readIndex requests, which are valid in any term. */
interface MessageBase {
  readonly from: number;
  readonly to: number;
  readonly term: number;
}

/** Leader → follower: entries following (index, logTerm), plus the leader's commit index. */
export interface AppendMessage extends MessageBase {
  readonly type: 'append';
  readonly index: number;
  readonly logTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Follower → leader. On success `index` is the follower's last index matching the leader.
 * On reject, `index` echoes the rejected append's index and (rejectHint, logTerm) point at the
 * follower's largest entry that might match, so the leader can skip a whole term per round trip.
 */
export interface AppendResponseMessage extends MessageBase {
  readonly type: 'appendResponse';
  readonly index: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly logTerm: number;
}

/** Candidate → voter: a (pre-)vote request carrying the candidate's last log position. */
export interface CampaignMessage extends MessageBase {
  readonly type: 'vote' | 'preVote';
  readonly index: number;
  readonly logTerm: number;
  /** True when the campaign follows a leader transfer: voters then ignore their leader lease. */
  readonly transfer: boolean;
}

/** Voter → candidate. */
export interface CampaignResponseMessage extends MessageBase {
  readonly type: 'voteResponse' | 'preVoteResponse';
  readonly reject: boolean;
}

/** Leader → follower: liveness, the commit index the follower can safely use, and the newest pending read's context. */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly context?: Uint8Array;
}

/** Follower → leader: echoes the heartbeat's context so the leader can confirm pending reads. */
export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: 'heartbeatResponse';
  readonly context?: Uint8Array;
}

/** Leader → follower whose needed entries were compacted away. */
export interface SnapshotMessage extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Leader → transfer target: campaign now, without waiting for an election timeout. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow';
}

/** Follower → leader: a forwarded readIndex request. */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'readIndex';
  readonly context: Uint8Array;
}

/** Leader → follower: the confirmed read index for a forwarded request. */
export interface ReadIndexResponseMessage extends MessageBase {
  readonly type: 'readIndexResponse';
  readonly index: number;
  readonly context: Uint8Array;
}

/** Every message one Raft node sends to another. */
export type Message =
  | AppendMessage
  | AppendResponseMessage
  | CampaignMessage
  | CampaignResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage;

/** The message type tags. */
export type MessageType = Message['type'];

/** The message interface for one type tag (works for interfaces that carry several tags). */
export type MessageOf<K extends MessageType> = Message extends infer M
  ? M extends { readonly type: infer T }
    ? K extends T
      ? M
      : never
    : never
  : never;

/**
 * A batch of work for the engine. Handle it in this order: persist `snapshot`, `entries` and
 * `hardState` (durably, if `mustSync`); then send `messages`; then install `snapshot` in the state
 * machine and apply `committedEntries`; then call `advance(ready)`.
 */
export interface Ready {
  /** Present only when it changed since the last Ready. */
  readonly softState?: SoftState;
  /** Present only when it changed since the last Ready; persist before sending messages. */
  readonly hardState?: HardState;
  /** Entries to append to stable storage (they may overwrite a conflicting suffix). */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to persist and install. */
  readonly snapshot?: Snapshot;
  /** Entries known to be committed, in order, to apply to the state machine. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send after the persistence above has completed. */
  readonly messages: readonly Message[];
  /** Answers to readIndex requests made on this node. */
  readonly readStates: readonly ReadState[];
  /** True when the hard state's term or vote changed or entries were added: these need an fsync. */
  readonly mustSync: boolean;
}

/** Where a proposal landed in the leader's log; it is committed only if this (index, term) is later applied. */
export interface ProposalTicket {
  readonly index: number;
  readonly term: number;
}

/** The leader's view of one peer's replication. */
export interface PeerProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

/** A read-only picture of a node, for diagnostics and tests. */
export interface RaftStatus {
  readonly id: number;
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly role: Role;
  readonly leaderId: number;
  readonly leadTransferee: number;
  readonly confState: ConfState;
  /** Filled on the leader only. */
  readonly progress: ReadonlyMap<number, PeerProgressStatus>;
}
