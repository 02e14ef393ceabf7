/**
 * Differential tests: MapleTree against a sorted array of {first, last, entry} (the simplest
 * possible range store), with validate() (mt_validate) after every mutation.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EBUSY, EEXIST, EINVAL } from "./errno.js";
import { MapleTree } from "./maple-tree.js";
import { MAPLE_MAX } from "./page.js";

interface Range {
  first: number;
  last: number;
  entry: number;
}

/** The reference: non-NULL ranges, sorted and disjoint; everything else is NULL. */
class SortedRanges {
  list: Range[] = [];

  store(first: number, last: number, entry: number | null): void {
    const out: Range[] = [];
    for (const r of this.list) {
      if (r.last < first || r.first > last) {
        out.push(r);
        continue;
      }
      if (r.first < first) out.push({ first: r.first, last: first - 1, entry: r.entry });
      if (r.last > last) out.push({ first: last + 1, last: r.last, entry: r.entry });
    }
    if (entry !== null) out.push({ first, last, entry });
    out.sort((a, b) => a.first - b.first);
    this.list = out;
  }

  rangeAt(index: number): Range | undefined {
    return this.list.find((r) => r.first <= index && index <= r.last);
  }

  load(index: number): number | null {
    return this.rangeAt(index)?.entry ?? null;
  }

  find(index: number, max: number): number | null {
    if (index > max) return null;
    return this.list.find((r) => r.last >= index && r.first <= max)?.entry ?? null;
  }

  findRev(index: number, min: number): number | null {
    if (index < min) return null;
    for (let i = this.list.length - 1; i >= 0; i--) {
      const r = this.list[i] as Range;
      if (r.first <= index && r.last >= min) return r.entry;
    }
    return null;
  }

  /** The NULL ranges, ascending. */
  gaps(): { first: number; last: number }[] {
    const out: { first: number; last: number }[] = [];
    let next = 0;
    for (const r of this.list) {
      if (r.first > next) out.push({ first: next, last: r.first - 1 });
      next = r.last + 1;
    }
    if (next <= MAPLE_MAX) out.push({ first: next, last: MAPLE_MAX });
    return out;
  }

  emptyArea(min: number, max: number, size: number): number {
    if (min > max || size === 0 || max - min < size - 1) return -EINVAL;
    for (const g of this.gaps()) {
      const lo = Math.max(g.first, min);
      const hi = Math.min(g.last, max);
      if (hi >= lo && hi - lo + 1 >= size) return lo;
    }
    return -EBUSY;
  }

  emptyAreaRev(min: number, max: number, size: number): number {
    if (min > max || size === 0 || max - min < size - 1) return -EINVAL;
    const gaps = this.gaps();
    for (let i = gaps.length - 1; i >= 0; i--) {
      const g = gaps[i] as { first: number; last: number };
      const lo = Math.max(g.first, min);
      const hi = Math.min(g.last, max);
      if (hi >= lo && hi - lo + 1 >= size) return hi - size + 1;
    }
    return -EBUSY;
  }
}

type Op =
  | { k: "store"; first: number; len: number; entry: number | null }
  | { k: "insert"; first: number; len: number; entry: number }
  | { k: "erase"; index: number }
  | { k: "load"; index: number }
  | { k: "find"; index: number; len: number }
  | { k: "findRev"; index: number; len: number }
  | { k: "area"; min: number; len: number; size: number }
  | { k: "areaRev"; min: number; len: number; size: number };

/** Indices: mostly a small universe (collisions), sometimes the very top of the space. */
function indexArb(universe: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: universe }) },
    { weight: 1, arbitrary: fc.integer({ min: MAPLE_MAX - 50, max: MAPLE_MAX }) },
  );
}

function lenArb(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }) },
  );
}

