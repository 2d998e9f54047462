/**
 * The receiving end of a snapshot stream as an AsyncIterable: the network pushes chunks in, the consumer pulls
 * them out. When more than `highWaterBytes` wait, the queue asks for the socket to be paused, and resumes it
 * once the consumer has drained half of that, so memory stays bounded however slow the consumer is.
 */

/** Settings of a ChunkQueue. */
export interface ChunkQueueOptions {
  readonly highWaterBytes: number;
  readonly pause: () => void;
  readonly resume: () => void;
}

type Waiter = { resolve(result: IteratorResult<Uint8Array>): void; reject(error: unknown): void };

/** A bounded, single-consumer queue of byte chunks. */
export class ChunkQueue implements AsyncIterable<Uint8Array> {
  readonly #options: ChunkQueueOptions;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #ended = false;
  #error: unknown;
  #failed = false;
  #cancelled = false;
  #paused = false;
  #iterated = false;
  #waiter: Waiter | undefined;

  constructor(options: ChunkQueueOptions) {
    this.#options = options;
  }

  /** Bytes waiting for the consumer. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** Whether end() or fail() was called. */
  get finished(): boolean {
    return this.#ended || this.#failed;
  }

  /** Adds a chunk (ignored after end, failure or cancellation). */
  push(chunk: Uint8Array): void {
    if (this.finished || this.#cancelled) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ value: chunk, done: false });
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (!this.#paused && this.#bytes > this.#options.highWaterBytes) {
      this.#paused = true;
      this.#options.pause();
    }
  }

  /** The stream is complete: the consumer gets the rest, then the end. */
  end(): void {
    if (this.finished) return;
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
  }

  /** The stream failed: the consumer's next read throws `error` (a completed stream cannot fail any more). */
  fail(error: unknown): void {
    if (this.finished) return;
    this.#failed = true;
    this.#error = error;
    this.#chunks = [];
    this.#bytes = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#iterated) throw new Error("A snapshot chunk stream can be iterated only once");
    this.#iterated = true;
    return {
      next: () => this.#next(),
      return: () => {
        this.#cancel();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) {
      this.#bytes -= chunk.length;
      if (this.#paused && this.#bytes <= this.#options.highWaterBytes / 2) {
        this.#paused = false;
        this.#options.resume();
      }
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#ended || this.#cancelled) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The consumer stopped early: drop what is buffered and let the socket flow (the rest is discarded). */
  #cancel(): void {
    this.#cancelled = true;
    this.#chunks = [];
    this.#bytes = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#options.resume();
    }
  }
}
