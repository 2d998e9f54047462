/**
 * LogDB: the durable Raft log of every group of one node, in one write-ahead log.
 *
 * Every mutation is validated, applied to the in-memory state and appended to the current write batch
 * synchronously, in call order (so views show it at once, exactly as MemoryStorage would); the returned
 * promise resolves once the batch is on disk. All calls of one engine round share one write and one
 * fdatasync, and calls made while a batch is being synced share the next one.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Entry } from '../raft/index.js';
import {
  ENTRIES_PREFIX_BYTES,
  encodeCheckpoint,
  encodeCompact,
  encodeEntries,
  encodeHardState,
  encodeRemoveGroup,
  encodeSegmentStart,
  encodeSnapshot,
  entryRecordBytes,
} from './codec.js';
import {
  BODY_PREFIX_BYTES,
  CACHE_BYTES_MAX_DEFAULT,
  FORMAT_VERSION,
  PENDING_BYTES_MAX,
  RECORD_BODY_BYTES_MAX,
  SEGMENT_BYTES_TARGET_DEFAULT,
  SEGMENT_BYTES_TARGET_MIN,
} from './constants.js';
import { acquireDirLock } from './dir-lock.js';
import { EntryCache } from './entry-cache.js';
import { CorruptLogError, InvalidUpdateError, LogDBClosedError, LogDBOverloadedError } from './errors.js';
import { GroupState } from './group-state.js';
import { withDefaults, type LogIO } from './io.js';
import { recoverLog } from './recovery.js';
import { SegmentReader } from './segment-files.js';
import { LogDBStorage, type GroupSource } from './storage-view.js';
import type { GroupUpdate, LocalSnapshot, LogDBStats, RecoveryReport } from './types.js';
import { checkCount, planBatch, planCompact, planLocalSnapshot, type PlannedUpdate } from './update-plan.js';
import { WalWriter } from './wal-writer.js';

/** Where and how to open a LogDB. */
export interface LogDBOptions {
  /** The WAL directory (`--raft.wal-dir`, defaulting to `--raft.node-host-dir`); created if missing. */
  readonly dir: string;
  /** Rotate segments at this size (default SEGMENT_BYTES_TARGET_DEFAULT). */
  readonly segmentBytesTarget?: number;
  /** Bound on cached entry bytes for all groups (default CACHE_BYTES_MAX_DEFAULT). */
  readonly cacheBytesMax?: number;
  /** Replaces some durability I/O (tests count, delay or fail fdatasync through this). */
  readonly io?: Partial<LogIO>;
}

/** The result of opening: the logdb and what recovery found (log `recovered.truncation` as a warning). */
/** Options of {@link LogDB.save}. */
export interface SaveOptions {
  /**
   * Whether the save must be durable when it resolves (default true). Raft's Ready says so in `mustSync`:
   * a Ready whose only change is the commit index may skip the fdatasync (etcd does the same).
   */
  readonly sync?: boolean;
}

export interface OpenedLogDB {
  readonly logdb: LogDB;
  readonly recovered: RecoveryReport;
}

/** Payload bytes available to entries in one entries record. */
const ENTRIES_PAYLOAD_BYTES_MAX = RECORD_BODY_BYTES_MAX - BODY_PREFIX_BYTES - ENTRIES_PREFIX_BYTES;

/** Opens (recovering) or creates the WAL in `options.dir`. Throws CorruptLogError if it cannot be trusted. */
export function openLogDB(options: LogDBOptions): Promise<OpenedLogDB> {
  return LogDB.open(options);
}

export class LogDB implements GroupSource {
  private readonly groupsById: Map<number, GroupState>;
  private readonly cache: EntryCache;
  private readonly writer: WalWriter;
  private readonly reader: SegmentReader;
  private readonly recovery: RecoveryReport;
  private closed = false;

  private constructor(
    dir: string,
    options: LogDBOptions,
    private readonly releaseLock: () => void,
  ) {
    this.cache = new EntryCache(options.cacheBytesMax ?? CACHE_BYTES_MAX_DEFAULT, () => this.writer.currentBatch);
    const log = recoverLog(dir, this.cache);
    this.recovery = log.report;
    this.groupsById = log.groups;
    this.reader = new SegmentReader(dir);
    this.writer = new WalWriter({
      dir,
      io: withDefaults(options.io),
      segmentBytesTarget: options.segmentBytesTarget ?? SEGMENT_BYTES_TARGET_DEFAULT,
      existingSegments: log.segments,
      hooks: {
        segmentRecords: (segment) => this.segmentRecords(segment),
        firstNeededSegment: () => this.firstNeededSegment(),
        batchWritten: (seq) => this.cache.evict(seq),
        segmentDeleted: (segment) => this.reader.forget(segment),
      },
    });
  }

