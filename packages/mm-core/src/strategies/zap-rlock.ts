/**
 * `zapRlock`: Yang Shi's do_munmap_zap_rlock() (RFC v7/v8, linux-mm 2018): lookup, split,
 * munlock and detach under the write lock; downgrade_write(); zap, free_pgtables and
 * remove_vma_list under the read lock. VM_HUGETLB / VM_PFNMAP / uprobed VMAs fall back to
 * the classic path.
 */
import { traced } from "@mmlab/sched";
import { VM_HUGETLB, VM_PFNMAP, type Vma, vmFlagsHas } from "@mmlab/vma-tree";
import { charge, type Op } from "../charge.js";
import { EINTR } from "../errno.js";
import { userfaultfdUnmapComplete, userfaultfdUnmapPrep, vmaHasUprobes } from "../hooks.js";
import type { MmStruct } from "../mm-struct.js";
import {
  detachVmasToBeUnmapped,
  doMunmap,
  munlockRange,
  munmapAlignLen,
  munmapLookupVma,
  munmapRangeOk,
  removeVmaList,
  unmapRegion,
} from "../munmap.js";
import type { MunmapStrategy } from "./strategy.js";

/**
 * mm/mmap.c: do_munmap_zap_rlock() with vm_munmap_zap_rlock() — RFC v8 3/5 (Yang Shi,
 * linux-mm 2018-08-15). The special-mapping test is the intended
 * `vm_flags & (VM_HUGETLB | VM_PFNMAP)`; the posted patch had `|`, always true
 * (found by Vlastimil Babka in review).
 */
export function* vmMunmapZapRlock(mm: MmStruct, start: number, len: number): Op<number> {
  const bad = munmapRangeOk(mm, start, len);
  if (bad !== 0) return bad;
  const end = start + munmapAlignLen(len);
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR; // killed while waiting: nothing changed
  yield* charge(mm.cost.lockOp);
  const uf: Vma[] | null = mm.userfaultfd === null ? null : [];
  const ret = yield* doMunmapZapRlock(mm, start, len, end, uf);
  userfaultfdUnmapComplete(mm, uf, start, end);
  return ret;
}

/** The body of do_munmap_zap_rlock(): takes the write lock held, returns with it released. */
function* doMunmapZapRlock(
  mm: MmStruct,
  start: number,
  len: number,
  end: number,
  uf: Vma[] | null,
): Op<number> {
  const sem = mm.mmapSem;
  const first = yield* munmapLookupVma(mm, start, end);
  if (first === null || typeof first === "number") {
    sem.upWrite();
    yield* charge(mm.cost.lockOp);
    return first === null ? 0 : first;
  }
  const prev = mm.tree.vmaPrev(first);
  if (uf !== null) {
    const err = userfaultfdUnmapPrep(mm, first, start, end, uf);
    if (err !== 0) {
      sem.upWrite();
      yield* charge(mm.cost.lockOp);
      return err;
    }
  }

  // Special mappings keep the old path, still under the write lock; the splits already done
  // are harmless (do_munmap finds the same boundaries).
  for (let v: Vma | null = first; v !== null && v.vmStart < end; v = mm.tree.vmaNext(v)) {
    yield* charge(mm.cost.vmaSpecialCheck);
    if (
      (v.vmFile !== null && vmaHasUprobes(mm, v, start, end)) ||
      vmFlagsHas(v.vmFlags, VM_HUGETLB | VM_PFNMAP)
    ) {
      const ret = yield* traced("do_munmap", doMunmap(mm, start, len, uf));
      sem.upWrite();
      yield* charge(mm.cost.lockOp);
      return ret;
    }
  }

  // munlock changes vm_flags of live VMAs: it must run before the downgrade.
  yield* munlockRange(mm, first, end);
  const detached = yield* detachVmasToBeUnmapped(mm, first, end);
  sem.downgradeWrite();
  yield* charge(mm.cost.lockOp);

  // Under the read lock from here: nobody can find the detached VMAs any more.
  yield* traced("unmap_region", unmapRegion(mm, detached, prev, start, end));
  yield* removeVmaList(mm, detached);
  sem.upRead();
  yield* charge(mm.cost.lockOp);
  return 0;
}

export const ZAP_RLOCK: MunmapStrategy = Object.freeze({
  name: "zapRlock",
  kernel: "RFC v8 3/5 do_munmap_zap_rlock() (Yang Shi, linux-mm 2018-08-15)",
  description:
    "detach under the write lock, downgrade, zap and free page tables under the read lock",
  munmap: vmMunmapZapRlock,
});
