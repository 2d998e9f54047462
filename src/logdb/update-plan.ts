/**
 * Checks updates before anything is written. A batch is validated as a whole (against a shadow of each
 * group's log bounds, so several updates of one group in a batch see each other) and then applied as a
 * whole: a rejected batch changes nothing. Raft conditions throw the same errors, with the same messages,
 * as MemoryStorage; malformed input throws InvalidUpdateError.
 */
import { CompactedError, InvariantError, SnapshotOutOfDateError, type ConfState, type Entry, type HardState } from '../raft/index.js';
import { ENTRIES_PREFIX_BYTES, ENTRY_HEADER_BYTES, type StoredSnapshot } from './codec.js';
import { BODY_PREFIX_BYTES, CONF_MEMBERS_MAX, DESCRIPTOR_BYTES_MAX, RECORD_BODY_BYTES_MAX } from './constants.js';
import { InvalidUpdateError } from './errors.js';
import type { GroupState } from './group-state.js';
import type { GroupUpdate, LocalSnapshot, SnapshotRecord } from './types.js';

/** The largest entry data that fits in one entries record. */
export const ENTRY_DATA_BYTES_MAX = RECORD_BODY_BYTES_MAX - BODY_PREFIX_BYTES - ENTRIES_PREFIX_BYTES - ENTRY_HEADER_BYTES;

/** A validated group update: only the entries that will really be appended remain. */
export interface PlannedUpdate {
  readonly groupId: number;
  readonly snapshot?: StoredSnapshot;
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
}

/** The part of a group's log that validation looks at. */
interface Bounds {
  offset: number;
  lastIndex: number;
  snapshotIndex: number;
}

export function checkCount(value: unknown, what: string): number {
  if (!isCount(value)) throw new InvalidUpdateError(`${what} must be a non-negative safe integer, got ${String(value)}`);
  return value;
}

function checkBytes(value: unknown, what: string, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidUpdateError(`${what} must be a Uint8Array`);
  if (value.byteLength > max) throw new InvalidUpdateError(`${what} has ${value.byteLength} bytes, more than the limit of ${max}`);
  return value;
}

function checkConfState(conf: ConfState | undefined, what: string): ConfState {
  if (conf === undefined || !Array.isArray(conf.voters) || !Array.isArray(conf.learners)) throw new InvalidUpdateError(`${what} needs voters and learners arrays`);
  if (conf.voters.length + conf.learners.length > CONF_MEMBERS_MAX) throw new InvalidUpdateError(`${what} has more than ${CONF_MEMBERS_MAX} members`);
  conf.voters.forEach((id) => checkCount(id, `${what} voter`));
  conf.learners.forEach((id) => checkCount(id, `${what} learner`));
  return { voters: [...conf.voters], learners: [...conf.learners] };
}

function checkHardState(hs: HardState, groupId: number): HardState {
  if (isCount(hs.term) && isCount(hs.vote) && isCount(hs.commit)) return { term: hs.term, vote: hs.vote, commit: hs.commit };
  checkCount(hs.term, `group ${groupId} hard state term`);
  checkCount(hs.vote, `group ${groupId} hard state vote`);
  checkCount(hs.commit, `group ${groupId} hard state commit`);
  return { term: hs.term, vote: hs.vote, commit: hs.commit };
}

/** A snapshot in stored form; the descriptor is copied so a caller reusing its buffer cannot change the log. */
export function storedSnapshot(index: number, term: number, confState: ConfState, descriptor: Uint8Array | undefined, what: string): StoredSnapshot {
  checkCount(index, `${what} index`);
  checkCount(term, `${what} term`);
  const bytes = descriptor === undefined ? new Uint8Array(0) : Uint8Array.from(checkBytes(descriptor, `${what} descriptor`, DESCRIPTOR_BYTES_MAX));
  return { index, term, confState: checkConfState(confState, what), descriptor: bytes };
}

/** Entries must be well-formed, fit in a record and have consecutive indices. */
function checkEntries(entries: readonly Entry[], groupId: number): void {
  if (!Array.isArray(entries)) throw new InvalidUpdateError(`group ${groupId} entries must be an array`);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    // Every save checks every entry: the valid case is decided without building the message text (which
    // cost a string per entry on the write path); only an invalid entry goes through the named checks.
    if (isValidEntry(e, i === 0 ? undefined : entries[i - 1]!)) continue;
    const what = `group ${groupId} entry ${i}`;
    checkCount(e.index, `${what} index`);
    checkCount(e.term, `${what} term`);
    if (e.type !== 'normal' && e.type !== 'confChange') throw new InvalidUpdateError(`${what} has unknown type ${String(e.type)}`);
    checkBytes(e.data, `${what} data`, ENTRY_DATA_BYTES_MAX);
    if (i > 0 && e.index !== entries[i - 1]!.index + 1) throw new InvalidUpdateError(`${what} has index ${e.index} after ${entries[i - 1]!.index}: entries must be consecutive`);
  }
}

