import { describe, expect, it } from "vitest";
import { EBUSY, EEXIST, EINVAL } from "./errno.js";
import { NODE_STRIDE } from "./maple/node.js";
import { MapleTree } from "./maple-tree.js";
import { MAPLE_MAX } from "./page.js";

function ranges<T>(mt: MapleTree<T>, first = 0, last = MAPLE_MAX): [number, number, T][] {
  const out: [number, number, T][] = [];
  for (const r of mt.entries(first, last)) out.push([r.first, r.last, r.entry]);
  return out;
}

/** Every range, NULL ones included, via mas_next_range. */
function allRanges<T>(mt: MapleTree<T>): [number, number, T | null][] {
  const mas = mt.state(0);
  const out: [number, number, T | null][] = [[0, 0, mas.walk()]];
  (out[0] as [number, number, T | null])[0] = mas.index;
  (out[0] as [number, number, T | null])[1] = mas.last;
  for (;;) {
    const e = mas.nextRange(MAPLE_MAX);
    if (mas.isDone) return out;
    out.push([mas.index, mas.last, e]);
  }
}

describe("MapleTree: empty tree", () => {
  it("is one NULL range over [0, MAPLE_MAX]", () => {
    const mt = new MapleTree<string>();
    expect(mt.height).toBe(0);
    expect(mt.count()).toBe(0);
    expect(mt.load(0)).toBeNull();
    expect(mt.load(MAPLE_MAX)).toBeNull();
    expect(mt.find(0, MAPLE_MAX)).toBeNull();
    expect(mt.findRev(MAPLE_MAX, 0)).toBeNull();
    expect(allRanges(mt)).toEqual([[0, MAPLE_MAX, null]]);
    expect(mt.emptyArea(0, MAPLE_MAX, 1)).toBe(0);
    expect(mt.emptyAreaRev(0, MAPLE_MAX, 1)).toBe(MAPLE_MAX);
    expect(mt.emptyArea(0, MAPLE_MAX, MAPLE_MAX)).toBe(0);
    expect(mt.emptyAreaRev(0, MAPLE_MAX, MAPLE_MAX)).toBe(1);
    mt.validate();
  });
});

