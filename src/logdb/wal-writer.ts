/**
 * The group-commit pipeline of the WAL. Records are appended to an in-memory batch synchronously (so
 * their final file position is known at once); a single flush loop writes each batch with one writev and
 * one fdatasync, and every save() that arrives while a flush is in flight joins the next batch. Only one
 * batch is ever in flight, so the unsynced tail of the log is at most one batch (split into writes of at
 * most UNSYNCED_BYTES_MAX, each followed by its fdatasync).
 *
 * Each batch ends with a commit record, and a batch never spans two segments: segments are rotated when a
 * batch is taken for writing, after its commit record, with a checkpoint of the state at that moment. So
 * recovery can apply whole batches only, and every save() is recovered entirely or not at all.
 *
 * Any I/O error is fatal: the failing batch and everything queued behind it are rejected and every later
 * call is refused, because after a failed fdatasync the kernel may already have dropped the dirty pages.
 */
import { close, open } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeCommit } from './codec.js';
import { UNSYNCED_BYTES_MAX } from './constants.js';
import { LogDBFailedError } from './errors.js';
import type { RecordLocation } from './group-state.js';
import { assertInvariant } from './invariant.js';
import type { LogIO } from './io.js';
import { segmentFileName } from './segment-files.js';

/** Records bound for one segment within a batch. */
interface Chunk {
  readonly segment: number;
  /** The batch creates this segment (its first records are the segment start and the checkpoint). */
  readonly create: boolean;
  readonly position: number;
  readonly buffers: Buffer[];
  bytes: number;
  /** Records appended since the chunk's last commit record. */
  uncommitted: number;
}

/** Everything appended between two flushes. */
class Batch {
  readonly chunks: Chunk[] = [];
  /** Some record may have made older segments obsolete (compaction, truncation, snapshot, removal). */
  shrinks = false;
  /**
   * Some caller needs the batch on disk before it is acknowledged. A batch nobody needs synced (Raft hard
   * states whose only change is the commit index) is written without fdatasync; the next synced batch
   * makes it durable, and losing it costs nothing Raft cannot recover.
   */
  needsSync = false;
  private settled: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(readonly seq: number) {}

  get bytes(): number {
    return this.chunks.reduce((sum, c) => sum + c.bytes, 0);
  }

  /** True once someone waits for the batch (so an empty batch still orders behind earlier ones). */
  get awaited(): boolean {
    return this.settled !== undefined;
  }

  promise(): Promise<void> {
    if (this.settled === undefined) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.settled = { promise, resolve, reject };
    }
    return this.settled.promise;
  }

  resolve(): void {
    this.settled?.resolve();
  }

  reject(error: Error): void {
    this.settled?.reject(error);
  }
}

/** What the writer needs from the logdb that owns it. */
export interface WriterHooks {
  /** The first records of a new segment: its segment start and a checkpoint of every group, as of now. */
  segmentRecords(segment: number): Buffer[];
  /** The first segment still needed by some group, computed when a shrinking batch is taken for writing. */
  firstNeededSegment(): number;
  /** A batch is written (its entries can be read back from the file): the cache may evict them. */
  batchWritten(seq: number): void;
  /** A segment file was deleted: close its read descriptor. */
  segmentDeleted(segment: number): void;
}

/** Counters for stats(). */
export interface WriterCounters {
  writes: number;
  syncs: number;
  bytesWritten: number;
}

/** How a WalWriter is set up. */
export interface WalWriterOptions {
  readonly dir: string;
  readonly io: LogIO;
  readonly segmentBytesTarget: number;
  readonly hooks: WriterHooks;
  /** The segments recovery kept, ascending; the first append must follow a startSegment(). */
  readonly existingSegments: readonly number[];
}

