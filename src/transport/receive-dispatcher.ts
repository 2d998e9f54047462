/**
 * Hands received messages to the consumer: everything that arrived during one event-loop turn, from all peers,
 * is delivered in one onMessages call (in arrival order, so per-connection order is kept). If the consumer
 * returns a promise, the next delivery waits for it; meanwhile messages accumulate and each connection stops
 * reading its socket once its share exceeds the receive bound, so a slow consumer slows the senders down
 * (their bounded send queues then drop, and Raft retries) instead of growing memory here.
 */
import type { TransportLog } from "./log.js";
import type { GroupMessage } from "./message-codec.js";

/** The consumer of received messages. A returned promise delays the next delivery until it settles. */
export type MessageHandler = (batch: GroupMessage[]) => void | Promise<void>;

/** Something that queued messages and must be told when their bytes have been consumed. */
export interface ReceiveSource {
  release(bytes: number): void;
}

interface Pending {
  readonly source: ReceiveSource;
  readonly batch: GroupMessage[];
  readonly bytes: number;
}

/** Delivers batches to the consumer once per event-loop turn. */
export class ReceiveDispatcher {
  readonly #handler: MessageHandler;
  readonly #log: TransportLog;
  #pending: Pending[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  #delivering = false;
  #closed = false;

  constructor(handler: MessageHandler, log: TransportLog) {
    this.#handler = handler;
    this.#log = log;
  }

  /** Queues a decoded batch of `bytes` wire bytes; `source.release(bytes)` follows once the consumer took it. */
  enqueue(source: ReceiveSource, batch: GroupMessage[], bytes: number): void {
    if (this.#closed) return;
    this.#pending.push({ source, batch, bytes });
    this.#schedule();
  }

  /** Stops delivering; queued batches are discarded. */
  close(): void {
    this.#closed = true;
    clearImmediate(this.#scheduled);
    this.#pending = [];
  }

  #schedule(): void {
    if (this.#scheduled === undefined && !this.#delivering) this.#scheduled = setImmediate(() => this.#deliver());
  }

  #deliver(): void {
    this.#scheduled = undefined;
    const pending = this.#pending;
    this.#pending = [];
    if (this.#closed || pending.length === 0) return;
    const batch = pending.length === 1 ? pending[0]!.batch : pending.flatMap((item) => item.batch);
    let result: void | Promise<void> = undefined;
    try {
      result = this.#handler(batch);
    } catch (error) {
      this.#log.error("Message handler threw; the batch is lost (Raft will retry)", { messages: batch.length, error });
    }
    if (result instanceof Promise) {
      this.#delivering = true;
      result.then(
        () => this.#finish(pending),
        (error: unknown) => {
          this.#log.error("Message handler failed; the batch is lost (Raft will retry)", { messages: batch.length, error });
          this.#finish(pending);
        },
      );
    } else {
      this.#finish(pending);
    }
  }

  #finish(delivered: readonly Pending[]): void {
    this.#delivering = false;
    for (const item of delivered) item.source.release(item.bytes);
    if (this.#pending.length > 0) this.#schedule();
  }
}
