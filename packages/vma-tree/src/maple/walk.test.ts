import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MapleTree } from "../maple-tree.js";
import { MAPLE_MAX } from "../page.js";
import { masWalk, mtFind, mtreeLoad, walkPos } from "./walk.js";

/** mt_find by mas_walk steps (linear pivot scans): the reference for the probing walks. */
function findByScans<T>(mt: MapleTree<T>, index: number, max: number): T | null {
  for (let from = index; from <= max; ) {
    const entry = masWalk(mt, from);
    if (entry !== null) return entry;
    if (walkPos.max >= max || walkPos.max === MAPLE_MAX) return null;
    from = walkPos.max + 1;
  }
  return null;
}

/** Every index where a slot search can go wrong: each range's first and last index, +-1. */
function probePoints<T>(mt: MapleTree<T>): number[] {
  const out: number[] = [0, 1, MAPLE_MAX - 1, MAPLE_MAX];
  const mas = mt.state(0);
  mas.walk();
  for (;;) {
    out.push(mas.index, mas.last, mas.last + 1);
    if (mas.index > 0) out.push(mas.index - 1);
    mas.nextRange(MAPLE_MAX);
    if (mas.isDone) return out.filter((x) => x >= 0 && x <= MAPLE_MAX);
  }
}

describe("fixed-probe walks (mtreeLoad, mt_find) agree with linear pivot scans", () => {
  for (const allocRange of [true, false]) {
    it(`every range boundary, ${allocRange ? "arange64" : "range64"} internal nodes`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(6000), fc.nat(40), fc.boolean()), {
            minLength: 1,
            maxLength: 900,
          }),
          (ops) => {
            const mt = new MapleTree<number>({ allocRange });
            let k = 0;
            for (const [first, len, erase] of ops) {
              mt.store(first, first + len, erase ? null : ++k);
            }
            mt.validate(); // includes: unused pivots are MAPLE_MAX
            for (const x of probePoints(mt)) {
              expect(mtreeLoad(mt, x)).toBe(masWalk(mt, x));
              expect(mtFind(mt, x, MAPLE_MAX)).toBe(findByScans(mt, x, MAPLE_MAX));
              const max = x + 3;
              expect(mtFind(mt, x, max)).toBe(findByScans(mt, x, max));
            }
          },
        ),
        { seed: 42, numRuns: 60 },
      );
    });
  }
});
