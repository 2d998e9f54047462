/**
 * The injected source of randomness. The core only needs it to randomize election timeouts; the simulator
 * uses the same generator for every decision, so one seed fixes a whole run.
 */
export interface Random {
  /** A uniformly distributed integer in [0, bound). `bound` must be a positive integer <= 2^32. */
  nextInt(bound: number): number;
  /** A uniformly distributed float in [0, 1). */
  nextFloat(): number;
}

/**
 * A small, fast, seedable generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator),
 * with 128 bits of state. Not cryptographic. The seed is expanded with splitmix32 so nearby seeds diverge.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
    // Discard the first outputs: the generator's state mixes fully after a few rounds.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The next 32-bit unsigned output. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  nextInt(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }

  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.nextFloat() < p;
  }

  /** An integer in [lo, hi] inclusive. */
  intBetween(lo: number, hi: number): number {
    return lo + this.nextInt(hi - lo + 1);
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.nextInt(items.length)]!;
  }
}
