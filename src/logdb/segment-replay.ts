/**
 * Replay of one segment's records into the groups' state. Records are held back until the commit record
 * that closes their batch, then applied together: a batch without its commit record was never
 * acknowledged and is dropped whole. Records passed their checksum, so anything that contradicts the log
 * here is corruption (or a bug), reported as DecodeError and turned into CorruptLogError with the file
 * and offset by the caller.
 */
import { DecodeError, type GroupCheckpoint, type WalRecord } from './codec.js';
import { FORMAT_VERSION } from './constants.js';
import { GroupState, type CacheAccounting, type RecordLocation } from './group-state.js';

/** How a segment's replay ended. */
export interface SegmentOutcome {
  /** Offset of the first bad record, if replay stopped at one. */
  readonly badAt: number | undefined;
  /** End of the last complete batch: everything after it is dropped. */
  readonly committedEnd: number;
  readonly reason: string;
}

type OperationRecord = Exclude<WalRecord, { kind: 'segmentStart' | 'checkpoint' | 'commit' }>;

export class SegmentReplay {
  private expectedCheckpoints: number | undefined;
  private readonly checkpointed = new Set<number>();
  private batch: { record: WalRecord; location: RecordLocation }[] = [];

  private readonly groups: Map<number, GroupState>;
  private readonly cache: CacheAccounting;
  /** This is the first replayed segment: its checkpoint creates the groups. */
  private readonly first: boolean;

  constructor(
    readonly segment: number,
    context: { groups: Map<number, GroupState>; cache: CacheAccounting; first: boolean },
  ) {
    this.groups = context.groups;
    this.cache = context.cache;
    this.first = context.first;
  }

  get checkpointComplete(): boolean {
    return this.expectedCheckpoints !== undefined && this.checkpointed.size === this.expectedCheckpoints;
  }

  /** Takes the next record; returns true when it was a commit record and its batch has been applied. */
  read(record: WalRecord, location: RecordLocation): boolean {
    // Checked at once, not at the commit: a segment of another format must not pass for a torn one.
    if (record.kind === 'segmentStart' && record.version !== FORMAT_VERSION) throw new DecodeError(`format version ${record.version}, expected ${FORMAT_VERSION}`);
    if (record.kind !== 'commit') {
      this.batch.push({ record, location });
      return false;
    }
    if (record.recordCount !== this.batch.length) throw new DecodeError(`commit record counts ${record.recordCount} records, the batch has ${this.batch.length}`);
    const batch = this.batch;
    this.batch = [];
    for (const { record: r, location: l } of batch) this.apply(r, l);
    if (!this.checkpointComplete) throw new DecodeError('the first batch of the segment is not its complete checkpoint');
    return true;
  }

  private apply(record: WalRecord, location: RecordLocation): void {
    if (record.kind === 'commit') throw new DecodeError('nested commit record');
    if (this.expectedCheckpoints === undefined) return this.start(record);
    if (!this.checkpointComplete) {
      if (record.kind !== 'checkpoint') throw new DecodeError(`${record.kind} record inside the segment's checkpoint`);
      return this.checkpoint(record.groupId, record.checkpoint);
    }
    if (record.kind === 'segmentStart' || record.kind === 'checkpoint') throw new DecodeError(`${record.kind} record after the segment's checkpoint`);
    applyOperation(this.groups, this.cache, record, location);
  }

  private start(record: WalRecord): void {
    if (record.kind !== 'segmentStart') throw new DecodeError(`segment starts with a ${record.kind} record`);
    if (record.version !== FORMAT_VERSION) throw new DecodeError(`format version ${record.version}, expected ${FORMAT_VERSION}`);
    if (record.segment !== this.segment) throw new DecodeError(`segment header says segment ${record.segment}, the file name says ${this.segment}`);
    this.expectedCheckpoints = record.groupCount;
    this.verifyGroupSet();
  }

