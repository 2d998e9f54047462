/**
 * One group's log as the Raft core reads it. Mirrors MemoryStorage exactly (same results, same errors
 * with the same messages) so the core cannot tell the two apart; reads are synchronous, served from the
 * in-memory index and cache, and from the segment files for older entries.
 */
import {
  CompactedError,
  InvariantError,
  UnavailableError,
  entryBytes,
  type Entry,
  type InitialState,
  type RaftStorage,
  type Snapshot,
} from '../raft/index.js';
import { EMPTY_SNAPSHOT, ZERO_HARD_STATE, type GroupState } from './group-state.js';

/** What a view needs from its logdb. */
export interface GroupSource {
  /** The group's state, or undefined if it has none; throws if the logdb failed or is closed. */
  groupForRead(groupId: number, what: string): GroupState | undefined;
  /** Entry `index` of `group` (offset < index ≤ lastIndex), from the cache or from disk. */
  entryAt(group: GroupState, index: number): Entry;
}

/** RaftStorage for one group of a LogDB. A group without state reads like a new MemoryStorage. */
export class LogDBStorage implements RaftStorage {
  constructor(
    private readonly source: GroupSource,
    readonly groupId: number,
  ) {}

  initialState(): InitialState {
    const group = this.source.groupForRead(this.groupId, 'read the initial state');
    return { hardState: group?.hardState ?? ZERO_HARD_STATE, confState: (group?.snapshot ?? EMPTY_SNAPSHOT).confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const group = this.source.groupForRead(this.groupId, 'read entries');
    const offset = group?.offset ?? 0;
    const lastIndex = group?.lastIndex ?? 0;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > lastIndex + 1) throw new InvariantError(`storage entries(${lo}, ${hi}) beyond last index ${lastIndex}`);
    const out: Entry[] = [];
    let size = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.source.entryAt(group!, index);
      size += entryBytes(entry);
      // Like limitSize: the first entry always goes, later ones only while the total fits.
      if (out.length > 0 && size > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  term(index: number): number {
    const group = this.source.groupForRead(this.groupId, 'read a term');
    const offset = group?.offset ?? 0;
    const lastIndex = group?.lastIndex ?? 0;
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index > lastIndex) throw new UnavailableError(index, lastIndex);
    return group === undefined ? 0 : group.termAt(index);
  }

  firstIndex(): number {
    return (this.source.groupForRead(this.groupId, 'read the first index')?.offset ?? 0) + 1;
  }

  lastIndex(): number {
    return this.source.groupForRead(this.groupId, 'read the last index')?.lastIndex ?? 0;
  }

  /** The latest snapshot; `data` is the engine's descriptor. */
  snapshot(): Snapshot {
    const { index, term, confState, descriptor } = this.source.groupForRead(this.groupId, 'read the snapshot')?.snapshot ?? EMPTY_SNAPSHOT;
    return { metadata: { index, term, confState }, data: descriptor };
  }
}
