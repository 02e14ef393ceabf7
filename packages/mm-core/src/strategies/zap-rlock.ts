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
import { mmapUnlockHeld } from "../mmap-unlock.js";
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
 * mm/mmap.c: vm_munmap_zap_rlock() and do_munmap_zap_rlock() — RFC v7 2/4 (Yang Shi,
 * linux-mm 2018-08-10, the text in /work/shared/reference), with the special-mapping fallback
 * of RFC v7 4/4 "mm: unmap special vmas with regular do_munmap()". userfaultfd's completion
 * gets the range the prep recorded: [start, start + PAGE_ALIGN(len)).
 */
export function* vmMunmapZapRlock(mm: MmStruct, start: number, len: number): Op<number> {
  const bad = munmapRangeOk(mm, start, len);
  if (bad !== 0) return bad;
  const end = start + munmapAlignLen(len);
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR; // killed while waiting: nothing changed
  const uf: Vma[] | null = mm.userfaultfd === null ? null : [];
  let ret = 0;
  let unlocked = false;
  try {
    yield* charge(mm.cost.lockOp);
    const r = yield* doMunmapZapRlock(mm, start, len, end, uf);
    ret = r.ret;
    if (r.downgraded) sem.upRead();
    else sem.upWrite();
    unlocked = true;
  } finally {
    // A throw (a hook, a library error) must not leave mmap_sem held in either mode.
    if (!unlocked) mmapUnlockHeld(mm);
  }
  yield* charge(mm.cost.lockOp);
  userfaultfdUnmapComplete(mm, uf);
  return ret;
}

/**
 * The body of do_munmap_zap_rlock() under the write lock, which it downgrades for the zap
 * (`downgraded`); the caller releases it in whichever mode it ends in.
 */
function* doMunmapZapRlock(
  mm: MmStruct,
  start: number,
  len: number,
  end: number,
  uf: Vma[] | null,
): Op<{ ret: number; downgraded: boolean }> {
  const sem = mm.mmapSem;
  const first = yield* munmapLookupVma(mm, start, end);
  if (first === null || typeof first === "number") {
    return { ret: first === null ? 0 : first, downgraded: false };
  }
  const prev = mm.tree.vmaPrev(first);

  // Special mappings keep the old path, still under the write lock. The scan comes before
  // userfaultfd's prep (it only reads vm_flags and the uprobes), so that the fallback's
  // do_munmap is the one prep: each VMA with a context is prepared exactly once. The splits
  // already done are harmless (do_munmap finds the same boundaries).
  for (let v: Vma | null = first; v !== null && v.vmStart < end; v = mm.tree.vmaNext(v)) {
    yield* charge(mm.cost.vmaSpecialCheck);
    // The `|` was in RFC v7 4/4 "mm: unmap special vmas with regular do_munmap()" (2018-08-09):
    // `vm_flags | (VM_HUGETLB | VM_PFNMAP)` is always true, so every munmap would take the
    // fallback; Vlastimil Babka replied to 4/4 twice on 2018-08-10 (the thread overview of the
    // RFC v7 2/4 text; 4/4's diff itself is not in that text). This is the intended `&`.
    if (
      (v.vmFile !== null && vmaHasUprobes(mm, v, start, end)) ||
      vmFlagsHas(v.vmFlags, VM_HUGETLB | VM_PFNMAP)
    ) {
      const ret = yield* traced("do_munmap", doMunmap(mm, start, len, uf));
      return { ret, downgraded: false };
    }
  }
  if (uf !== null) {
    const err = userfaultfdUnmapPrep(mm, first, start, end, uf);
    if (err !== 0) return { ret: err, downgraded: false };
  }

  // munlock changes vm_flags of live VMAs: it must run before the downgrade.
  yield* munlockRange(mm, first, end);
  const detached = yield* detachVmasToBeUnmapped(mm, first, end);
  sem.downgradeWrite();
  yield* charge(mm.cost.lockOp);

  // Under the read lock from here: nobody can find the detached VMAs any more.
  yield* traced("unmap_region", unmapRegion(mm, detached, prev, start, end));
  yield* removeVmaList(mm, detached);
  return { ret: 0, downgraded: true };
}

export const ZAP_RLOCK: MunmapStrategy = Object.freeze({
  name: "zapRlock",
  kernel: "RFC v8 3/5 do_munmap_zap_rlock() (Yang Shi, linux-mm 2018-08-15)",
  description:
    "detach under the write lock, downgrade, zap and free page tables under the read lock",
  munmap: vmMunmapZapRlock,
});