  private checkpoint(groupId: number, checkpoint: GroupCheckpoint): void {
    if (this.checkpointed.has(groupId)) throw new DecodeError(`two checkpoints of group ${groupId}`);
    this.checkpointed.add(groupId);
    if (this.first) {
      const group = new GroupState(groupId, this.cache);
      group.restore(checkpoint);
      this.groups.set(groupId, group);
      return;
    }
    const group = this.groups.get(groupId);
    if (group === undefined) throw new DecodeError(`checkpoint of group ${groupId}, which the replayed log does not have`);
    const difference = checkpointDifference(group.checkpoint(), checkpoint);
    if (difference !== undefined) throw new DecodeError(`checkpoint of group ${groupId} disagrees with the replayed log: ${difference}`);
    this.verifyGroupSet();
  }

  /** Once a later segment's checkpoint is complete, it must name exactly the replayed groups. */
  private verifyGroupSet(): void {
    if (this.first || !this.checkpointComplete || this.groups.size === this.checkpointed.size) return;
    const absent = [...this.groups.keys()].filter((id) => !this.checkpointed.has(id));
    throw new DecodeError(`checkpoint lacks groups ${absent.join(', ')} of the replayed log`);
  }
}

/** Describes the first field where a replayed group differs from its checkpoint, if any. */
function checkpointDifference(replayed: GroupCheckpoint, stored: GroupCheckpoint): string | undefined {
  const pairs: [string, number, number][] = [
    ['offset', replayed.offset, stored.offset],
    ['offset term', replayed.offsetTerm, stored.offsetTerm],
    ['last index', replayed.lastIndex, stored.lastIndex],
    ['term', replayed.hardState.term, stored.hardState.term],
    ['vote', replayed.hardState.vote, stored.hardState.vote],
    ['commit', replayed.hardState.commit, stored.hardState.commit],
    ['snapshot index', replayed.snapshot.index, stored.snapshot.index],
    ['snapshot term', replayed.snapshot.term, stored.snapshot.term],
  ];
  for (const [name, a, b] of pairs) if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) return `${name} ${a} replayed, ${b} stored`;
  return undefined;
}

/** Applies a group operation, checking it against the log as the live logdb did before writing it. */
function applyOperation(groups: Map<number, GroupState>, cache: CacheAccounting, record: OperationRecord, location: RecordLocation): void {
  const { groupId } = record;
  if (record.kind === 'removeGroup') {
    groups.get(groupId)?.dropLog();
    groups.delete(groupId);
    return;
  }
  let group = groups.get(groupId);
  if (group === undefined) {
    group = new GroupState(groupId, cache);
    groups.set(groupId, group);
  }
  const where = `group ${groupId} (log ${group.offset + 1}..${group.lastIndex}, snapshot ${group.snapshot.index})`;
  switch (record.kind) {
    case 'entries':
      if (record.firstIndex <= group.offset || record.firstIndex > group.lastIndex + 1) throw new DecodeError(`entries at ${record.firstIndex} do not fit ${where}`);
      group.append(record.firstIndex, record.terms, location);
      return;
    case 'hardState':
      group.hardState = record.hardState;
      return;
    case 'snapshot':
      if (record.snapshot.index <= group.snapshot.index) throw new DecodeError(`snapshot at ${record.snapshot.index} is not newer than ${where}`);
      group.applySnapshot(record.snapshot);
      return;
    case 'createSnapshot': {
      const { index, term } = record.snapshot;
      if (index <= group.snapshot.index || index < group.offset || index > group.lastIndex) throw new DecodeError(`snapshot at ${index} does not fit ${where}`);
      checkTerm(group, index, term, where);
      group.snapshot = record.snapshot;
      return;
    }
    case 'compact':
      if (record.index <= group.offset || record.index > group.lastIndex || record.index > group.snapshot.index) throw new DecodeError(`compaction to ${record.index} does not fit ${where}`);
      checkTerm(group, record.index, record.term, where);
      group.compact(record.index, record.term);
      return;
  }
}

/** A record's term for `index` must match the log's (unknown terms of missing entries are accepted). */
function checkTerm(group: GroupState, index: number, term: number, where: string): void {
  const known = group.termAt(index);
  if (!Number.isNaN(known) && known !== term) throw new DecodeError(`term ${term} of index ${index} differs from ${known} in ${where}`);
}
