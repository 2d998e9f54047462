/**
 * Segment file naming and synchronous reads of entries records from segments (the Raft core reads its
 * log synchronously). Every record read back is checked against its checksum before it is used.
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry } from '../raft/index.js';
import { DecodeError, decodeEntries, parseFrame } from './codec.js';
import { SEGMENT_FILE_SUFFIX, SEGMENT_NAME_DIGITS } from './constants.js';
import { CorruptLogError } from './errors.js';
import type { RecordLocation } from './group-state.js';

const SEGMENT_NAME = new RegExp(`^(\\d{${SEGMENT_NAME_DIGITS}})\\${SEGMENT_FILE_SUFFIX}$`);

/** The file name of segment `segment`, e.g. 0000000000000007.wal. */
export function segmentFileName(segment: number): string {
  return `${String(segment).padStart(SEGMENT_NAME_DIGITS, '0')}${SEGMENT_FILE_SUFFIX}`;
}

/** The segment numbers present in `dir`, ascending. Other files are ignored. */
export function listSegments(dir: string): number[] {
  const numbers: number[] = [];
  for (const name of readdirSync(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/** Reads exactly `length` bytes at `position`, or fails saying how many were there. */
export function readExactly(fd: number, length: number, position: number, file: string): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw new CorruptLogError(`record of ${length} bytes ends after ${done} bytes`, { file, offset: position });
    done += n;
  }
  return buffer;
}

/**
 * Reads entries records back from segment files. Keeps one read descriptor per segment and the last
 * record decoded, because a range read usually asks for several entries of the same record in a row.
 */
export class SegmentReader {
  private readonly fds = new Map<number, number>();
  private last: { segment: number; position: number; entries: Entry[] } | undefined;

  constructor(private readonly dir: string) {}

  /** The entries of the record at `location`, which must be an entries record of `groupId`. */
  readEntries(location: RecordLocation, groupId: number): Entry[] {
    const last = this.last;
    if (last !== undefined && last.segment === location.segment && last.position === location.position) return last.entries;
    const file = join(this.dir, segmentFileName(location.segment));
    const buffer = readExactly(this.fd(location.segment, file), location.length, location.position, file);
    let entries: Entry[];
    try {
      const frame = parseFrame(buffer, 0);
      if (!frame.ok) throw new CorruptLogError(`entries record read back: ${frame.reason}`, { file, offset: location.position });
      if (frame.type !== 'entries' || frame.groupId !== groupId || frame.totalBytes !== location.length) {
        throw new CorruptLogError(`expected an entries record of group ${groupId}, found ${frame.type} of group ${frame.groupId}`, { file, offset: location.position });
      }
      entries = decodeEntries(frame.payload);
    } catch (error) {
      if (error instanceof DecodeError) throw new CorruptLogError(error.message, { file, offset: location.position });
      throw error;
    }
    this.last = { segment: location.segment, position: location.position, entries };
    return entries;
  }

  /** Closes the descriptor of a deleted segment. */
  forget(segment: number): void {
    const fd = this.fds.get(segment);
    if (fd !== undefined) closeSync(fd);
    this.fds.delete(segment);
    if (this.last?.segment === segment) this.last = undefined;
  }

  close(): void {
    for (const segment of [...this.fds.keys()]) this.forget(segment);
    this.last = undefined;
  }

  private fd(segment: number, file: string): number {
    let fd = this.fds.get(segment);
    if (fd === undefined) {
      fd = openSync(file, 'r');
      this.fds.set(segment, fd);
    }
    return fd;
  }
}