export class WalWriter {
  readonly counters: WriterCounters = { writes: 0, syncs: 0, bytesWritten: 0 };
  /** Segment files that exist (created and not deleted), ascending. */
  readonly segments: number[];
  private activeSegment: number;
  /** End of the active segment including appended but unwritten records. */
  private activeEnd: number;
  private writeFd: number | undefined;
  private pending: Batch;
  /** The flush loop is running (set and cleared synchronously by the loop itself). */
  private flushing = false;
  /** The last flush loop started, for close() to wait on. */
  private loop: Promise<void> = Promise.resolve();
  private scheduled = false;
  private failure: LogDBFailedError | undefined;

  constructor(private readonly options: WalWriterOptions) {
    const existing = options.existingSegments;
    this.segments = [...existing];
    this.activeSegment = existing.length === 0 ? 0 : existing[existing.length - 1]!;
    this.activeEnd = Number.POSITIVE_INFINITY; // forces startSegment() before the first record
    this.pending = new Batch(1);
  }

  /** The batch that records appended now will be written in. */
  get currentBatch(): number {
    return this.pending.seq;
  }

  /** Bytes appended but not yet taken for writing. */
  get pendingBytes(): number {
    return this.pending.bytes;
  }

  get active(): number {
    return this.activeSegment;
  }

  get failed(): LogDBFailedError | undefined {
    return this.failure;
  }

  /** Starts segment active+1 in the current batch (used when opening: the recovered segments are never appended to). */
  startSegment(): void {
    const segment = this.activeSegment + 1;
    this.pending.chunks.push({ segment, create: true, position: 0, buffers: [], bytes: 0, uncommitted: 0 });
    this.activeSegment = segment;
    this.activeEnd = 0;
    for (const record of this.options.hooks.segmentRecords(segment)) this.append(record);
    this.sealChunk();
    this.pending.shrinks = true;
  }

  /** Queues a record in the current batch and returns where it will lie. */
  append(record: Buffer): RecordLocation {
    assertInvariant(this.failure === undefined, () => 'append after a failure');
    assertInvariant(Number.isFinite(this.activeEnd), () => 'append before the first segment was started');
    let chunk = this.pending.chunks[this.pending.chunks.length - 1];
    if (chunk === undefined || chunk.segment !== this.activeSegment) {
      chunk = { segment: this.activeSegment, create: false, position: this.activeEnd, buffers: [], bytes: 0, uncommitted: 0 };
      this.pending.chunks.push(chunk);
    }
    const location = { segment: this.activeSegment, position: this.activeEnd, length: record.length };
    chunk.buffers.push(record);
    chunk.bytes += record.length;
    chunk.uncommitted++;
    this.activeEnd += record.length;
    return location;
  }

  /** Ends the records of the current batch with a commit record. */
  private sealChunk(): void {
    const chunk = this.pending.chunks[this.pending.chunks.length - 1];
    if (chunk === undefined || chunk.uncommitted === 0) return;
    const count = chunk.uncommitted;
    this.append(encodeCommit(count));
    chunk.uncommitted = 0;
  }

  /** Closes the current batch for writing; rotates to a new segment after it if the active one is full. */
  private takeBatch(): Batch {
    this.sealChunk();
    if (this.pending.bytes > 0 && this.activeEnd >= this.options.segmentBytesTarget) this.startSegment();
    const batch = this.pending;
    this.pending = new Batch(batch.seq + 1);
    return batch;
  }

  /** Marks the current batch as one that may let older segments be deleted once it is durable. */
  markShrink(): void {
    this.pending.shrinks = true;
  }

