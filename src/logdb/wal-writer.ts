/**
 * The group-commit pipeline of the WAL. Records are appended to an in-memory batch synchronously (so
 * their final file position is known at once); a single flush loop writes each batch with one writev and
 * one fdatasync, and every save() that arrives while a flush is in flight joins the next batch. Only one
 * batch is ever in flight, so the unsynced tail of the log is at most one batch (split into writes of at
 * most UNSYNCED_BYTES_MAX, each followed by its fdatasync).
 *
 * Any I/O error is fatal: the failing batch and everything queued behind it are rejected and every later
 * call is refused, because after a failed fdatasync the kernel may already have dropped the dirty pages.
 */
import { close, open } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
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
}

/** Everything appended between two flushes. */
class Batch {
  readonly chunks: Chunk[] = [];
  /** Some record may have made older segments obsolete (compaction, truncation, snapshot, removal). */
  shrinks = false;
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

export class WalWriter {
  readonly counters: WriterCounters = { writes: 0, syncs: 0, bytesWritten: 0 };
  /** Segment files that exist (created and not deleted), ascending. */
  readonly segments: number[];
  private activeSegment: number;
  /** End of the active segment including appended but unwritten records. */
  private activeEnd: number;
  private writeFd: number | undefined;
  private pending: Batch;
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private failure: LogDBFailedError | undefined;

  /** `existing` are the segments recovery kept; the first append must follow a startSegment(). */
  constructor(
    private readonly dir: string,
    private readonly io: LogIO,
    private readonly segmentBytesTarget: number,
    private readonly hooks: WriterHooks,
    existing: readonly number[],
  ) {
    this.segments = [...existing];
    this.activeSegment = existing.length === 0 ? 0 : existing[existing.length - 1]!;
    this.activeEnd = Number.POSITIVE_INFINITY; // forces startSegment() before the first record
    this.pending = new Batch(1);
  }

  /** The batch that records appended now will be written in. */
  get currentBatch(): number {
    return this.pending.seq;
  }

  get active(): number {
    return this.activeSegment;
  }

  get failed(): LogDBFailedError | undefined {
    return this.failure;
  }

  /** The active segment is full: the caller should start the next one (between two group updates). */
  needsRotation(): boolean {
    return this.activeEnd >= this.segmentBytesTarget;
  }

  /** Starts segment active+1; `firstRecords(segment)` gives its segment start and checkpoint records. */
  startSegment(firstRecords: (segment: number) => Buffer[]): void {
    const segment = this.activeSegment + 1;
    this.pending.chunks.push({ segment, create: true, position: 0, buffers: [], bytes: 0 });
    this.activeSegment = segment;
    this.activeEnd = 0;
    for (const record of firstRecords(segment)) this.append(record);
  }

  /** Queues a record in the current batch and returns where it will lie. */
  append(record: Buffer): RecordLocation {
    assertInvariant(this.failure === undefined, () => 'append after a failure');
    assertInvariant(Number.isFinite(this.activeEnd), () => 'append before the first segment was started');
    let chunk = this.pending.chunks[this.pending.chunks.length - 1];
    if (chunk === undefined || chunk.segment !== this.activeSegment) {
      chunk = { segment: this.activeSegment, create: false, position: this.activeEnd, buffers: [], bytes: 0 };
      this.pending.chunks.push(chunk);
    }
    const location = { segment: this.activeSegment, position: this.activeEnd, length: record.length };
    chunk.buffers.push(record);
    chunk.bytes += record.length;
    this.activeEnd += record.length;
    return location;
  }

  /** Marks the current batch as one that may let older segments be deleted once it is durable. */
  markShrink(): void {
    this.pending.shrinks = true;
  }

  /** Resolves when everything appended so far is durable; rejects (for good) after an I/O failure. */
  commit(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const promise = this.pending.promise();
    if (this.flushing === undefined && !this.scheduled) {
      this.scheduled = true;
      // A microtask lets every save() of the current synchronous run of code join this batch.
      queueMicrotask(() => {
        this.scheduled = false;
        if (this.flushing === undefined) this.flushing = this.flushLoop();
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
    while (this.flushing !== undefined || this.scheduled) await (this.flushing ?? Promise.resolve());
    if (this.writeFd !== undefined) await closeFd(this.writeFd);
    this.writeFd = undefined;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.failure === undefined && (this.pending.bytes > 0 || this.pending.awaited)) {
        const batch = this.pending;
        this.pending = new Batch(batch.seq + 1);
        // The in-memory state now reflects exactly this batch and those before it, so this is what
        // will be needed once the batch is durable.
        const firstNeeded = batch.shrinks ? this.hooks.firstNeededSegment() : 0;
        try {
          await this.writeBatch(batch);
        } catch (error) {
          batch.reject(this.fail('write or fdatasync of the WAL', error));
          return;
        }
        this.hooks.batchWritten(batch.seq);
        batch.resolve();
        try {
          await this.deleteSegmentsBefore(firstNeeded);
        } catch (error) {
          this.fail('deletion of obsolete WAL segments', error);
          return;
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: Batch): Promise<void> {
    for (const chunk of batch.chunks) {
      if (chunk.create) await this.createSegment(chunk.segment);
      let position = chunk.position;
      for (const piece of splitPieces(chunk.buffers)) {
        await this.io.writev(this.writeFd!, piece.buffers, position);
        this.counters.writes++;
        await this.io.fdatasync(this.writeFd!);
        this.counters.syncs++;
        position += piece.bytes;
        this.counters.bytesWritten += piece.bytes;
      }
      // A new file's directory entry must be durable before anything in it is acknowledged.
      if (chunk.create) await this.io.fsyncDir(this.dir);
    }
  }

  private async createSegment(segment: number): Promise<void> {
    if (this.writeFd !== undefined) await closeFd(this.writeFd);
    this.writeFd = undefined;
    this.writeFd = await openFd(join(this.dir, segmentFileName(segment)), 'wx');
    this.segments.push(segment);
  }

  /** Deletes segments older than `firstNeeded` (never the active one), then makes the deletion durable. */
  private async deleteSegmentsBefore(firstNeeded: number): Promise<void> {
    let count = 0;
    while (count < this.segments.length && this.segments[count]! < firstNeeded && this.segments[count]! < this.activeSegment) count++;
    if (count === 0) return;
    for (const segment of this.segments.splice(0, count)) {
      this.hooks.segmentDeleted(segment);
      await unlink(join(this.dir, segmentFileName(segment)));
    }
    await this.io.fsyncDir(this.dir);
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
