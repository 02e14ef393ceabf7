/**
 * munmap(2) as merged in v4.20 (dd2283f2605e) and kept, with fixes, up to 6.x: one
 * `__do_munmap(mm, start, len, uf, downgrade)` for every caller, which downgrades mmap_sem after
 * the detach when asked and returns 1 then (the caller ends with up_read instead of up_write).
 * v5-8.ts and v6-4.ts run the same body with their kernel's changes (the flavour):
 *
 *   v4.20 (dd2283f2605e)  downgrade whenever asked: munmap(2) asks, vm_munmap()/do_munmap()
 *                         callers do not; brk and mremap shrinks ask too (4.3 of the spec)
 *   v5.8  (246c320a8cfe)  detach_vmas_to_be_unmapped() vetoes the downgrade when the VMA
 *                         above the hole is VM_GROWSDOWN or the one below is VM_GROWSUP:
 *                         such a VMA grows under the read lock (stack expansion in the fault
 *                         path) into the range whose page tables are being torn down
 *   v6.4  (per-VMA locks) do_vmi_align_munmap(): as v5.8, and every VMA it detaches is
 *                         write-locked first (vma_start_write), so lock-free faults on it fall
 *                         back to mmap_lock; the downgrade releases all VMA write locks
 *
 * The pieces (lookup and splits, munlock, detach, unmap_region, remove_vma_list) are the
 * shared ones of munmap.ts, run in the kernel's order.
 */
import { traced } from "@mmlab/sched";
import { VM_GROWSDOWN, VM_GROWSUP, type Vma, vmFlagsHas } from "@mmlab/vma-tree";
import { charge, type Op } from "../charge.js";
import { EINTR } from "../errno.js";
import { userfaultfdUnmapComplete, userfaultfdUnmapPrep } from "../hooks.js";
import type { MmStruct } from "../mm-struct.js";
import { mmapUnlockHeld } from "../mmap-unlock.js";
import {
  detachVmasToBeUnmapped,
  munlockRange,
  munmapAlignLen,
  munmapLookupVma,
  munmapRangeOk,
  removeVmaList,
  unmapRegion,
} from "../munmap.js";
import {
  mmapWriteDowngrade,
  mmapWriteUnlock,
  vmaMarkDetached,
  vmaStartWrite,
} from "../vma-lock.js";
import type { DoMunmapFn, MunmapStrategy } from "./strategy.js";

/** Which kernel's __do_munmap body to run. */
export type Flavour = "v4.20" | "v5.8" | "v6.4";

/**
 * The __do_munmap body shared by the three versions, under the caller's write lock. Returns
 * 1 when it downgraded (the caller holds the read lock now), 0, or a negative errno (write
 * lock still held, nothing detached).
 */
export function* doMunmapBody(
  mm: MmStruct,
  start: number,
  len: number,
  uf: Vma[] | null,
  downgrade: boolean,
  flavour: Flavour,
): Op<number> {
  const bad = munmapRangeOk(mm, start, len);
  if (bad !== 0) return bad;
  const end = start + munmapAlignLen(len);

  if (flavour === "v6.4") {
    // do_vmi_align_munmap() write-locks the VMA it is about to split before splitting it.
    const vma = mm.tree.findVma(start);
    if (vma !== null && vma.vmStart < end) yield* vmaStartWrite(mm, vma);
  }
  const first = yield* munmapLookupVma(mm, start, end);
  if (typeof first === "number") return first;
  if (first === null) return 0;
  const prev = mm.tree.vmaPrev(first);

  if (uf !== null) {
    const err = userfaultfdUnmapPrep(mm, first, start, end, uf);
    if (err !== 0) return err;
  }
  if (flavour === "v6.4") {
    // vma_start_write() on every VMA of the range: waits for their lock-free readers.
    for (let v: Vma | null = first; v !== null && v.vmStart < end; v = mm.tree.vmaNext(v)) {
      yield* vmaStartWrite(mm, v);
    }
  }
  yield* munlockRange(mm, first, end);
  const detached = yield* detachVmasToBeUnmapped(mm, first, end);
  if (flavour === "v6.4") for (const v of detached) vmaMarkDetached(mm, v, true);
  // arch_unmap(): MPX bookkeeping only (no model state).

  if (downgrade && flavour !== "v4.20") {
    // 246c320a8cfe: a neighbour that grows under the read lock vetoes the downgrade.
    const next = prev === null ? mm.tree.first() : mm.tree.vmaNext(prev);
    if (next !== null && vmFlagsHas(next.vmFlags, VM_GROWSDOWN)) downgrade = false;
    else if (prev !== null && VM_GROWSUP !== 0 && vmFlagsHas(prev.vmFlags, VM_GROWSUP))
      downgrade = false;
  }
  if (downgrade) {
    mmapWriteDowngrade(mm);
    yield* charge(mm.cost.lockOp);
  }
  yield* traced("unmap_region", unmapRegion(mm, detached, prev, start, end));
  yield* removeVmaList(mm, detached);
  return downgrade ? 1 : 0;
}

/** mm/mmap.c: __do_munmap() — v4.20 (dd2283f2605e): 1 if it downgraded mmap_sem, 0, or -errno. */
export function __doMunmap(
  mm: MmStruct,
  start: number,
  len: number,
  uf: Vma[] | null,
  downgrade: boolean,
): Op<number> {
  return doMunmapBody(mm, start, len, uf, downgrade, "v4.20");
}

/**
 * mm/mmap.c: __vm_munmap() — v4.20: take mmap_sem for write (killable), run __do_munmap, end
 * with up_read when it downgraded (return 1 becomes 0) or up_write; then
 * userfaultfd_unmap_complete(). vm_munmap() passes downgrade = false, the syscall true.
 */
export function* __vmMunmap(
  mm: MmStruct,
  start: number,
  len: number,
  downgrade: boolean,
  doMunmap: DoMunmapFn = __doMunmap,
): Op<number> {
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR; // killed while waiting: nothing changed
  const uf: Vma[] | null = mm.userfaultfd === null ? null : [];
  let ret = 0;
  let unlocked = false;
  try {
    yield* charge(mm.cost.lockOp);
    ret = yield* traced("__do_munmap", doMunmap(mm, start, len, uf, downgrade));
    if (ret === 1) {
      sem.upRead();
      ret = 0;
    } else {
      mmapWriteUnlock(mm);
    }
    unlocked = true;
  } finally {
    // A throw (a hook, a library error) must not leave mmap_sem held in either mode.
    if (!unlocked) mmapUnlockHeld(mm);
  }
  yield* charge(mm.cost.lockOp);
  userfaultfdUnmapComplete(mm, uf); // the ranges __do_munmap's prep recorded
  return ret;
}

/** v4.20's munmap(2): __vm_munmap(start, len, true). */
export const V4_20: MunmapStrategy = Object.freeze({
  name: "v4.20",
  kernel: "v4.20 mm/mmap.c __vm_munmap(downgrade=true) -> __do_munmap() (dd2283f2605e)",
  description:
    "merged form: detach under the write lock, downgrade for every mapping, zap and free page tables under the read lock",
  munmap: (mm: MmStruct, start: number, len: number) => __vmMunmap(mm, start, len, true),
  doMunmap: __doMunmap,
});
