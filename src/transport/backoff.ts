/**
 * Exponential reconnection backoff with jitter: the ceiling doubles from `baseMs` to `maxMs`, and each delay is
 * drawn from [ceiling / 2, ceiling) so that nodes restarted together do not reconnect in lockstep.
 */

/** Produces successive reconnection delays. */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #ceilingMs: number;

  constructor(baseMs: number, maxMs: number, random: () => number = Math.random) {
    this.#baseMs = baseMs;
    this.#maxMs = Math.max(baseMs, maxMs);
    this.#random = random;
    this.#ceilingMs = baseMs;
  }

  /** The delay before the next attempt; each call doubles the ceiling for the one after, up to the maximum. */
  nextDelayMs(): number {
    const ceiling = this.#ceilingMs;
    this.#ceilingMs = Math.min(this.#maxMs, ceiling * 2);
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  /** Starts over from the base delay (after a connection that worked). */
  reset(): void {
    this.#ceilingMs = this.#baseMs;
  }
}
