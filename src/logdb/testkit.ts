/**
 * Test support for the logdb tests: temporary directories, entry builders, an I/O wrapper that counts
 * and can fail or delay fdatasync, and a full picture of a RaftStorage for comparisons.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, RaftStorage, Snapshot, HardState, ConfState } from '../raft/index.js';
import { nodeLogIO, type LogIO } from './io.js';

/** A fresh temporary directory; remove it with removeTempDir. */
export function makeTempDir(prefix = 'armada-logdb-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Entries lo..hi (inclusive) of one term with recognisable data. */
export function makeEntries(lo: number, hi: number, term: number, dataBytes = 8, tag = 0): Entry[] {
  const entries: Entry[] = [];
  for (let index = lo; index <= hi; index++) {
    const data = new Uint8Array(dataBytes);
    for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + tag + i) & 0xff;
    entries.push({ term, index, type: index % 5 === 0 ? 'confChange' : 'normal', data });
  }
  return entries;
}

/** Counts writes and fdatasyncs, and lets a test delay or fail them. */
export class TestIO implements LogIO {
  writes = 0;
  syncs = 0;
  /** Delay every fdatasync by this many ms (to keep a sync in flight). */
  syncDelayMs = 0;
  /** Fail the fdatasync after this many more succeed (undefined: never). */
  failSyncAfter: number | undefined;
  /** Fail every writev while true. */
  failWrites = false;

  async writev(fd: number, buffers: readonly Buffer[], position: number): Promise<void> {
    if (this.failWrites) throw Object.assign(new Error('injected EIO on write'), { code: 'EIO' });
    this.writes++;
    await nodeLogIO.writev(fd, buffers, position);
  }

  async fdatasync(fd: number): Promise<void> {
    if (this.syncDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.syncDelayMs));
    if (this.failSyncAfter !== undefined && this.failSyncAfter-- <= 0) throw Object.assign(new Error('injected EIO on fdatasync'), { code: 'EIO' });
    this.syncs++;
    await nodeLogIO.fdatasync(fd);
  }

  fsyncDir(dir: string): Promise<void> {
    return nodeLogIO.fsyncDir(dir);
  }
}

/** Everything a RaftStorage shows, for deepStrictEqual comparisons. */
export interface StoragePicture {
  readonly hardState: HardState;
  readonly confState: ConfState;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshot: Snapshot;
  readonly entries: Entry[];
  readonly terms: number[];
}

/** Reads every observable value of `storage` (the whole log, terms from the compaction point on). */
export function picture(storage: RaftStorage): StoragePicture {
  const { hardState, confState } = storage.initialState();
  const firstIndex = storage.firstIndex();
  const lastIndex = storage.lastIndex();
  const terms: number[] = [];
  for (let i = firstIndex - 1; i <= lastIndex; i++) terms.push(storage.term(i));
  const entries = lastIndex >= firstIndex ? storage.entries(firstIndex, lastIndex + 1, Number.MAX_SAFE_INTEGER) : [];
  return { hardState, confState, firstIndex, lastIndex, snapshot: storage.snapshot(), entries: entries.map(plainEntry), terms };
}

/** An entry with a plain Uint8Array copy of its data (Buffers and views compare unequal otherwise). */
export function plainEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: Uint8Array.from(e.data) };
}

/** The error's class name, or 'ok', for comparing what two storages throw. */
export function outcome(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}
