/**
 * A growable byte buffer for encoding: unsigned LEB128 varints for every number (node ids, terms and indices are
 * small in practice, so most take one to three bytes), raw bytes, and length-prefixed byte strings.
 */
import { TransportProtocolError } from "./errors.js";

/** A safe integer (< 2^53) needs at most 8 varint bytes of 7 bits each. */
export const VARINT_BYTES_MAX = 8;
const INITIAL_CAPACITY_BYTES = 4096;

/** Appends encoded values to an internal Buffer that doubles when full. */
export class ByteWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialCapacityBytes = INITIAL_CAPACITY_BYTES) {
    this.#buffer = Buffer.allocUnsafe(initialCapacityBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Current capacity of the internal buffer. */
  get capacity(): number {
    return this.#buffer.length;
  }

  /** Makes room for `bytes` more bytes. */
  reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }

  /** Appends one byte. */
  u8(value: number): void {
    this.reserve(1);
    this.#buffer[this.#length++] = value;
  }

  /** Appends a non-negative safe integer as an unsigned LEB128 varint. */
  varint(value: number, field: string): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TransportProtocolError(`Cannot encode ${field} = ${String(value)}: expected a non-negative safe integer`);
    }
    this.reserve(VARINT_BYTES_MAX);
    const buffer = this.#buffer;
    let pos = this.#length;
    let rest = value;
    // Bitwise operators truncate to 32 bits, so large values are shifted with division first.
    while (rest > 0x7fffffff) {
      buffer[pos++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    while (rest > 0x7f) {
      buffer[pos++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buffer[pos++] = rest;
    this.#length = pos;
  }

  /** Appends `data` as is. */
  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.#buffer.set(data, this.#length);
    this.#length += data.length;
  }

  /** Appends a varint length followed by `data`. */
  bytes(data: Uint8Array, field: string): void {
    this.varint(data.length, field);
    this.raw(data);
  }

  /** Overwrites a big-endian u32 at `offset` (already written). */
  setU32At(offset: number, value: number): void {
    this.#buffer.writeUInt32BE(value, offset);
  }

  /** Overwrites one byte at `offset` (already written). */
  setU8At(offset: number, value: number): void {
    this.#buffer[offset] = value;
  }

  /** Appends `count` bytes of undefined content, to be filled with setU32At/setU8At. */
  skip(count: number): void {
    this.reserve(count);
    this.#length += count;
  }

  /** Drops everything after the first `length` bytes. */
  truncate(length: number): void {
    this.#length = Math.min(this.#length, length);
  }

  /** Moves bytes [start, end) to `target` (which may overlap), growing the length if they end beyond it. */
  move(target: number, start: number, end: number): void {
    this.reserve(Math.max(0, target + (end - start) - this.#length));
    this.#buffer.copyWithin(target, start, end);
    this.#length = Math.max(this.#length, target + (end - start));
  }

  /** A view of written bytes; valid only until the next write. */
  view(start = 0, end = this.#length): Buffer {
    return this.#buffer.subarray(start, end);
  }

  /** Copies all written bytes into a new Buffer the caller owns. */
  copyOut(): Buffer {
    const out = Buffer.allocUnsafe(this.#length);
    this.#buffer.copy(out, 0, 0, this.#length);
    return out;
  }

  /** Empties the writer, releasing a buffer that grew beyond `retainBytesMax`. */
  reset(retainBytesMax: number): void {
    this.#length = 0;
    if (this.#buffer.length > retainBytesMax) this.#buffer = Buffer.allocUnsafe(INITIAL_CAPACITY_BYTES);
  }
}
