import type { SeededRandom } from '../prng.js';
import type { Message } from '../types.js';
import { TIME_UNITS_PER_TICK, type SimParams } from './params.js';

/** Delay jitter of a healthy network (a fifth of a tick). */
const CALM_JITTER_UNITS = 20;

/** What the network decided for one message. */
export interface Delivery {
  readonly message: Message;
  readonly atTime: number;
}

/**
 * The simulated network: per-message loss, duplication and delay (which reorders), plus directed link
 * cuts for partitions. It only decides; the simulation schedules the deliveries.
 */
export class SimNetwork {
  /** Directed links currently cut, as "from>to". */
  private readonly blocked = new Set<number>();
  dropRate: number;
  duplicateRate: number;
  longDelayRate: number;
  delayJitterUnits: number;
  delivered = 0;
  dropped = 0;
  duplicated = 0;

  constructor(private readonly random: SeededRandom, private readonly params: SimParams) {
    this.dropRate = params.dropRate;
    this.duplicateRate = params.duplicateRate;
    this.longDelayRate = params.longDelayRate;
    this.delayJitterUnits = params.delayJitterUnits;
  }

  private static linkKey(from: number, to: number): number {
    return from * 1024 + to;
  }

  /** The deliveries (zero, one or two) for a message sent at `now`. */
  route(message: Message, now: number): Delivery[] {
    if (this.blocked.has(SimNetwork.linkKey(message.from, message.to)) || this.random.chance(this.dropRate)) {
      this.dropped++;
      return [];
    }
    const out: Delivery[] = [{ message, atTime: now + this.delay() }];
    if (this.random.chance(this.duplicateRate)) {
      this.duplicated++;
      out.push({ message, atTime: now + this.delay() });
    }
    return out;
  }

  private delay(): number {
    let d = this.params.delayBaseUnits + this.random.nextInt(this.delayJitterUnits + 1);
    if (this.random.chance(this.longDelayRate)) d += this.random.nextInt(10 * TIME_UNITS_PER_TICK);
    return d;
  }

  /** Whether a message may still arrive over this link (a cut also stops messages already in flight). */
  isBlocked(from: number, to: number): boolean {
    return this.blocked.has(SimNetwork.linkKey(from, to));
  }

  cut(from: number, to: number): void {
    this.blocked.add(SimNetwork.linkKey(from, to));
  }

  healAll(): void {
    this.blocked.clear();
  }

  /** Turns off loss, duplication, long delays and most reordering: a healthy network (the liveness phase). */
  calm(): void {
    this.dropRate = 0;
    this.duplicateRate = 0;
    this.longDelayRate = 0;
    this.delayJitterUnits = Math.min(this.delayJitterUnits, CALM_JITTER_UNITS);
  }
}
