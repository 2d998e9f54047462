/**
 * A lock file that keeps two LogDBs (in this or another process) from writing one WAL directory: two
 * writers would interleave segments and destroy both logs. The file holds the owner's pid; a lock left by
 * a process that no longer exists (kill -9) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE_NAME } from './constants.js';
import { LogDBLockedError } from './errors.js';

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Takes the lock of `dir` and returns the function that releases it. Throws LogDBLockedError if a live process holds it. */
export function acquireDirLock(dir: string): () => void {
  const path = join(dir, LOCK_FILE_NAME);
  if (!tryCreate(path)) {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && processExists(pid)) throw new LogDBLockedError(dir, pid);
    unlinkSync(path);
    if (!tryCreate(path)) throw new LogDBLockedError(dir, Number.parseInt(readFileSync(path, 'utf8'), 10));
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    unlinkSync(path);
  };
}