function opArb(universe: number, nullWeight: number): fc.Arbitrary<Op> {
  const idx = indexArb(universe);
  const entry = fc.integer({ min: 1, max: 1_000_000 });
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({
        k: fc.constant("store" as const),
        first: idx,
        len: lenArb(),
        entry: fc.oneof(
          { weight: nullWeight, arbitrary: fc.constant(null) },
          { weight: 10, arbitrary: entry },
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.constant("insert" as const), first: idx, len: lenArb(), entry }),
    },
    { weight: 3, arbitrary: fc.record({ k: fc.constant("erase" as const), index: idx }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("load" as const), index: idx }) },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.constant("find" as const), index: idx, len: lenArb() }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.constant("findRev" as const), index: idx, len: lenArb() }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("area" as const),
        min: idx,
        len: lenArb(),
        size: fc.integer({ min: 0, max: 12 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("areaRev" as const),
        min: idx,
        len: lenArb(),
        size: fc.integer({ min: 0, max: 12 }),
      }),
    },
  );
}

function lastOf(first: number, len: number): number {
  return Math.min(MAPLE_MAX, first + len - 1);
}

function sameContent(mt: MapleTree<number>, ref: SortedRanges): void {
  const got: Range[] = [];
  for (const r of mt.entries()) got.push({ first: r.first, last: r.last, entry: r.entry });
  expect(got).toEqual(ref.list);
  expect(mt.count()).toBe(ref.list.length);
}

/** Apply one op to both and compare; `full` also compares the whole content. */
function step(mt: MapleTree<number>, ref: SortedRanges, op: Op, full: boolean): void {
  switch (op.k) {
    case "store": {
      const last = lastOf(op.first, op.len);
      expect(mt.store(op.first, last, op.entry)).toBe(0);
      ref.store(op.first, last, op.entry);
      break;
    }
    case "insert": {
      const last = lastOf(op.first, op.len);
      const busy = ref.find(op.first, last) !== null;
      expect(mt.insert(op.first, last, op.entry)).toBe(busy ? -EEXIST : 0);
      if (!busy) ref.store(op.first, last, op.entry);
      break;
    }
    case "erase": {
      const r = ref.rangeAt(op.index);
      expect(mt.erase(op.index)).toBe(r?.entry ?? null);
      if (r) ref.store(r.first, r.last, null);
      break;
    }
    case "load":
      expect(mt.load(op.index)).toBe(ref.load(op.index));
      return;
    case "find": {
      const max = lastOf(op.index, op.len);
      expect(mt.find(op.index, max)).toBe(ref.find(op.index, max));
      expect(mt.find(op.index, MAPLE_MAX)).toBe(ref.find(op.index, MAPLE_MAX));
      return;
    }
    case "findRev": {
      const min = Math.max(0, op.index - op.len + 1);
      expect(mt.findRev(op.index, min)).toBe(ref.findRev(op.index, min));
      expect(mt.findRev(op.index, 0)).toBe(ref.findRev(op.index, 0));
      return;
    }
    case "area": {
      const max = lastOf(op.min, op.len);
      expect(mt.emptyArea(op.min, max, op.size)).toBe(ref.emptyArea(op.min, max, op.size));
      expect(mt.emptyArea(op.min, MAPLE_MAX, op.size)).toBe(
        ref.emptyArea(op.min, MAPLE_MAX, op.size),
      );
      return;
    }
    case "areaRev": {
      const max = lastOf(op.min, op.len);
      expect(mt.emptyAreaRev(op.min, max, op.size)).toBe(ref.emptyAreaRev(op.min, max, op.size));
      expect(mt.emptyAreaRev(0, max, op.size)).toBe(ref.emptyAreaRev(0, max, op.size));
      return;
    }
  }
  mt.validate();
  if (full) sameContent(mt, ref);
}

