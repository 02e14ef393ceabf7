import { describe, expect, it } from "vitest";
import { createPrng } from "./prng.js";

describe("createPrng (sfc32)", () => {
  it("is reproducible per seed and differs across seeds", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const sa = Array.from({ length: 8 }, () => a.next());
    expect(Array.from({ length: 8 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.next())).not.toEqual(sa);
  });

  it("stays in range and is roughly uniform", () => {
    const r = createPrng(7);
    const buckets = [0, 0, 0, 0];
    for (let i = 0; i < 40000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      buckets[r.int(4)] = (buckets[r.int(4)] ?? 0) + 1;
    }
    for (const n of buckets) expect(Math.abs(n - 10000)).toBeLessThan(500);
  });

  it("jitters within ns * (1 ± fraction)", () => {
    const r = createPrng(1);
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (let i = 0; i < 1000; i++) {
      const j = r.jitter(1000, 0.1);
      lo = Math.min(lo, j);
      hi = Math.max(hi, j);
    }
    expect(lo).toBeGreaterThanOrEqual(900);
    expect(hi).toBeLessThanOrEqual(1100);
    expect(hi - lo).toBeGreaterThan(150);
  });

  it("rejects bad arguments", () => {
    const r = createPrng(1);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(1.5)).toThrow(/^@mmlab\/sched: /);
    expect(() => r.jitter(10, 2)).toThrow(RangeError);
    expect(() => createPrng(Number.NaN)).toThrow(TypeError);
  });
});