  /** See openLogDB. */
  static async open(options: LogDBOptions): Promise<OpenedLogDB> {
    const target = options.segmentBytesTarget ?? SEGMENT_BYTES_TARGET_DEFAULT;
    if (!Number.isSafeInteger(target) || target < SEGMENT_BYTES_TARGET_MIN) throw new InvalidUpdateError(`segmentBytesTarget must be an integer >= ${SEGMENT_BYTES_TARGET_MIN}, got ${target}`);
    checkCount(options.cacheBytesMax ?? 0, 'cacheBytesMax');
    const dir = resolve(options.dir);
    mkdirSync(dir, { recursive: true });
    const releaseLock = acquireDirLock(dir);
    let logdb: LogDB | undefined;
    try {
      logdb = new LogDB(dir, options, releaseLock);
      // Writing always starts in a fresh segment: the recovered ones are never appended to, and its
      // checkpoint lets the segments older than every group's oldest live entry go.
      logdb.writer.startSegment();
      await logdb.writer.commit();
      return { logdb, recovered: logdb.recovery };
    } catch (error) {
      if (logdb !== undefined) await logdb.close().catch(() => undefined);
      else releaseLock();
      throw error;
    }
  }

  /**
   * Persists one engine round for any number of groups with one write and one fdatasync. Each update is
   * applied in the order snapshot, entries, hard state. Validation errors (CompactedError-style Raft
   * conditions, InvalidUpdateError) reject without changing anything; an I/O failure rejects this and
   * every later call with LogDBFailedError.
   */
  save(batch: readonly GroupUpdate[], options: SaveOptions = {}): Promise<void> {
    return this.mutate('save', () => {
      const plan = planBatch(batch, (groupId) => this.groupsById.get(groupId));
      return () => plan.forEach((update) => this.applyUpdate(update));
    }, options.sync ?? true);
  }

  /** Records a snapshot the state machine took at applied index `snapshot.index` (MemoryStorage.createSnapshot). */
  createSnapshot(groupId: number, snapshot: LocalSnapshot): Promise<void> {
    return this.mutate('createSnapshot', () => {
      checkCount(groupId, 'group id');
      const stored = planLocalSnapshot(this.groupsById.get(groupId), groupId, snapshot);
      return () => {
        this.writer.append(encodeSnapshot('createSnapshot', groupId, stored));
        this.groupsById.get(groupId)!.snapshot = stored;
      };
    });
  }

  /** Drops the group's entries up to and including `index` (MemoryStorage.compact); their segments can then be deleted. */
  compact(groupId: number, index: number): Promise<void> {
    return this.mutate('compact', () => {
      checkCount(groupId, 'group id');
      const term = planCompact(this.groupsById.get(groupId), groupId, index);
      return () => {
        this.writer.append(encodeCompact(groupId, index, term));
        this.groupsById.get(groupId)!.compact(index, term);
        this.writer.markShrink();
      };
    });
  }

  /** Forgets everything about a group (its table was deleted). A group without state is left alone. */
  removeGroup(groupId: number): Promise<void> {
    return this.mutate('removeGroup', () => {
      checkCount(groupId, 'group id');
      return () => {
        const group = this.groupsById.get(groupId);
        if (group === undefined) return;
        this.writer.append(encodeRemoveGroup(groupId));
        group.dropLog();
        this.groupsById.delete(groupId);
        this.writer.markShrink();
      };
    });
  }

  /** Resolves when everything saved so far is durable. */
  sync(): Promise<void> {
    return this.mutate('sync', () => () => undefined);
  }

  /** The RaftStorage view of one group (cheap; views stay valid as the group changes). */
  storage(groupId: number): LogDBStorage {
    return new LogDBStorage(this, checkCount(groupId, 'group id'));
  }

  /** Ids of the groups that have state, ascending. */
  groups(): number[] {
    this.checkUsable('list groups');
    return [...this.groupsById.keys()].sort((a, b) => a - b);
  }

