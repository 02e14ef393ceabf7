import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MapleTree } from "../maple-tree.js";
import { MAPLE_MAX } from "../page.js";
import { FREE_END, MAPLE_RANGE64_SLOTS } from "./node.js";
import { setLeafFastPath } from "./store.js";

/** The whole arena and root state, as plain arrays, for exact comparison. */
function snapshot<T>(mt: MapleTree<T>): unknown[] {
  const a = mt.arena;
  return [
    mt.root,
    mt.levels,
    mt.entryCount,
    Array.from(a.leafPivots),
    a.leafSlots.slice(),
    Array.from(a.leafEnd),
    a.leafFree.slice(),
    Array.from(a.nodeData),
    Array.from(a.nodeEnd),
    a.nodeFree.slice(),
  ];
}

describe("the in-leaf store fast path (mas_wr_node_store) leaves the same tree as the big-node path", () => {
  for (const allocRange of [true, false]) {
    it(`store, insert and erase in random order, ${allocRange ? "allocation" : "plain"} tree`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(3000), fc.nat(30), fc.nat(3)), {
            minLength: 1,
            maxLength: 400,
          }),
          (ops) => {
            const fast = new MapleTree<number>({ allocRange });
            const slow = new MapleTree<number>({ allocRange });
            let k = 0;
            for (const [first, len, op] of ops) {
              k++;
              for (const [t, onFast] of [
                [fast, true],
                [slow, false],
              ] as const) {
                const old = setLeafFastPath(onFast);
                try {
                  if (op === 0) t.store(first, first + len, null);
                  else if (op === 1) t.erase(first);
                  else if (op === 2) t.insert(first, first + len, k);
                  else t.store(first, first + len, k);
                } finally {
                  setLeafFastPath(old);
                }
              }
              fast.validate();
              expect(snapshot(fast)).toEqual(snapshot(slow));
            }
          },
        ),
        { seed: 42, numRuns: 40 },
      );
    });
  }
});

describe("no leaf but the right-most ends on NULL (mas_is_span_wr, mab_no_null_split)", () => {
  /** Every leaf in index order (leaves partition the index space) as [max, ends on NULL]. */
  function leafEnds(t: MapleTree<number>): Array<[number, boolean]> {
    const a = t.arena;
    const out: Array<[number, boolean]> = [];
    for (let id = 0; id < a.leafHighWater; id++) {
      const end = a.leafEnd[id] as number;
      if (end === FREE_END) continue;
      const last = id * MAPLE_RANGE64_SLOTS + end;
      out.push([a.leafPivots[last] as number, a.leafSlots[last] === null]);
    }
    return out.sort((x, y) => x[0] - y[0]);
  }

  it("erasing the last entry of a leaf spans into the next leaf instead of ending it on NULL", () => {
    const t = new MapleTree<number>();
    for (let i = 0; i < 200; i++) t.store(i, i, i); // adjacent entries: no NULL but the tail
    const [firstMax] = leafEnds(t)[0] as [number, boolean];
    expect(t.load(firstMax + 1)).toBe(firstMax + 1); // the next leaf starts with an entry
    expect(t.erase(firstMax)).toBe(firstMax);
    t.validate();
    expect(t.load(firstMax)).toBeNull();
    expect([t.load(firstMax - 1), t.load(firstMax + 1)]).toEqual([firstMax - 1, firstMax + 1]);
    for (const [max, endsOnNull] of leafEnds(t)) expect(endsOnNull).toBe(max === MAPLE_MAX);
  });

  it("an ascending split never leaves a leaf ending on NULL", () => {
    const t = new MapleTree<number>();
    for (let i = 0; i < 2000; i++) t.store(i * 2, i * 2, i); // every other range NULL
    t.validate();
    const ends = leafEnds(t);
    expect(ends.length).toBeGreaterThan(100);
    for (const [max, endsOnNull] of ends) expect(endsOnNull).toBe(max === MAPLE_MAX);
  });
});