function isValidEntry(e: Entry, previous: Entry | undefined): boolean {
  const data: unknown = e.data; // read once, as the named checks do
  return (
    isCount(e.index) &&
    isCount(e.term) &&
    (e.type === 'normal' || e.type === 'confChange') &&
    data instanceof Uint8Array &&
    data.byteLength <= ENTRY_DATA_BYTES_MAX &&
    (previous === undefined || e.index === previous.index + 1)
  );
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** MemoryStorage.append's rules: skip entries covered by the snapshot, refuse a gap after the last index. */
function freshEntries(entries: readonly Entry[], bounds: Bounds): readonly Entry[] {
  if (entries.length === 0) return entries;
  const first = bounds.offset + 1;
  const last = entries[0]!.index + entries.length - 1;
  if (last < first) return [];
  const fresh = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
  if (fresh[0]!.index > bounds.lastIndex + 1) {
    throw new InvariantError(`storage append at index ${fresh[0]!.index} leaves a gap after last index ${bounds.lastIndex}`);
  }
  bounds.lastIndex = last;
  return fresh;
}

/** Validates a save() batch against the current groups; throws before anything is applied. */
export function planBatch(batch: readonly GroupUpdate[], lookup: (groupId: number) => GroupState | undefined): PlannedUpdate[] {
  if (!Array.isArray(batch)) throw new InvalidUpdateError('save() takes an array of group updates');
  const shadows = new Map<number, Bounds>();
  return batch.map((update) => {
    const groupId = checkCount(update.groupId, 'group id');
    let bounds = shadows.get(groupId);
    if (bounds === undefined) {
      const group = lookup(groupId);
      bounds = { offset: group?.offset ?? 0, lastIndex: group?.lastIndex ?? 0, snapshotIndex: group?.snapshot.index ?? 0 };
      shadows.set(groupId, bounds);
    }
    let snapshot: StoredSnapshot | undefined;
    if (update.snapshot !== undefined) snapshot = planReceivedSnapshot(update.snapshot, bounds, groupId);
    let entries: readonly Entry[] | undefined;
    if (update.entries !== undefined) {
      checkEntries(update.entries, groupId);
      entries = freshEntries(update.entries, bounds);
    }
    const hardState = update.hardState === undefined ? undefined : checkHardState(update.hardState, groupId);
    return { groupId, snapshot, entries, hardState };
  });
}

function planReceivedSnapshot(record: SnapshotRecord, bounds: Bounds, groupId: number): StoredSnapshot {
  const snapshot = storedSnapshot(record.index, record.term, record.confState, record.descriptor, `group ${groupId} snapshot`);
  if (snapshot.index <= bounds.snapshotIndex) throw new SnapshotOutOfDateError(snapshot.index, bounds.snapshotIndex);
  bounds.offset = bounds.lastIndex = bounds.snapshotIndex = snapshot.index;
  return snapshot;
}

/** MemoryStorage.createSnapshot's rules; returns the snapshot with the term of its index. */
export function planLocalSnapshot(group: GroupState | undefined, groupId: number, local: LocalSnapshot): StoredSnapshot {
  const index = checkCount(local.index, `group ${groupId} snapshot index`);
  const current = group?.snapshot.index ?? 0;
  const lastIndex = group?.lastIndex ?? 0;
  const offset = group?.offset ?? 0;
  if (index <= current) throw new SnapshotOutOfDateError(index, current);
  if (index > lastIndex) throw new InvariantError(`snapshot index ${index} is beyond the last index ${lastIndex}`);
  if (index < offset) throw new CompactedError(index, offset + 1);
  return storedSnapshot(index, group!.termAt(index), local.confState, local.descriptor, `group ${groupId} snapshot`);
}

/** MemoryStorage.compact's rules; returns the term of the new compaction point. */
export function planCompact(group: GroupState | undefined, groupId: number, compactIndex: number): number {
  checkCount(compactIndex, `group ${groupId} compact index`);
  const offset = group?.offset ?? 0;
  const lastIndex = group?.lastIndex ?? 0;
  if (compactIndex <= offset) throw new CompactedError(compactIndex, offset + 1);
  // A follower that needs a dropped entry is sent the snapshot, so the snapshot must cover all of them.
  const snapshotIndex = group?.snapshot.index ?? 0;
  if (compactIndex > snapshotIndex) throw new InvariantError(`compact(${compactIndex}) is beyond the latest snapshot at ${snapshotIndex}`);
  if (compactIndex > lastIndex) throw new InvariantError(`compact(${compactIndex}) is beyond the last index ${lastIndex}`);
  return group!.termAt(compactIndex);
}
