/**
 * Seeded PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, PractRand-clean),
 * seeded through splitmix32 so that nearby seeds give unrelated streams. 32-bit integer
 * arithmetic only, so every platform produces the same sequence, bit for bit.
 */
export interface Prng {
  /** Uniform in [0, 1), 32 bits of randomness. */
  next(): number;
  /** Uniform integer in 0..n-1 (n a positive integer <= 2^32). */
  int(n: number): number;
  /** `ns * (1 ± fraction)`, uniform. */
  jitter(ns: number, fraction: number): number;
}

const TWO_POW_32 = 4294967296;

/** @internal The generator behind createPrng(); the Sim uses nextUint32() for tie-breaking. */
export class Sfc32 implements Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 expands the seed into the four state words.
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = 1;
    // Discard the first outputs: sfc32 mixes its state in its first rounds.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`@mmlab/sched: Prng.int(n) needs an integer 1 <= n <= 2^32, got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  jitter(ns: number, fraction: number): number {
    if (!Number.isFinite(ns) || !(fraction >= 0 && fraction <= 1)) {
      throw new RangeError(
        `@mmlab/sched: Prng.jitter(ns, fraction) needs a finite ns and 0 <= fraction <= 1, got ${ns}, ${fraction}`,
      );
    }
    return ns * (1 + fraction * (2 * this.next() - 1));
  }
}

/** A seeded sfc32 generator. Seeds are taken modulo 2^32 (`seed >>> 0`). */
export function createPrng(seed: number): Prng {
  if (typeof seed !== "number" || !Number.isFinite(seed)) {
    throw new TypeError(
      `@mmlab/sched: createPrng(seed) needs a finite number, got ${String(seed)}`,
    );
  }
  return new Sfc32(seed);
}
