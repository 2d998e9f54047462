import { bytesKey } from './entry-utils.js';

/** A read request waiting for a quorum to confirm the leader is still the leader. */
export interface PendingRead {
  /** The commit index when the request arrived: the read is linearizable once that is applied. */
  readonly index: number;
  /** The node that asked (this node for local requests). */
  readonly from: number;
  readonly context: Uint8Array;
  /** Voters that answered a heartbeat carrying this request's context (or a later one). */
  readonly acks: Set<number>;
}

/**
 * The leader's queue of ReadIndex requests. Each heartbeat round carries the newest pending context; a
 * quorum of answers for it confirms that request and every older one at once (batching).
 * Contexts must be unique across the group (the engine includes its node id and a counter).
 */
export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  /** Queues a request; a duplicate context is ignored. Returns false when the queue is full. */
  add(index: number, from: number, context: Uint8Array, maxPending: number): boolean {
    const key = bytesKey(context);
    if (this.pending.has(key)) return true;
    if (this.queue.length >= maxPending) return false;
    this.pending.set(key, { index, from, context, acks: new Set() });
    this.queue.push(key);
    return true;
  }

  /** Records that `id` answered the heartbeat carrying `context`; returns who has acknowledged it. */
  recordAck(id: number, context: Uint8Array): Set<number> | undefined {
    const read = this.pending.get(bytesKey(context));
    if (read === undefined) return undefined;
    read.acks.add(id);
    return read.acks;
  }

  /** Removes and returns the request with `context` and every request queued before it. */
  releaseUpTo(context: Uint8Array): PendingRead[] {
    const key = bytesKey(context);
    const position = this.queue.indexOf(key);
    if (position < 0) return [];
    const released: PendingRead[] = [];
    for (const k of this.queue.slice(0, position + 1)) {
      released.push(this.pending.get(k)!);
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(position + 1);
    return released;
  }

  /** The context of the newest pending request, to attach to heartbeats. */
  lastContext(): Uint8Array | undefined {
    const last = this.queue[this.queue.length - 1];
    return last === undefined ? undefined : this.pending.get(last)!.context;
  }

  size(): number {
    return this.queue.length;
  }
}
