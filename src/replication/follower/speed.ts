/**
 * The adaptive poll interval of a table worker (spec §9.7.2): five speeds from the base interval down to
 * 1/256 of it. A worker speeds up while clients wait for the table or it is lagging, and slows down again
 * one step per quiet wake-up, so idle tables cost one poll per base interval.
 */
const DIVISORS = [1, 2, 4, 16, 256] as const;

export class PollSpeed {
  private level = 0;

  constructor(private readonly baseMs: number) {}

  /** The interval at the current speed. */
  get intervalMs(): number {
    return this.baseMs / DIVISORS[this.level]!;
  }

  faster(): void {
    this.level = Math.min(DIVISORS.length - 1, this.level + 1);
  }

  slower(): void {
    this.level = Math.max(0, this.level - 1);
  }
}
