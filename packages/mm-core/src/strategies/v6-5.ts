/**
 * `v6.5`: 8d7071af8907 "mm: always expand the stack with the mmap write lock held" (Linus
 * Torvalds, June 2023; in v6.5 and the 6.1.y / 6.3.y / 6.4.y stable trees): the fault path's
 * lock_mm_and_find_vma() drops the read lock and takes the write lock before it grows a stack,
 * and GUP no longer grows stacks at all. No tree write happens under the read lock any more,
 * so no mmap_lock reader can be walking a node a writer replaces: both the 6.1 inconsistency
 * and StackRot are gone. The tree stays in RCU mode; munmap and faults are v6.4's (per-VMA
 * locks: do_vmi_align_munmap() write-locks what it detaches, faults try lock_vma_under_rcu()).
 */
import type { MmStruct } from "../mm-struct.js";
import type { MunmapStrategy } from "./strategy.js";
import { __vmMunmap } from "./v4-20.js";
import { doVmiMunmap } from "./v6-4.js";

/** v6.5's munmap(2) and faults: per-VMA locks, stacks grow under the write lock. */
export const V6_5: MunmapStrategy = Object.freeze({
  name: "v6.5",
  kernel:
    "v6.5 (8d7071af8907): lock_mm_and_find_vma() grows stacks under the mmap write lock; maple tree in RCU mode, per-VMA locks",
  description:
    "as perVmaLock on a maple tree in RCU mode, and a fault takes the write lock to grow a stack (the StackRot fix)",
  munmap: (mm: MmStruct, start: number, len: number) =>
    __vmMunmap(mm, start, len, true, doVmiMunmap),
  doMunmap: doVmiMunmap,
  perVmaLock: true,
  tree: "maple",
  mapleRcu: true,
  stackExpansionLock: "write",
  // 6.5-rc1 also has fb49c455323f: fork write-locks the parent's VMAs (see v6-4-y.ts).
  forkLocksVmas: true,
});