describe("MapleTree vs a sorted array of ranges (fast-check)", () => {
  for (const seed of [1, 7, 42, 1234, 98765]) {
    it(`random operations, seed ${seed}`, () => {
      fc.assert(
        fc.property(
          fc.boolean(),
          fc.array(opArb(3000, 4), { minLength: 1, maxLength: 300 }),
          (allocRange, ops) => {
            const mt = new MapleTree<number>({ allocRange });
            const ref = new SortedRanges();
            for (const op of ops) step(mt, ref, op, true);
            sameContent(mt, ref);
          },
        ),
        { seed, numRuns: 40 },
      );
    });
  }

  for (const seed of [3, 42, 2024]) {
    it(`splits, rebalances and merges: fill with small ranges, erase most, overwrite widely (seed ${seed})`, () => {
      const plan = fc.record({
        allocRange: fc.boolean(),
        fill: fc.array(
          fc.record({
            first: fc.integer({ min: 0, max: 6000 }),
            len: fc.integer({ min: 1, max: 3 }),
            entry: fc.integer({ min: 1, max: 1e6 }),
          }),
          { minLength: 300, maxLength: 900 },
        ),
        keepEvery: fc.integer({ min: 2, max: 40 }),
        tail: fc.array(opArb(6000, 6), { minLength: 20, maxLength: 120 }),
      });
      fc.assert(
        fc.property(plan, ({ allocRange, fill, keepEvery, tail }) => {
          const mt = new MapleTree<number>({ allocRange });
          const ref = new SortedRanges();
          let i = 0;
          for (const f of fill) step(mt, ref, { k: "store", ...f }, i++ % 50 === 0);
          sameContent(mt, ref);
          const grown = mt.height;
          // Erase all but every keepEvery-th range: leaves drain and must be merged.
          const victims = ref.list.filter((_, j) => j % keepEvery !== 0).map((r) => r.first);
          for (const v of victims) step(mt, ref, { k: "erase", index: v }, i++ % 50 === 0);
          sameContent(mt, ref);
          expect(mt.height).toBeLessThanOrEqual(grown);
          for (const op of tail) step(mt, ref, op, true);
          sameContent(mt, ref);
        }),
        { seed, numRuns: 8 },
      );
    });
  }

  it("big overwrites spanning many nodes (spanning store) keep the tree valid", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 3000 }),
        fc.array(
          fc.record({
            first: fc.integer({ min: 0, max: 20_000 }),
            len: fc.integer({ min: 1, max: 15_000 }),
            entry: fc.option(fc.integer({ min: 1, max: 1e6 }), { freq: 3 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (n, overwrites) => {
          const mt = new MapleTree<number>();
          const ref = new SortedRanges();
          for (let j = 0; j < n; j++) {
            mt.store(j * 7, j * 7 + 3, j + 1);
            ref.store(j * 7, j * 7 + 3, j + 1);
          }
          mt.validate();
          for (const o of overwrites)
            step(mt, ref, { k: "store", first: o.first, len: o.len, entry: o.entry }, true);
        },
      ),
      { seed: 77, numRuns: 40 },
    );
  });
});

describe("emptyArea / emptyAreaRev against brute force", () => {
  /** The literal definition: every candidate start, every index of the run. */
  function bruteArea(
    ref: SortedRanges,
    min: number,
    max: number,
    size: number,
    rev: boolean,
  ): number {
    if (min > max || size === 0 || max - min < size - 1) return -EINVAL;
    const free = (s: number) => {
      for (let i = s; i < s + size; i++) if (ref.load(i) !== null) return false;
      return true;
    };
    if (!rev) {
      for (let s = min; s + size - 1 <= max; s++) if (free(s)) return s;
    } else {
      for (let s = max - size + 1; s >= min; s--) if (free(s)) return s;
    }
    return -EBUSY;
  }

  for (const seed of [5, 42, 31337]) {
    it(`small index space, seed ${seed}`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              first: fc.integer({ min: 0, max: 400 }),
              len: fc.integer({ min: 1, max: 6 }),
              entry: fc.option(fc.integer({ min: 1, max: 99 }), { freq: 4 }),
            }),
            { minLength: 0, maxLength: 250 },
          ),
          fc.array(
            fc.tuple(
              fc.integer({ min: 0, max: 420 }),
              fc.integer({ min: 0, max: 420 }),
              fc.integer({ min: 0, max: 9 }),
            ),
            {
              minLength: 1,
              maxLength: 30,
            },
          ),
          (stores, queries) => {
            const mt = new MapleTree<number>();
            const ref = new SortedRanges();
            for (const s of stores) {
              mt.store(s.first, s.first + s.len - 1, s.entry);
              ref.store(s.first, s.first + s.len - 1, s.entry);
            }
            mt.validate();
            for (const [a, b, size] of queries) {
              expect(mt.emptyArea(a, b, size)).toBe(bruteArea(ref, a, b, size, false));
              expect(mt.emptyAreaRev(a, b, size)).toBe(bruteArea(ref, a, b, size, true));
            }
          },
        ),
        { seed, numRuns: 60 },
      );
    });
  }
});