describe("MapleTree: store / insert / load / erase", () => {
  it("store overwrites and trims partly covered neighbours (E[0,99] then X[10,19])", () => {
    const mt = new MapleTree<string>();
    expect(mt.store(0, 99, "E")).toBe(0);
    expect(mt.store(10, 19, "X")).toBe(0);
    mt.validate();
    expect(ranges(mt)).toEqual([
      [0, 9, "E"],
      [10, 19, "X"],
      [20, 99, "E"],
    ]);
    expect(mt.count()).toBe(3);
    expect(mt.height).toBe(1);
    expect(allRanges(mt)).toEqual([
      [0, 9, "E"],
      [10, 19, "X"],
      [20, 99, "E"],
      [100, MAPLE_MAX, null],
    ]);
  });

  it("storing NULL clears and coalesces neighbouring NULL ranges", () => {
    const mt = new MapleTree<string>();
    mt.store(10, 19, "A");
    mt.store(20, 29, "B");
    mt.store(30, 39, "C");
    mt.store(20, 29, null);
    expect(allRanges(mt)).toEqual([
      [0, 9, null],
      [10, 19, "A"],
      [20, 29, null],
      [30, 39, "C"],
      [40, MAPLE_MAX, null],
    ]);
    mt.store(10, 19, null);
    mt.validate();
    expect(allRanges(mt)).toEqual([
      [0, 29, null],
      [30, 39, "C"],
      [40, MAPLE_MAX, null],
    ]);
    mt.store(35, 35, null);
    mt.store(30, 34, null);
    mt.store(36, 39, null);
    mt.validate();
    expect(allRanges(mt)).toEqual([[0, MAPLE_MAX, null]]);
    expect(mt.count()).toBe(0);
    expect(mt.height).toBe(0);
  });

  it("rejects bad ranges with -EINVAL and changes nothing", () => {
    const mt = new MapleTree<string>();
    mt.store(5, 6, "A");
    expect(mt.store(7, 6, "B")).toBe(-EINVAL);
    expect(mt.store(-1, 6, "B")).toBe(-EINVAL);
    expect(mt.store(1.5, 6, "B")).toBe(-EINVAL);
    expect(mt.store(0, MAPLE_MAX + 1, "B")).toBe(-EINVAL);
    expect(mt.store(Number.NaN, 1, "B")).toBe(-EINVAL);
    expect(mt.insert(9, 8, "B")).toBe(-EINVAL);
    expect(ranges(mt)).toEqual([[5, 6, "A"]]);
    expect(() => mt.load(-1)).toThrow(RangeError);
    expect(() => mt.store(0, 1, undefined as unknown as string)).toThrow(TypeError);
  });

  it("insert fails with -EEXIST when anything is in the range", () => {
    const mt = new MapleTree<string>();
    expect(mt.insert(10, 20, "A")).toBe(0);
    expect(mt.insert(20, 30, "B")).toBe(-EEXIST);
    expect(mt.insert(0, 10, "B")).toBe(-EEXIST);
    expect(mt.insert(0, MAPLE_MAX, "B")).toBe(-EEXIST);
    expect(mt.insert(21, 30, "B")).toBe(0);
    expect(mt.insert(0, 9, "C")).toBe(0);
    expect(ranges(mt)).toEqual([
      [0, 9, "C"],
      [10, 20, "A"],
      [21, 30, "B"],
    ]);
    mt.validate();
  });

  it("erase removes the whole range holding the index", () => {
    const mt = new MapleTree<string>();
    mt.store(100, 199, "A");
    mt.store(200, 200, "B");
    expect(mt.erase(150)).toBe("A");
    expect(mt.erase(150)).toBeNull();
    expect(mt.load(100)).toBeNull();
    expect(mt.load(199)).toBeNull();
    expect(mt.load(200)).toBe("B");
    expect(mt.erase(200)).toBe("B");
    mt.validate();
    expect(mt.count()).toBe(0);
  });

  it("stores at the very top of the index space", () => {
    const mt = new MapleTree<string>();
    mt.store(MAPLE_MAX, MAPLE_MAX, "top");
    mt.store(0, 0, "bottom");
    mt.validate();
    expect(mt.load(MAPLE_MAX)).toBe("top");
    expect(mt.find(1, MAPLE_MAX)).toBe("top");
    expect(mt.findRev(MAPLE_MAX - 1, 0)).toBe("bottom");
    expect(mt.emptyArea(0, MAPLE_MAX, MAPLE_MAX - 1)).toBe(1);
    expect(mt.emptyArea(0, MAPLE_MAX, MAPLE_MAX)).toBe(-EBUSY);
  });
});

