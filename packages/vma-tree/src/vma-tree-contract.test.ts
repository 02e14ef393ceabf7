/** The VmaTree contract for both implementations, built through createVmaTree as mm-core does. */
import { describe, expect, it } from "vitest";
import { createVmaTree } from "./create-vma-tree.js";
import { MapleVmaTree } from "./maple-vma-tree.js";
import { RbVmaTree } from "./rb-vma-tree.js";
import { vmaTreeContract } from "./vma-tree.contract.js";

for (const kind of ["rb", "maple"] as const) {
  vmaTreeContract(`createVmaTree("${kind}")`, (opts) => createVmaTree(kind, opts));
}

describe("createVmaTree", () => {
  it("builds the implementation of each era and passes the options on", () => {
    const rb = createVmaTree("rb", { stackGuardGap: 8 * 4096 });
    const maple = createVmaTree("maple");
    expect(rb).toBeInstanceOf(RbVmaTree);
    expect(rb.kind).toBe("rb");
    expect((rb as RbVmaTree).stackGuardGap).toBe(8 * 4096);
    expect(maple).toBeInstanceOf(MapleVmaTree);
    expect(maple.kind).toBe("maple");
    expect(() => createVmaTree("avl" as "rb")).toThrow(TypeError);
  });
});

describe("query addresses no C caller could pass", () => {
  for (const kind of ["rb", "maple"] as const) {
    it(`${kind}: NaN, fractions, ±Infinity, negatives and > 2^64 are RangeErrors, non-numbers TypeErrors`, () => {
      const tree = createVmaTree(kind);
      for (const bad of [
        Number.NaN,
        1.5,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        -4096,
        2 ** 65,
      ]) {
        expect(() => tree.findVma(bad)).toThrow(RangeError);
        expect(() => tree.vmaLookup(bad)).toThrow(RangeError);
        expect(() => tree.findVmaIntersection(0, bad)).toThrow(RangeError);
      }
      for (const bad of ["4096", undefined, 4096n]) {
        expect(() => tree.findVma(bad as unknown as number)).toThrow(TypeError);
      }
      expect(tree.findVma(2 ** 64)).toBeNull();
    });
  }
});
