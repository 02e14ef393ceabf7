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