describe("MapleTree: find, findRev and the MaState cursor", () => {
  const mt = new MapleTree<string>();
  mt.store(10, 19, "A");
  mt.store(30, 39, "B");
  mt.store(40, 49, "C");

  it("find returns the lowest entry intersecting [index, max]", () => {
    expect(mt.find(0, MAPLE_MAX)).toBe("A");
    expect(mt.find(15, 15)).toBe("A");
    expect(mt.find(20, 29)).toBeNull();
    expect(mt.find(20, 30)).toBe("B");
    expect(mt.find(45, 100)).toBe("C");
    expect(mt.find(50, MAPLE_MAX)).toBeNull();
    expect(mt.find(30, 20)).toBeNull();
  });

  it("findRev returns the highest entry intersecting [min, index]", () => {
    expect(mt.findRev(MAPLE_MAX, 0)).toBe("C");
    expect(mt.findRev(29, 0)).toBe("A");
    expect(mt.findRev(29, 20)).toBeNull();
    expect(mt.findRev(29, 19)).toBe("A");
    expect(mt.findRev(9, 0)).toBeNull();
  });

  it("mas_walk reports the range, NULL ones included", () => {
    const mas = mt.state(25);
    expect(mas.walk()).toBeNull();
    expect([mas.index, mas.last]).toEqual([20, 29]);
    mas.set(33);
    expect(mas.walk()).toBe("B");
    expect([mas.index, mas.last]).toEqual([30, 39]);
  });

  it("mas_find starts at index, then steps; mas_next skips the current range", () => {
    const mas = mt.state(15);
    expect(mas.find(MAPLE_MAX)).toBe("A");
    expect([mas.index, mas.last]).toEqual([10, 19]);
    expect(mas.find(MAPLE_MAX)).toBe("B");
    expect(mas.find(39)).toBeNull();
    expect(mas.isDone).toBe(true);
    const next = mt.state(15);
    expect(next.next(MAPLE_MAX)).toBe("B");
    expect(next.next(MAPLE_MAX)).toBe("C");
    expect([next.index, next.last]).toEqual([40, 49]);
    expect(next.next(MAPLE_MAX)).toBeNull();
  });

  it("mas_prev / mas_find_rev walk downwards to min", () => {
    const mas = mt.state(45);
    expect(mas.prev(0)).toBe("B");
    expect(mas.prev(0)).toBe("A");
    expect(mas.prev(0)).toBeNull();
    const rev = mt.state(MAPLE_MAX);
    expect(rev.findRev(0)).toBe("C");
    expect(rev.findRev(0)).toBe("B");
    expect(rev.findRev(35)).toBeNull();
  });

  it("mas_next_range / mas_prev_range step over every range", () => {
    const mas = mt.state(10);
    expect(mas.walk()).toBe("A");
    expect(mas.nextRange(MAPLE_MAX)).toBeNull();
    expect([mas.index, mas.last]).toEqual([20, 29]);
    expect(mas.nextRange(MAPLE_MAX)).toBe("B");
    expect(mas.prevRange(0)).toBeNull();
    expect(mas.prevRange(0)).toBe("A");
    expect([mas.index, mas.last]).toEqual([10, 19]);
  });

  it("a cursor survives a modification by re-walking", () => {
    const t = new MapleTree<number>();
    for (let i = 0; i < 100; i++) t.store(i * 10, i * 10 + 4, i);
    const mas = t.state(0);
    const seen: number[] = [];
    for (let e = mas.find(MAPLE_MAX); e !== null; e = mas.find(MAPLE_MAX)) {
      seen.push(e);
      if (e === 50) t.erase(510);
    }
    expect(seen).toEqual([...Array(100).keys()].filter((i) => i !== 51));
  });

  it("MaState.store / erase work on [index, last]", () => {
    const t = new MapleTree<string>();
    const mas = t.state(0);
    mas.setRange(5, 9);
    expect(mas.store("X")).toBe(0);
    expect(t.load(7)).toBe("X");
    mas.set(6);
    expect(mas.erase()).toBe("X");
    expect(t.count()).toBe(0);
  });
});

