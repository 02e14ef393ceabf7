/**
 * The switch mm-core uses to pick the VMA tree of an era: "rb" for Linux 4.x (mm_rb +
 * rb_subtree_gap + vm_prev/vm_next), "maple" for Linux 6.1+ (mm_mt).
 */
import { MapleVmaTree } from "./maple-vma-tree.js";
import { RbVmaTree } from "./rb-vma-tree.js";
import type { VmaTree } from "./vma-tree.js";

export function createVmaTree(kind: "maple" | "rb", opts?: { stackGuardGap?: number }): VmaTree {
  if (kind === "maple") return new MapleVmaTree(opts);
  if (kind === "rb") return new RbVmaTree(opts);
  throw new TypeError(
    `@mmlab/vma-tree: createVmaTree: unknown kind ${String(kind)} (want "maple" or "rb")`,
  );
}
