import { invariant } from './assert.js';

/**
 * The last indices of append messages sent to one follower and not yet acknowledged, oldest first, in a
 * fixed-size ring. When it is full the leader stops sending: this bounds memory and network use per peer.
 */
export class Inflights {
  private readonly buffer: number[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.buffer = new Array<number>(capacity).fill(0);
  }

  /** Records an append whose last entry is `lastIndex`; indices must increase. */
  add(lastIndex: number): void {
    invariant(!this.full(), () => `inflights: add(${lastIndex}) to a full window of ${this.capacity}`);
    this.buffer[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Forgets every message whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  /** Forgets the oldest message: a heartbeat response shows the follower is alive, so let one more through. */
  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.buffer[this.start]!);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  size(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}
