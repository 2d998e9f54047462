/**
 * The bounded cache of recent entries shared by all groups of a node. Entries enter when they are saved
 * (they are the ones followers and the state machine ask for next) and leave oldest first once the cache
 * holds more than its byte bound. An entry whose record is not yet written to its segment cannot be read
 * back from disk, so it is never evicted before its batch is written: the bound is exceeded by at most
 * the bytes of the batches in flight.
 */
import { entryBytes, type Entry } from '../raft/index.js';
import type { CacheAccounting, GroupState } from './group-state.js';

interface Admission {
  readonly group: GroupState;
  readonly entry: Entry;
  /** The write batch that carries the entry's record. */
  readonly batch: number;
}

/** Rebuild the admission queue when stale admissions outnumber live ones by this factor (and this many at least). */
const STALE_REBUILD_FACTOR = 2;
const STALE_REBUILD_MIN = 1024;

export class EntryCache implements CacheAccounting {
  /** Bytes of cached entries, counted like the Raft core counts them (entryBytes). */
  bytes = 0;
  private liveCount = 0;
  private queue: Admission[] = [];
  private head = 0;

  /** `currentBatch` names the write batch that entries admitted now will be written in. */
  constructor(
    private readonly bytesMax: number,
    private readonly currentBatch: () => number,
  ) {}

  admit(group: GroupState, entry: Entry): void {
    this.bytes += entryBytes(entry);
    this.liveCount++;
    this.queue.push({ group, entry, batch: this.currentBatch() });
  }

  /** A group dropped a cached entry (truncation, compaction, removal); its admission goes stale. */
  release(entry: Entry): void {
    this.bytes -= entryBytes(entry);
    this.liveCount--;
    this.maybeRebuild();
  }

  /** Evicts the oldest entries whose batch is written until the cache is within its bound. */
  evict(writtenBatch: number): void {
    while (this.bytes > this.bytesMax && this.head < this.queue.length) {
      const oldest = this.queue[this.head]!;
      if (oldest.batch > writtenBatch) break;
      this.head++;
      if (oldest.group.uncache(oldest.entry)) {
        this.bytes -= entryBytes(oldest.entry);
        this.liveCount--;
      }
    }
    this.maybeRebuild();
  }

  /** Keeps the queue proportional to what is cached: stale admissions are dropped in one pass. */
  private maybeRebuild(): void {
    const queued = this.queue.length - this.head;
    if (queued < STALE_REBUILD_MIN || queued <= STALE_REBUILD_FACTOR * this.liveCount) return;
    this.queue = this.queue.slice(this.head).filter((a) => a.group.cachedEntry(a.entry.index) === a.entry);
    this.head = 0;
  }
}