describe("MapleTree: empty-area search (mas_empty_area / _rev)", () => {
  const mt = new MapleTree<string>();
  mt.store(0, 9, "A");
  mt.store(20, 24, "B"); // gap [10, 19] (10 long), [25, 39] (15 long)
  mt.store(40, 99, "C"); // then [100, MAX]

  it("finds the lowest and highest fits", () => {
    expect(mt.emptyArea(0, 1000, 10)).toBe(10);
    expect(mt.emptyArea(0, 1000, 11)).toBe(25);
    expect(mt.emptyArea(12, 1000, 8)).toBe(12);
    expect(mt.emptyArea(12, 1000, 9)).toBe(25);
    expect(mt.emptyArea(0, 1000, 16)).toBe(100);
    expect(mt.emptyAreaRev(0, 99, 15)).toBe(25);
    expect(mt.emptyAreaRev(0, 99, 10)).toBe(30);
    expect(mt.emptyAreaRev(0, 35, 10)).toBe(26);
    expect(mt.emptyAreaRev(0, 30, 10)).toBe(10);
    expect(mt.emptyAreaRev(0, 1000, 10)).toBe(991);
  });

  it("-EBUSY when nothing fits, -EINVAL for a bad window or size", () => {
    expect(mt.emptyArea(0, 99, 16)).toBe(-EBUSY);
    expect(mt.emptyAreaRev(0, 99, 16)).toBe(-EBUSY);
    expect(mt.emptyArea(40, 99, 1)).toBe(-EBUSY);
    expect(mt.emptyArea(10, 9, 1)).toBe(-EINVAL);
    expect(mt.emptyArea(0, 100, 0)).toBe(-EINVAL);
    expect(mt.emptyArea(10, 19, 11)).toBe(-EINVAL);
    expect(mt.emptyArea(10, 19, 10)).toBe(10);
    expect(mt.emptyAreaRev(10, 9, 1)).toBe(-EINVAL);
    expect(mt.emptyAreaRev(0, 100, 0)).toBe(-EINVAL);
    expect(mt.emptyAreaRev(-1, 100, 1)).toBe(-EINVAL);
  });

  it("MaState.emptyArea / emptyAreaRev set [index, last]", () => {
    const mas = mt.state();
    expect(mas.emptyArea(0, 1000, 11)).toBe(0);
    expect([mas.index, mas.last]).toEqual([25, 35]);
    expect(mas.emptyAreaRev(0, 35, 10)).toBe(0);
    expect([mas.index, mas.last]).toEqual([26, 35]);
    expect(mas.emptyArea(0, 30, 20)).toBe(-EBUSY);
  });

  it("uses the gaps of a deep tree (window edges inside nodes)", () => {
    const t = new MapleTree<number>();
    // entries of 3, gaps of 2, and one gap of 7 at 6000.
    for (let i = 0; i < 3000; i++) t.store(i * 5, i * 5 + 2, i);
    t.store(6000, 6004, null);
    t.store(6005, 6006, null);
    t.validate();
    expect(t.height).toBeGreaterThanOrEqual(3);
    expect(t.emptyArea(0, 14_999, 3)).toBe(5998);
    expect(t.emptyArea(5999, 14_999, 3)).toBe(5999);
    expect(t.emptyArea(6001, 14_999, 6)).toBe(6001);
    expect(t.emptyArea(6002, MAPLE_MAX, 6)).toBe(14_998);
    expect(t.emptyArea(6002, 14_999, 6)).toBe(-EBUSY);
    expect(t.emptyAreaRev(0, 14_999, 3)).toBe(6004);
    expect(t.emptyAreaRev(0, 6002, 3)).toBe(6000);
    expect(t.emptyAreaRev(0, 5_000, 2)).toBe(4998);
    expect(t.emptyAreaRev(0, 5_000, 3)).toBe(-EBUSY);
  });
});

