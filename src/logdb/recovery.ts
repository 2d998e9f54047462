/**
 * Recovery: rebuilds every group's state by replaying the segments in order.
 *
 * Which segments: the longest run of consecutive segment numbers ending with the newest. A gap can only
 * be left by an interrupted deletion of obsolete segments (deletion removes a prefix, oldest first, and
 * only after every group's needed records are in later segments), so segments before a gap are stale and
 * are removed unread. Every segment starts with a checkpoint of all groups, so replay can start at any
 * segment: the first one's checkpoint creates the groups, later checkpoints are checked against the replay.
 *
 * Damage: a bad record, or records without the commit record that closes their batch, at the end of
 * the last segment are the torn tail of the batch in flight at the crash: the segment is truncated after
 * the last complete batch (reported), unless more bytes follow a bad record than one unsynced write can
 * leave, which means synced data is damaged. A bad record in any earlier segment, a record that contradicts the log, or an
 * entry that is needed but was in a missing segment refuses the start with CorruptLogError.
 */
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError, decodeRecord, parseFrame } from './codec.js';
import { UNSYNCED_BYTES_MAX } from './constants.js';
import { CorruptLogError } from './errors.js';
import type { CacheAccounting, GroupState } from './group-state.js';
import { SegmentReplay, type SegmentOutcome } from './segment-replay.js';
import { listSegments, segmentFileName } from './segment-files.js';
import type { RecoveryReport, TailTruncation } from './types.js';

/** The rebuilt state and the segments it lives in. */
export interface RecoveredLog {
  readonly groups: Map<number, GroupState>;
  /** Segment numbers kept, ascending. */
  readonly segments: number[];
  readonly report: RecoveryReport;
}

/** Splits segment numbers into the last consecutive run and the stale ones before it. */
export function splitContiguous(found: readonly number[]): { run: number[]; stale: number[] } {
  let start = found.length - 1;
  while (start > 0 && found[start - 1] === found[start]! - 1) start--;
  return { run: found.slice(Math.max(start, 0)), stale: found.slice(0, Math.max(start, 0)) };
}

/** Replays the WAL in `dir`, repairing a torn tail of the last segment. */
export function recoverLog(dir: string, cache: CacheAccounting): RecoveredLog {
  const { run, stale } = splitContiguous(listSegments(dir));
  const groups = new Map<number, GroupState>();
  const segments: number[] = [];
  let truncation: TailTruncation | undefined;
  for (let i = 0; i < run.length; i++) {
    const segment = run[i]!;
    const file = join(dir, segmentFileName(segment));
    const buffer = readFileSync(file);
    const outcome = replaySegment(new SegmentReplay(segment, { groups, cache, first: i === 0 }), buffer, file);
    if (outcome.committedEnd !== buffer.length) {
      if (i !== run.length - 1) throw new CorruptLogError(`${outcome.reason} in a segment that is not the last one`, { file, offset: outcome.badAt ?? outcome.committedEnd });
      // A segment without a complete first batch (its checkpoint) never acknowledged anything, but if it
      // is the first replayed one (and not segment 1), older segments were deleted after it was synced.
      const removable = i > 0 || segment === 1;
      truncation = repairTail(file, buffer.length, outcome, removable);
    }
    if (truncation?.segmentRemoved !== true) segments.push(segment);
  }
  verifyNoMissingEntries(groups, run[0]);
  for (const segment of stale) unlinkSync(join(dir, segmentFileName(segment)));
  if (stale.length > 0 || truncation?.segmentRemoved === true) fsyncDirSync(dir);
  const report: RecoveryReport = {
    segmentsReplayed: run.length,
    staleSegmentsRemoved: stale.map((s) => join(dir, segmentFileName(s))),
    groups: groups.size,
    ...(truncation === undefined ? {} : { truncation }),
  };
  return { groups, segments, report };
}

/** Walks the records of one segment until its end or its first bad record. */
function replaySegment(replay: SegmentReplay, buffer: Buffer, file: string): SegmentOutcome {
  let position = 0;
  let committedEnd = 0;
  while (position < buffer.length) {
    try {
      const frame = parseFrame(buffer, position);
      if (!frame.ok) return { badAt: position, committedEnd, reason: frame.reason };
      const record = decodeRecord(frame.type, frame.groupId, frame.payload);
      position += frame.totalBytes;
      if (replay.read(record, { segment: replay.segment, position: position - frame.totalBytes, length: frame.totalBytes })) committedEnd = position;
    } catch (error) {
      if (error instanceof DecodeError) throw new CorruptLogError(error.message, { file, offset: position });
      throw error;
    }
  }
  return { badAt: undefined, committedEnd, reason: 'incomplete batch (no commit record)' };
}

/** Cuts the torn tail off the last segment, or removes the segment if it has no complete batch. */
function repairTail(file: string, size: number, outcome: SegmentOutcome, removable: boolean): TailTruncation {
  const { badAt, committedEnd: offset, reason } = outcome;
  if (badAt !== undefined && size - badAt > UNSYNCED_BYTES_MAX) {
    throw new CorruptLogError(`${reason}, followed by ${size - badAt} bytes: more than one unsynced write (${UNSYNCED_BYTES_MAX} bytes) can leave, so acknowledged records may be damaged`, { file, offset: badAt });
  }
  if (offset === 0) {
    if (!removable) throw new CorruptLogError(`${reason}: the first replayed segment has no complete checkpoint`, { file, offset: badAt ?? 0 });
    unlinkSync(file);
    return { segment: file, offset, truncatedBytes: size, reason, segmentRemoved: true };
  }
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, offset);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { segment: file, offset, truncatedBytes: size - offset, reason, segmentRemoved: false };
}

function verifyNoMissingEntries(groups: ReadonlyMap<number, GroupState>, firstSegment: number | undefined): void {
  for (const [groupId, group] of groups) {
    const missing = group.missingEntries();
    if (missing === undefined) continue;
    throw new CorruptLogError(`group ${groupId} needs entries ${missing[0]}..${missing[1]}, which were in a segment before ${segmentFileName(firstSegment ?? 0)} that no longer exists`);
  }
}

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
