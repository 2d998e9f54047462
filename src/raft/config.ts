import { ConfigError } from './errors.js';
import {
  COMMITTED_BYTES_PER_READY_MAX_DEFAULT,
  ELECTION_TICKS_DEFAULT,
  ENTRY_BYTES_MAX_DEFAULT,
  HEARTBEAT_TICKS_DEFAULT,
  INFLIGHT_MESSAGES_MAX_DEFAULT,
  MESSAGE_BYTES_MAX_DEFAULT,
  PENDING_READ_INDEX_MAX_DEFAULT,
  UNCOMMITTED_BYTES_MAX_DEFAULT,
} from './limits.js';
import type { Random } from './prng.js';
import type { RaftStorage } from './storage.js';

/**
 * Deliberate bugs, for proving that the simulator's checkers can fail. Never set them outside tests.
 */
export interface UnsafeTestingKnobs {
  /** Commit an entry of an earlier term as soon as a quorum stores it (breaks the figure 8 rule). */
  readonly commitPriorTermEntries?: boolean;
  /** Grant votes without comparing logs (breaks the election restriction, so leaders may lack committed entries). */
  readonly skipVoteLogCheck?: boolean;
}

/** Options of one Raft node. Only id, storage and random are required. */
export interface RaftConfig {
  /** This node's id (>= 1). */
  readonly id: number;
  /** Where the log, hard state and snapshot are read from. */
  readonly storage: RaftStorage;
  /** The injected source of randomness (election timeouts). */
  readonly random: Random;
  /** Election timeout base in ticks; each timeout is drawn from [electionTicks, 2 × electionTicks). */
  readonly electionTicks?: number;
  /** Ticks between leader heartbeats; must be below electionTicks. */
  readonly heartbeatTicks?: number;
  /**
   * The index the state machine has already applied (durably) when the node starts, at least the storage's
   * snapshot index; entries up to it are not handed out again. Defaults to the snapshot index (the state
   * machine is restored from the snapshot and replays the log after it).
   */
  readonly applied?: number;
  /** A leader that has not heard from a quorum within an election timeout steps down; followers keep a leader lease. */
  readonly checkQuorum?: boolean;
  /** Run a pre-vote round before incrementing the term, so a partitioned node cannot inflate terms. */
  readonly preVote?: boolean;
  readonly inflightMessagesMax?: number;
  readonly messageBytesMax?: number;
  readonly entryBytesMax?: number;
  readonly uncommittedBytesMax?: number;
  readonly committedBytesPerReadyMax?: number;
  readonly pendingReadIndexMax?: number;
  readonly unsafe?: UnsafeTestingKnobs;
}

/** RaftConfig with every default filled in. */
export type ResolvedRaftConfig = Required<Omit<RaftConfig, 'applied' | 'unsafe'>> & {
  readonly applied: number | undefined;
  readonly unsafe: UnsafeTestingKnobs;
};

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`Invalid Raft config: ${name} is ${value}, expected an integer >= ${min}`);
  }
}

/** Fills defaults and checks ranges; throws ConfigError naming the bad field. */
export function resolveConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    id: config.id,
    storage: config.storage,
    random: config.random,
    electionTicks: config.electionTicks ?? ELECTION_TICKS_DEFAULT,
    heartbeatTicks: config.heartbeatTicks ?? HEARTBEAT_TICKS_DEFAULT,
    applied: config.applied,
    checkQuorum: config.checkQuorum ?? true,
    preVote: config.preVote ?? true,
    inflightMessagesMax: config.inflightMessagesMax ?? INFLIGHT_MESSAGES_MAX_DEFAULT,
    messageBytesMax: config.messageBytesMax ?? MESSAGE_BYTES_MAX_DEFAULT,
    entryBytesMax: config.entryBytesMax ?? ENTRY_BYTES_MAX_DEFAULT,
    uncommittedBytesMax: config.uncommittedBytesMax ?? UNCOMMITTED_BYTES_MAX_DEFAULT,
    committedBytesPerReadyMax: config.committedBytesPerReadyMax ?? COMMITTED_BYTES_PER_READY_MAX_DEFAULT,
    pendingReadIndexMax: config.pendingReadIndexMax ?? PENDING_READ_INDEX_MAX_DEFAULT,
    unsafe: config.unsafe ?? {},
  };
  requireInteger('id', resolved.id, 1);
  requireInteger('heartbeatTicks', resolved.heartbeatTicks, 1);
  requireInteger('electionTicks', resolved.electionTicks, resolved.heartbeatTicks + 1);
  requireInteger('inflightMessagesMax', resolved.inflightMessagesMax, 1);
  requireInteger('messageBytesMax', resolved.messageBytesMax, 1);
  requireInteger('entryBytesMax', resolved.entryBytesMax, 1);
  requireInteger('uncommittedBytesMax', resolved.uncommittedBytesMax, 1);
  requireInteger('committedBytesPerReadyMax', resolved.committedBytesPerReadyMax, 1);
  requireInteger('pendingReadIndexMax', resolved.pendingReadIndexMax, 1);
  if (resolved.applied !== undefined) requireInteger('applied', resolved.applied, 0);
  return resolved;
}
