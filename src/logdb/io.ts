/**
 * The file operations whose failure or timing matters for durability, behind an interface so tests can
 * count fdatasyncs, delay them, or make them fail. Everything else uses node:fs directly.
 */
import { close, fdatasync, fsync, open, writev } from 'node:fs';

/** Durability-relevant I/O of the WAL writer. Every method must either complete fully or reject. */
export interface LogIO {
  /** Writes all `buffers` at `position` (looping over short writes). */
  writev(fd: number, buffers: readonly Buffer[], position: number): Promise<void>;
  /** Flushes the file's data (and the size needed to read it) to stable storage. */
  fdatasync(fd: number): Promise<void>;
  /** Makes created and removed directory entries durable. */
  fsyncDir(dir: string): Promise<void>;
}

function writevOnce(fd: number, buffers: readonly Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writev(fd, buffers as Buffer[], position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}

/** The buffers left after the first `written` bytes of `buffers`. */
function remainder(buffers: readonly Buffer[], written: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = written;
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}

function callback<T>(run: (done: (error: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** The real thing: node:fs with explicit positions. */
export const nodeLogIO: LogIO = {
  async writev(fd, buffers, position) {
    let rest = buffers;
    let at = position;
    while (rest.length > 0) {
      const written = await writevOnce(fd, rest, at);
      if (written === 0) throw new Error(`writev at ${at} wrote 0 bytes`);
      at += written;
      rest = remainder(rest, written);
    }
  },
  fdatasync(fd) {
    return callback<void>((done) => fdatasync(fd, done));
  },
  async fsyncDir(dir) {
    const fd = await callback<number>((done) => open(dir, 'r', done));
    try {
      await callback<void>((done) => fsync(fd, done));
    } finally {
      await callback<void>((done) => close(fd, done));
    }
  },
};

/** `overrides` (an object or a class instance) for the methods it has, nodeLogIO for the others. */
export function withDefaults(overrides: Partial<LogIO> | undefined): LogIO {
  const pick = <K extends keyof LogIO>(name: K): LogIO[K] => (overrides?.[name]?.bind(overrides) as LogIO[K] | undefined) ?? nodeLogIO[name];
  return { writev: pick('writev'), fdatasync: pick('fdatasync'), fsyncDir: pick('fsyncDir') };
}
