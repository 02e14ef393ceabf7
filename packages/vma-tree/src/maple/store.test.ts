import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MapleTree } from "../maple-tree.js";
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
