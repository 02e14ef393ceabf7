/**
 * `v6.1`: the first maple-tree kernel (d4af56c5c7c6 "mm: start tracking VMAs with maple tree").
 * munmap is do_mas_munmap() -> do_mas_align_munmap(): v5.8's body (detach under the write lock,
 * the grows-down/up veto of 246c320a8cfe, downgrade, zap under the read lock). The tree is not
 * in RCU mode: writers rewrite nodes in place. The page fault still grows a stack under the
 * mmap_lock READ lock (expand_downwards() -> mas_store_prealloc()), thought safe because the
 * guard gap leaves a NULL below the stack, so only a pivot moves. With stack_guard_gap=0 the
 * stack can grow until it abuts the VMA below; the NULL range disappears and the node is
 * rewritten under concurrent readers (syzbot's BUG_ON in mm/mmap.c, fixed by 3dd4432549415f).
 */
import type { Vma } from "@mmlab/vma-tree";
import type { Op } from "../charge.js";
import type { MmStruct } from "../mm-struct.js";
import type { MunmapStrategy } from "./strategy.js";
import { __vmMunmap, doMunmapBody } from "./v4-20.js";

/** mm/mmap.c: do_mas_munmap() -> do_mas_align_munmap() — v6.1: v5.8's body on the maple tree. */
export function doMasMunmap(
  mm: MmStruct,
  start: number,
  len: number,
  uf: Vma[] | null,
  downgrade: boolean,
): Op<number> {
  return doMunmapBody(mm, start, len, uf, downgrade, "v5.8");
}

/** v6.1's munmap(2) on a maple tree outside RCU mode; stacks grow under the read lock. */
export const V6_1: MunmapStrategy = Object.freeze({
  name: "v6.1",
  kernel:
    "v6.1 maple tree (d4af56c5c7c6): do_mas_align_munmap(), expand_downwards() under the read lock, no MT_FLAGS_USE_RCU",
  description:
    "maple tree written in place; a fault grows a stack under the read lock (only a pivot moves while a guard gap remains)",
  munmap: (mm: MmStruct, start: number, len: number) =>
    __vmMunmap(mm, start, len, true, doMasMunmap),
  doMunmap: doMasMunmap,
  tree: "maple",
  mapleRcu: false,
  stackExpansionLock: "read",
});
