/**
 * Named defaults and hard bounds for the Raft core. Units are in the names: ticks are logical clock ticks
 * (the engine maps one tick to `--raft.rtt`, 50 ms by default), bytes are payload bytes.
 */

/** Heartbeat every tick by default (spec §8.1: heartbeat-rtt = 1). */
export const HEARTBEAT_TICKS_DEFAULT = 1;
/** Election timeout base; the actual timeout is drawn from [base, 2 × base) (spec §8.1: election-rtt = 20). */
export const ELECTION_TICKS_DEFAULT = 20;
/** At most this many append messages may be unacknowledged per follower in the replicate state. */
export const INFLIGHT_MESSAGES_MAX_DEFAULT = 256;
/** Upper bound on entry bytes in one append message (at least one entry is always sent). */
export const MESSAGE_BYTES_MAX_DEFAULT = 1024 * 1024;
/** A single proposal's data may not exceed this (spec §5.3 values fit with room for the command envelope). */
export const ENTRY_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/** Bytes of appended-but-unapplied proposals a leader accepts before refusing more (spec §8.5: 6 MiB). */
export const UNCOMMITTED_BYTES_MAX_DEFAULT = 6 * 1024 * 1024;
/** Upper bound on entry bytes handed to the application in one Ready. */
export const COMMITTED_BYTES_PER_READY_MAX_DEFAULT = 16 * 1024 * 1024;
/** Read requests a leader queues (awaiting a quorum heartbeat or its first commit) before refusing more. */
export const PENDING_READ_INDEX_MAX_DEFAULT = 4096;
/** A follower stuck in the snapshot state this many election timeouts is probed again (the snapshot was lost). */
export const SNAPSHOT_RETRY_ELECTION_TIMEOUTS = 2;
/** Accounting overhead added to each entry's data size when limiting message and Ready sizes. */
export const ENTRY_OVERHEAD_BYTES = 24;
/** No bound, for callers that want every entry in a range. */
export const NO_BYTES_LIMIT = Number.MAX_SAFE_INTEGER;
