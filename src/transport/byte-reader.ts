/**
 * A bounds-checked cursor over received bytes. Every read validates against the remaining length and throws
 * TransportProtocolError naming the field, so a decoder built on it can never read past its input or allocate
 * more than the input holds.
 */
import { TransportProtocolError } from "./errors.js";
import { VARINT_BYTES_MAX } from "./byte-writer.js";

/** Reads values written by ByteWriter. */
export class ByteReader {
  readonly #data: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(data: Uint8Array, start = 0, end = data.length) {
    this.#data = data;
    this.#pos = start;
    this.#end = end;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** Reads one byte. */
  u8(field: string): number {
    if (this.#pos >= this.#end) throw this.#truncated(field, 1);
    return this.#data[this.#pos++]!;
  }

  /** Reads a byte that must be 0 or 1. */
  bool(field: string): boolean {
    const value = this.u8(field);
    if (value > 1) throw new TransportProtocolError(`Invalid ${field}: byte ${value}, expected 0 or 1`);
    return value === 1;
  }

  /** Reads an unsigned LEB128 varint that must be canonical (no padding bytes) and a safe integer. */
  varint(field: string): number {
    const data = this.#data;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.#pos >= this.#end) throw this.#truncated(field, 1);
      const byte = data[this.#pos++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw new TransportProtocolError(`Invalid ${field}: over-long varint`);
        if (result > Number.MAX_SAFE_INTEGER) {
          throw new TransportProtocolError(`Invalid ${field}: ${result} exceeds the largest safe integer`);
        }
        return result;
      }
      multiplier *= 0x80;
    }
    throw new TransportProtocolError(`Invalid ${field}: varint longer than ${VARINT_BYTES_MAX} bytes`);
  }

  /** Reads a varint that must lie in [min, max]. */
  varintIn(field: string, min: number, max: number): number {
    const value = this.varint(field);
    if (value < min || value > max) {
      throw new TransportProtocolError(`Invalid ${field}: ${value}, expected ${min}..${max}`);
    }
    return value;
  }

  /**
   * Reads a length-prefixed byte string into a copy. Copying keeps a small entry from pinning the whole (64 KiB or
   * larger) network buffer it arrived in for as long as the Raft log holds the entry. The copy comes from
   * Buffer.allocUnsafe, which carves strings under 4 KiB out of Node's shared 8 KiB pool: a separate ArrayBuffer
   * per entry made garbage collection take 70% of the receiver's time, and pinning one 8 KiB slab is harmless.
   * The result is a plain Uint8Array view, like the messages the Raft core produces.
   */
  bytes(field: string, maxBytes: number): Uint8Array {
    const view = this.bytesView(field, maxBytes);
    const copy = Buffer.allocUnsafe(view.length);
    copy.set(view);
    return new Uint8Array(copy.buffer, copy.byteOffset, copy.length);
  }

  /** Reads a length-prefixed byte string as a view into the input (no copy). */
  bytesView(field: string, maxBytes: number): Uint8Array {
    const length = this.varint(field);
    if (length > maxBytes) throw new TransportProtocolError(`Invalid ${field}: ${length} bytes, at most ${maxBytes} allowed`);
    return this.rawView(field, length);
  }

  /** Reads `length` bytes as a view into the input. */
  rawView(field: string, length: number): Uint8Array {
    if (length > this.remaining) throw this.#truncated(field, length);
    const view = this.#data.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return view;
  }

  /** Reads a length-prefixed UTF-8 string. */
  string(field: string, maxBytes: number): string {
    const view = this.bytesView(field, maxBytes);
    return Buffer.from(view.buffer, view.byteOffset, view.length).toString("utf8");
  }

  /** Asserts that the input was consumed exactly. */
  end(what: string): void {
    if (this.remaining !== 0) throw new TransportProtocolError(`Invalid ${what}: ${this.remaining} unexpected trailing bytes`);
  }

  #truncated(field: string, wanted: number): TransportProtocolError {
    return new TransportProtocolError(`Truncated input reading ${field}: needed ${wanted} bytes, ${this.remaining} left`);
  }
}