describe("MapleTree: node splits, rebalancing and height", () => {
  it("grows as ranges are added and shrinks as they go", () => {
    const t = new MapleTree<number>();
    const heights: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      t.store(i * 2, i * 2, i);
      if ((i & 1023) === 0) t.validate();
      if (heights[heights.length - 1] !== t.height) heights.push(t.height);
    }
    t.validate();
    // 40,001 ranges, every other one NULL. An overflowing right-most leaf first shares with
    // its left sibling (mas_push_data) and the right-most split leaves the left node full, so
    // all leaves but the last few hold 16 ranges, and with 10-slot arange nodes above (also
    // pushed full) the tree has 5 levels.
    expect(heights).toEqual([1, 2, 3, 4, 5]);
    expect(t.nodeCounts().leaves).toBe(Math.ceil(40_001 / 16));
    expect(t.count()).toBe(20_000);
    for (let i = 0; i < 20_000; i++) {
      if (i % 50 !== 0) expect(t.erase(i * 2)).toBe(i);
      if ((i & 1023) === 0) t.validate();
    }
    t.validate();
    expect(t.count()).toBe(400);
    expect(t.height).toBeLessThan(5);
    // 800 ranges left: no leaf below the 6-slot minimum.
    expect(t.nodeCounts().leaves).toBeLessThanOrEqual(Math.floor(800 / 6));
  });

  it("a plain range tree (no MT_FLAGS_ALLOC_RANGE) uses 16-slot internal nodes", () => {
    const t = new MapleTree<number>({ allocRange: false });
    for (let i = 0; i < 4000; i++) t.store(i * 2, i * 2, i);
    t.validate();
    expect(t.height).toBe(4);
    expect(t.arena.nodeSlots).toBe(16);
    expect(t.emptyArea(0, MAPLE_MAX, 2)).toBe(7999);
    expect(t.emptyAreaRev(0, 100, 1)).toBe(99);
  });

  it("one big overwrite removes many nodes at once (spanning store)", () => {
    const t = new MapleTree<number>();
    for (let i = 0; i < 10_000; i++) t.store(i * 3, i * 3 + 1, i);
    t.store(100, 29_000, -1);
    t.validate();
    expect(ranges(t, 93, 29_001)).toEqual([
      [93, 94, 31],
      [96, 97, 32],
      [99, 99, 33],
      [100, 29_000, -1],
      [29_001, 29_002, 9667],
    ]);
    expect(t.count()).toBe(34 + 1 + (10_000 - 9667));
    t.store(0, MAPLE_MAX, null);
    t.validate();
    expect(t.count()).toBe(0);
    expect(t.nodeCounts()).toEqual({ leaves: 1, internal: 0 });
  });

  it("destroy empties the tree", () => {
    const t = new MapleTree<number>();
    for (let i = 0; i < 1000; i++) t.store(i, i, i);
    t.destroy();
    t.validate();
    expect(t.count()).toBe(0);
    expect(t.load(5)).toBeNull();
  });
});

describe("MapleTree.validate detects broken invariants", () => {
  function built(): MapleTree<number> {
    const t = new MapleTree<number>();
    for (let i = 0; i < 500; i++) t.store(i * 4, i * 4 + 1, i);
    t.validate();
    return t;
  }

  it("a wrong gap", () => {
    const t = built();
    t.arena.nodeData[t.arena.gapBase(t.root)] = 12345;
    expect(() => t.validate()).toThrow(/gap\[0\] = 12345/);
  });

  it("an unused pivot that is not MAPLE_MAX (leaf and internal node)", () => {
    const t = built();
    const leaf = t.arena.childAt(t.root, 0);
    const end = t.arena.leafEnd[leaf] as number;
    t.arena.leafPivots[leaf * 16 + 15] = 0;
    expect(end).toBeLessThan(15);
    expect(() => t.validate()).toThrow(/unused pivot\[15\]/);
    const u = built();
    u.arena.nodeData[u.root * NODE_STRIDE + 9] = 7;
    expect(u.arena.nodeEnd[u.root]).toBeLessThan(9);
    expect(() => u.validate()).toThrow(/unused pivot\[9\]/);
  });

  it("a pivot out of order", () => {
    const t = built();
    const leaf = t.arena.childAt(t.root, 0);
    t.arena.leafPivots[leaf * 16 + 1] = 0;
    expect(() => t.validate()).toThrow(/pivot\[1\]/);
  });

  it("two adjacent NULL ranges", () => {
    const t = new MapleTree<number>();
    t.store(10, 20, 1);
    t.arena.leafSlots[t.root * 16 + 1] = null;
    t.entryCount = 0;
    expect(() => t.validate()).toThrow(/adjacent NULL/);
  });

  it("a wrong count", () => {
    const t = built();
    t.entryCount++;
    expect(() => t.validate()).toThrow(/count/);
  });
});
