/**
 * The engine interface the API layer talks to: every write is an asynchronous proposal answered after the
 * entry is applied locally, and every linearizable read waits on a read index.
 */
import type { armada } from "../proto/index.js";
import type { ApplyResult, TableStateMachine } from "../fsm/index.js";
import type { Cancellation } from "./cancellation.js";

/** A table as registered in the cluster's metadata. */
export interface TableInfo {
  readonly name: string;
  /** The table's Raft group id: 10001, 10002, ... allocated from the cluster-wide sequence. */
  readonly shardId: number;
}

/** What this node knows about a table's group, for response headers and Cluster/Status. */
export interface GroupStatus {
  readonly shardId: number;
  readonly replicaId: number;
  readonly term: number;
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

/** Options of a call that may wait: the signal fires on the caller's deadline or cancellation. */
export interface WaitOptions {
  readonly signal?: Cancellation;
}

/** One table on this node. */
/** Counters and sizes of one Raft group on this node, since the process started (log size: now). */
export interface RaftStats {
  /** Proposals this node appended to the group's log as its leader (its own and forwarded ones). */
  readonly proposals: number;
  /** Snapshots this node recorded for the group (each lets the log behind it be compacted). */
  readonly snapshots: number;
  /** Entries in the group's log on this node (after the last compaction). */
  readonly logEntries: number;
}

export interface TableHandle {
  readonly info: TableInfo;
  /** Current group status (cheap; called on every response). */
  status(): GroupStatus;
  /** Proposes one command; resolves with its result once the entry is applied on this node. */
  propose(command: armada.v1.ICommand, options?: WaitOptions): Promise<ApplyResult>;
  /** Linearizable barrier: resolves once this node has applied everything committed before the call. */
  readIndex(options?: WaitOptions): Promise<void>;
  /** Bytes the local replica's data files take on disk (Cluster/Status `dbSize`). */
  dataSizeBytes(): number;
  /** Raft activity of the local replica, for metrics; engines without Raft leave it undefined. */
  raftStats?(): RaftStats;
  /** The local replica, for serializable reads and snapshots. */
  readonly stateMachine: TableStateMachine;
  /** The table group's Raft log on this node, for Log/Replicate (engines without a log leave it undefined). */
  readonly log?: TableLog;
}

/** A table group's log entry as Log/Replicate ships it. */
export interface TableLogEntry {
  readonly index: number;
  /** An encoded mvcc Command, or empty for an entry without one (leader no-op, membership change). */
  readonly command: Uint8Array;
}

/** Read access to a table group's committed log. */
export interface TableLog {
  /** First index still stored (entries before it were compacted away). */
  firstIndex(): number;
  /** Last index stored (committed or not). */
  lastIndex(): number;
  /** Entries in [lo, hi), at most `maxBytes` in total but at least one when lo < hi. */
  entries(lo: number, hi: number, maxBytes: number): TableLogEntry[];
}

/** All tables of this node and their registry. */
export interface Engine {
  readonly nodeId: number;
  /** Opens storage and starts every registered table before the node reports ready. */
  start(): Promise<void>;
  /** Stops accepting work, finishes in-flight applies and closes storage. */
  close(): Promise<void>;
  createTable(name: string, options?: WaitOptions): Promise<TableInfo>;
  deleteTable(name: string, options?: WaitOptions): Promise<void>;
  /** Registered tables sorted by name. */
  listTables(): TableInfo[];
  /** The running table of that name; throws TableNotFoundError. */
  table(name: string): TableHandle;
  /**
   * Replaces the contents of a table (created if absent) with the proposed `batches` (PUT_BATCH commands),
   * atomically for readers (spec §11.3). Engines without restore support leave it undefined.
   */
  restoreTable?(name: string, batches: AsyncIterable<armada.v1.ICommand>, options?: WaitOptions): Promise<TableInfo>;
}
