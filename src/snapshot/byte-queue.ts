/**
 * A FIFO of byte chunks that lets streaming decoders read fixed-size pieces that straddle input chunks.
 *
 * Reads return views into the input when a piece lies inside one chunk, and a fresh copy only when it spans
 * several, so the common case does not copy. Callers must not mutate input chunks after pushing them.
 */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  /** Read position inside the first chunk. */
  #head = 0;
  #length = 0;

  /** Number of buffered, unread bytes. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk (ignored when empty). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Returns the next `count` bytes without consuming them, or null when fewer are buffered. */
  peek(count: number): Uint8Array | null {
    if (count > this.#length) return null;
    const first = this.#chunks[0];
    if (count === 0 || first === undefined) return new Uint8Array(0);
    if (first.length - this.#head >= count) return first.subarray(this.#head, this.#head + count);
    const out = new Uint8Array(count);
    let filled = 0;
    let head = this.#head;
    for (const chunk of this.#chunks) {
      const take = Math.min(chunk.length - head, count - filled);
      out.set(chunk.subarray(head, head + take), filled);
      filled += take;
      head = 0;
      if (filled === count) break;
    }
    return out;
  }

  /** Consumes and returns the next `count` bytes, or returns null (consuming nothing) when fewer are buffered. */
  read(count: number): Uint8Array | null {
    const bytes = this.peek(count);
    if (bytes !== null) this.skip(count);
    return bytes;
  }

  /** Discards up to `count` bytes; returns how many were discarded. */
  skip(count: number): number {
    let remaining = Math.min(count, this.#length);
    const skipped = remaining;
    while (remaining > 0) {
      const first = this.#chunks[0]!;
      const available = first.length - this.#head;
      if (available > remaining) {
        this.#head += remaining;
        remaining = 0;
      } else {
        this.#chunks.shift();
        this.#head = 0;
        remaining -= available;
      }
    }
    this.#length -= skipped;
    return skipped;
  }
}