  /** Whether the group has state (cheaper than groups().includes()). */
  hasGroup(groupId: number): boolean {
    this.checkUsable('look up a group');
    return this.groupsById.has(groupId);
  }

  stats(): LogDBStats {
    const { writes, syncs, bytesWritten } = this.writer.counters;
    return { writes, syncs, bytesWritten, activeSegment: this.writer.active, segments: this.writer.segments.length, cachedBytes: this.cache.bytes, groups: this.groupsById.size };
  }

  /** Waits for queued writes, then releases files and the directory lock. Later calls are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer.close();
    } finally {
      this.reader.close();
      this.releaseLock();
    }
  }

  /** @internal For LogDBStorage. */
  groupForRead(groupId: number, what: string): GroupState | undefined {
    this.checkUsable(what);
    return this.groupsById.get(groupId);
  }

  /** @internal For LogDBStorage. */
  entryAt(group: GroupState, index: number): Entry {
    const cached = group.cachedEntry(index);
    if (cached !== undefined) return cached;
    const location = group.locate(index);
    const entries = this.reader.readEntries(location, group.groupId);
    const entry = entries[index - entries[0]!.index];
    if (entry === undefined || entry.index !== index || entry.term !== group.termAt(index)) {
      throw new CorruptLogError(`entry ${index} of group ${group.groupId} read back with a different index or term`);
    }
    return entry;
  }

  private checkUsable(what: string): void {
    if (this.writer.failed !== undefined) throw this.writer.failed;
    if (this.closed) throw new LogDBClosedError(what);
  }

  /** Validation (`prepare`) may throw without effect; the apply step it returns must not, or the logdb fails. */
  private mutate(what: string, prepare: () => () => void, sync = true): Promise<void> {
    let apply: () => void;
    try {
      this.checkUsable(what);
      const pendingBytes = this.writer.pendingBytes;
      if (pendingBytes > PENDING_BYTES_MAX) throw new LogDBOverloadedError(pendingBytes, PENDING_BYTES_MAX);
      apply = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      apply();
    } catch (error) {
      return Promise.reject(this.writer.fail(`${what} (applying a validated update)`, error));
    }
    return this.writer.commit(sync);
  }

  private applyUpdate(update: PlannedUpdate): void {
    const { groupId, snapshot, entries, hardState } = update;
    if (snapshot === undefined && (entries === undefined || entries.length === 0) && hardState === undefined) return;
    let group = this.groupsById.get(groupId);
    if (group === undefined) {
      group = new GroupState(groupId, this.cache);
      this.groupsById.set(groupId, group);
    }
    if (snapshot !== undefined) {
      this.writer.append(encodeSnapshot('snapshot', groupId, snapshot));
      group.applySnapshot(snapshot);
      this.writer.markShrink();
    }
    if (entries !== undefined && entries.length > 0) this.appendEntries(group, entries);
    if (hardState !== undefined) {
      this.writer.append(encodeHardState(groupId, hardState));
      group.hardState = hardState;
    }
  }

  private appendEntries(group: GroupState, entries: readonly Entry[]): void {
    // Overwriting a suffix may leave the segments that held it unneeded.
    if (entries[0]!.index <= group.lastIndex) this.writer.markShrink();
    let start = 0;
    while (start < entries.length) {
      let end = start;
      let bytes = 0;
      while (end < entries.length && (end === start || bytes + entryRecordBytes(entries[end]!) <= ENTRIES_PAYLOAD_BYTES_MAX)) bytes += entryRecordBytes(entries[end++]!);
      const chunk = entries.slice(start, end);
      const location = this.writer.append(encodeEntries(group.groupId, chunk));
      group.append(chunk[0]!.index, chunk.map((e) => e.term), location, chunk);
      start = end;
    }
  }

  /** The first records of a new segment: a checkpoint of every group, so it can be replayed on its own. */
  private segmentRecords(segment: number): Buffer[] {
    return [
      encodeSegmentStart(FORMAT_VERSION, segment, this.groupsById.size),
      ...[...this.groupsById].map(([groupId, group]) => encodeCheckpoint(groupId, group.checkpoint())),
    ];
  }

  /** The oldest segment any group still needs: the one holding its oldest live entry, or the active one. */
  private firstNeededSegment(): number {
    let first = this.writer.active;
    for (const group of this.groupsById.values()) {
      const segment = group.oldestSegment();
      if (segment !== undefined && segment < first) first = segment;
    }
    return first;
  }
}
