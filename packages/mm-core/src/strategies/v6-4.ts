/**
 * `perVmaLock`: v6.4 with per-VMA locks: do_vmi_align_munmap() write-locks every VMA it splits
 * and detaches; page faults try lock_vma_under_rcu() before mmap_lock.
 */
import type { Vma } from "@mmlab/vma-tree";
import type { Op } from "../charge.js";
import type { MmStruct } from "../mm-struct.js";
import type { MunmapStrategy } from "./strategy.js";
import { __vmMunmap, doMunmapBody } from "./v4-20.js";

/**
 * mm/mmap.c: do_vmi_munmap() -> do_vmi_align_munmap() — v6.4 with per-VMA locks: as v5.8,
 * and the VMAs it splits and detaches are write-locked until the downgrade or the unlock.
 */
export function doVmiMunmap(
  mm: MmStruct,
  start: number,
  len: number,
  uf: Vma[] | null,
  downgrade: boolean,
): Op<number> {
  return doMunmapBody(mm, start, len, uf, downgrade, "v6.4");
}

/** v6.4's munmap(2) with per-VMA locks, and page faults that try the VMA lock first. */
export const PER_VMA_LOCK: MunmapStrategy = Object.freeze({
  name: "perVmaLock",
  kernel:
    "v6.4 per-VMA locks (5e31275cc997 series): do_vmi_align_munmap() + lock_vma_under_rcu() faults (0bff0aaea03e)",
  description:
    "faults take the VMA's own lock instead of mmap_lock; munmap write-locks the VMAs it detaches, v5.8's downgrade veto",
  munmap: (mm: MmStruct, start: number, len: number) =>
    __vmMunmap(mm, start, len, true, doVmiMunmap),
  doMunmap: doVmiMunmap,
  perVmaLock: true,
});