  /**
   * Resolves when everything appended so far is written, and durable unless `sync` is false for every
   * caller of this batch; rejects (for good) after an I/O failure.
   */
  commit(sync = true): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (sync) this.pending.needsSync = true;
    const promise = this.pending.promise();
    if (!this.flushing && !this.scheduled) {
      this.scheduled = true;
      // A microtask lets every save() of the current synchronous run of code join this batch.
      queueMicrotask(() => {
        this.scheduled = false;
        if (!this.flushing) this.loop = this.flushLoop();
      });
    }
    return promise;
  }

  /** Marks the writer failed: rejects the pending batch and refuses all later work. */
  fail(operation: string, cause: unknown): LogDBFailedError {
    if (this.failure === undefined) {
      this.failure = cause instanceof LogDBFailedError ? cause : new LogDBFailedError(operation, cause);
      this.pending.reject(this.failure);
    }
    return this.failure;
  }

  /** Waits for the flush loop to go idle, then closes the write descriptor. */
  async close(): Promise<void> {
    while (this.flushing || this.scheduled) await (this.flushing ? this.loop : Promise.resolve());
    if (this.writeFd !== undefined) await closeFd(this.writeFd);
    this.writeFd = undefined;
  }

  private async flushLoop(): Promise<void> {
    this.flushing = true;
    try {
      while (this.failure === undefined && (this.pending.bytes > 0 || this.pending.awaited)) {
        const batch = this.takeBatch();
        // The in-memory state now reflects exactly this batch and those before it, so this is what
        // will be needed once the batch is durable.
        const firstNeeded = batch.shrinks ? this.options.hooks.firstNeededSegment() : 0;
        try {
          await this.writeBatch(batch);
        } catch (error) {
          batch.reject(this.fail('write or fdatasync of the WAL', error));
          return;
        }
        this.options.hooks.batchWritten(batch.seq);
        batch.resolve();
        try {
          await this.deleteSegmentsBefore(firstNeeded);
        } catch (error) {
          this.fail('deletion of obsolete WAL segments', error);
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async writeBatch(batch: Batch): Promise<void> {
    for (const chunk of batch.chunks) {
      if (chunk.create) await this.createSegment(chunk.segment);
      let position = chunk.position;
      for (const piece of splitPieces(chunk.buffers)) {
        await this.options.io.writev(this.writeFd!, piece.buffers, position);
        this.counters.writes++;
        if (batch.needsSync || chunk.create || batch.shrinks) {
          await this.options.io.fdatasync(this.writeFd!);
          this.counters.syncs++;
        }
        position += piece.bytes;
        this.counters.bytesWritten += piece.bytes;
      }
      // A new file's directory entry must be durable before anything in it is acknowledged.
      if (chunk.create) await this.options.io.fsyncDir(this.options.dir);
    }
  }

  private async createSegment(segment: number): Promise<void> {
    if (this.writeFd !== undefined) await closeFd(this.writeFd);
    this.writeFd = undefined;
    this.writeFd = await openFd(join(this.options.dir, segmentFileName(segment)), 'wx');
    this.segments.push(segment);
  }

  /** Deletes segments older than `firstNeeded` (never the active one), then makes the deletion durable. */
  private async deleteSegmentsBefore(firstNeeded: number): Promise<void> {
    let count = 0;
    while (count < this.segments.length && this.segments[count]! < firstNeeded && this.segments[count]! < this.activeSegment) count++;
    if (count === 0) return;
    for (const segment of this.segments.splice(0, count)) {
      this.options.hooks.segmentDeleted(segment);
      await unlink(join(this.options.dir, segmentFileName(segment)));
    }
    await this.options.io.fsyncDir(this.options.dir);
  }
}

/** Groups whole records into writes of at most UNSYNCED_BYTES_MAX bytes (a single larger record goes alone). */
function splitPieces(buffers: readonly Buffer[]): { buffers: Buffer[]; bytes: number }[] {
  const pieces: { buffers: Buffer[]; bytes: number }[] = [];
  let current = { buffers: [] as Buffer[], bytes: 0 };
  for (const buffer of buffers) {
    if (current.bytes > 0 && current.bytes + buffer.length > UNSYNCED_BYTES_MAX) {
      pieces.push(current);
      current = { buffers: [], bytes: 0 };
    }
    current.buffers.push(buffer);
    current.bytes += buffer.length;
  }
  if (current.bytes > 0) pieces.push(current);
  return pieces;
}

function openFd(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, (error, fd) => (error ? reject(error) : resolve(fd))));
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));
}
