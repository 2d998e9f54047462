/**
 * Public data types of the logdb: what the engine hands to save() and what open() reports.
 */
import type { ConfState, Entry, HardState, SnapshotMetadata } from '../raft/index.js';

/** Snapshot metadata plus the engine's small, opaque descriptor of the snapshot (for example a file name). */
export interface SnapshotRecord extends SnapshotMetadata {
  /** At most DESCRIPTOR_BYTES_MAX bytes; returned as `data` by the group view's snapshot(). */
  readonly descriptor?: Uint8Array;
}

/**
 * What one group persists in one engine round (its Ready), applied in this order: `snapshot` (received
 * from the leader: replaces the whole log), then `entries` (a conflicting suffix is truncated first),
 * then `hardState`.
 */
export interface GroupUpdate {
  readonly groupId: number;
  readonly snapshot?: SnapshotRecord;
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
}

/** A snapshot the local state machine took at applied index `index` (entries are kept until compact()). */
export interface LocalSnapshot {
  readonly index: number;
  readonly confState: ConfState;
  readonly descriptor?: Uint8Array;
}

/** The torn or corrupt tail that recovery cut off the last segment. */
export interface TailTruncation {
  /** Path of the segment file. */
  readonly segment: string;
  /** Where the file now ends: after the last batch whose commit record is intact (0 if the segment was removed). */
  readonly offset: number;
  readonly truncatedBytes: number;
  /** Why replay stopped, e.g. "checksum mismatch" or "incomplete batch (no commit record)". */
  readonly reason: string;
  /** True when the whole segment was removed because not even its first batch (its checkpoint) was complete. */
  readonly segmentRemoved: boolean;
}

/** What open() found and did. */
export interface RecoveryReport {
  /** Number of segment files replayed. */
  readonly segmentsReplayed: number;
  /** Segments before a gap in the numbering (left over from an interrupted deletion) that were removed unread. */
  readonly staleSegmentsRemoved: readonly string[];
  /** Groups with state after replay. */
  readonly groups: number;
  /** Present when a torn or corrupt tail was truncated away: a warning worth logging. */
  readonly truncation?: TailTruncation;
}

/** Counters for diagnostics and tests. */
export interface LogDBStats {
  readonly writes: number;
  readonly syncs: number;
  readonly bytesWritten: number;
  readonly activeSegment: number;
  readonly segments: number;
  readonly cachedBytes: number;
  readonly groups: number;
}
