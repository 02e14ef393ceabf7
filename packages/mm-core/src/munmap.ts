/**
 * The pieces of munmap(2) every strategy shares (mm/mmap.c, mm/memory.c — v4.19), in the
 * kernel's order:
 *
 *   munmapRangeOk -> munmapLookupVma (find_vma + both splits) -> userfaultfd prep
 *     -> munlock -> detachVmasToBeUnmapped -> unmapRegion (zap + free_pgtables)
 *     -> removeVmaList
 *
 * doMunmap() below is v4.19's do_munmap() built from them; the strategies in strategies/ decide which of these run under the write lock and
 * which under the read lock. Each piece charges virtual time from the mm's cost model;
 * unmapRegion charges once per PMD entry, at zap_pmd_range()'s cond_resched().
 */
import { freePgtables, MmuGather, ZapCursor } from "@mmlab/page-table";
import {
  __splitVma,
  VM_ACCOUNT,
  VM_EXEC,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_SHARED,
  VM_STACK,
  VM_WRITE,
  type Vma,
  vmaPages,
  vmFlagsClear,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EINVAL, ENOMEM } from "./errno.js";
import { userfaultfdUnmapPrep } from "./hooks.js";
import { FIRST_USER_ADDRESS, PAGE_SIZE, pageAligned, USER_PGTABLES_CEILING } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";

/** munmap's range check (addr_ok in the RFC, the head of do_munmap in v4.19): 0 or -EINVAL. */
export function munmapRangeOk(mm: MmStruct, start: number, len: number): number {
  if (!Number.isFinite(start) || !Number.isFinite(len) || start < 0 || len < 0) return -EINVAL;
  if (!pageAligned(start) || start > mm.taskSize || len > mm.taskSize - start) return -EINVAL;
  if (len === 0) return -EINVAL;
  return 0;
}

/** PAGE_ALIGN(len) for a len already known to be below TASK_SIZE - start. */
export function munmapAlignLen(len: number): number {
  return Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * mm/mmap.c: munmap_lookup_vma() — RFC v7 1/4 (Yang Shi, linux-mm 2018), the first half of
 * v4.19 do_munmap(): find the first VMA overlapping [start, end) and split the VMAs that
 * straddle start and end. Returns the first VMA inside the range, null when nothing
 * overlaps, or a negative errno (the first split is kept if the second fails, as in 4.19).
 */
export function* munmapLookupVma(
  mm: MmStruct,
  start: number,
  end: number,
): Op<Vma | null | number> {
  yield* charge(mm.cost.vmaLookup);
  const vma = mm.tree.findVma(start);
  if (vma === null || vma.vmStart >= end) return null;
  let prev = mm.tree.vmaPrev(vma);

  // Does it split the first one?
  if (start > vma.vmStart) {
    // A hole punched inside one VMA leaves two: map_count on return must stay within the limit.
    if (end < vma.vmEnd && mm.mapCount >= mm.maxMapCount) return -ENOMEM;
    const err = __splitVma(mm, vma, start, false);
    if (typeof err === "number") return err;
    yield* charge(mm.cost.vmaSplit);
    prev = vma;
  }

  // Does it split the last one?
  const last = mm.tree.findVma(end);
  if (last !== null && end > last.vmStart) {
    const err = __splitVma(mm, last, end, true);
    if (typeof err === "number") return err;
    yield* charge(mm.cost.vmaSplit);
  }
  return prev === null ? mm.tree.first() : mm.tree.vmaNext(prev);
}

/**
 * The munlock loop of do_munmap() (mm/mmap.c, mm/mlock.c munlock_vma_pages_all — v4.19):
 * VM_LOCKED VMAs inside the range give back locked_vm and lose VM_LOCKED. It changes
 * vm_flags of live VMAs, which is why the patch keeps it under the write lock.
 */
export function* munlockRange(mm: MmStruct, vma: Vma | null, end: number): Op<void> {
  if (mm.lockedVm === 0) return;
  for (let tmp = vma; tmp !== null && tmp.vmStart < end; tmp = mm.tree.vmaNext(tmp)) {
    if (!vmFlagsHas(tmp.vmFlags, VM_LOCKED)) continue;
    const pages = vmaPages(tmp);
    mm.lockedVm -= pages;
    tmp.vmFlags = vmFlagsClear(tmp.vmFlags, VM_LOCKED | VM_LOCKONFAULT);
    yield* charge(pages * mm.cost.munlockPage);
  }
}

/**
 * mm/mmap.c: detach_vmas_to_be_unmapped() — v4.19. Removes the VMAs from `vma` up to `end`
 * from the tree (map_count drops with them) and returns them as the private detached list,
 * ascending. After this no lookup can find them: a racing fault gets SIGSEGV.
 */
export function* detachVmasToBeUnmapped(mm: MmStruct, vma: Vma, end: number): Op<Vma[]> {
  const detached: Vma[] = [];
  for (let v: Vma | null = vma; v !== null && v.vmStart < end; ) {
    const next = mm.tree.vmaNext(v);
    mm.tree.erase(v);
    detached.push(v);
    yield* charge(mm.cost.vmaDetach);
    v = next;
  }
  return detached;
}

/**
 * mm/mmap.c: unmap_region() — v4.19. Zaps the detached VMAs' pages and frees their page
 * tables between floor (the end of prev) and ceiling (the start of the VMA above the hole).
 * The ceiling is read when free_pgtables runs, after the zap, as the kernel reads
 * next->vm_start then: this is the window the v5.8 stack-expansion race lives in.
 */
export function* unmapRegion(
  mm: MmStruct,
  detached: readonly Vma[],
  prev: Vma | null,
  start: number,
  end: number,
): Op<void> {
  const next = prev === null ? mm.tree.first() : mm.tree.vmaNext(prev);
  const tlb = new MmuGather(mm.pt);
  tlb.tlbGatherMmu(start, end);
  mm.updateHiwaterRss();
  const cost = mm.cost;
  const stats = tlb.stats;
  // unmap_vmas(): one unmap_single_vma() per detached VMA, clamped to [start, end).
  for (const vma of detached) yield* unmapSingleVma(mm, tlb, vma, start, end);
  const ceiling = next === null ? USER_PGTABLES_CEILING : next.vmStart;
  const floor = prev === null ? FIRST_USER_ADDRESS : prev.vmEnd;
  const tablesBefore = stats.pagetablePagesFreed;
  const flushesBefore = stats.tlbFlushes;
  const freedBefore = stats.pagesFreed;
  freePgtables(tlb, detached, floor, ceiling);
  tlb.tlbFinishMmu(start, end);
  yield* charge(
    (stats.pagetablePagesFreed - tablesBefore) * cost.pgtableFree +
      (stats.tlbFlushes - flushesBefore) * cost.tlbFlush +
      (stats.pagesFreed - freedBefore) * cost.pageFree,
  );
}

/**
 * mm/memory.c: unmap_single_vma() — v4.19: zap the part of `vma` inside [start, end), one
 * PMD entry at a time, charging each step's cost at zap_pmd_range()'s cond_resched() so
 * that other tasks run in between. The last step is tlb_end_vma(), which flushes.
 */
export function* unmapSingleVma(
  mm: MmStruct,
  tlb: MmuGather,
  vma: { vmStart: number; vmEnd: number },
  start: number,
  end: number,
): Op<void> {
  const zapStart = Math.max(vma.vmStart, start);
  const zapEnd = Math.min(vma.vmEnd, end);
  if (zapStart >= zapEnd) return;
  const cost = mm.cost;
  const stats = tlb.stats;
  const cursor = new ZapCursor(tlb, zapStart, zapEnd);
  let flushes = stats.tlbFlushes;
  let freed = stats.pagesFreed;
  for (;;) {
    const ptes = cursor.step();
    const ns =
      (ptes >= 0 ? cost.pmdStep + ptes * cost.pteZap : 0) +
      (stats.pagesFreed - freed) * cost.pageFree +
      (stats.tlbFlushes - flushes) * cost.tlbFlush;
    flushes = stats.tlbFlushes;
    freed = stats.pagesFreed;
    yield* charge(ns);
    if (ptes < 0) return;
  }
}

/**
 * mm/mmap.c: vm_stat_account() — v4.19: total_vm, and exactly one of exec_vm, stack_vm,
 * data_vm by the mapping's flags.
 */
export function vmStatAccount(mm: MmStruct, flags: number, npages: number): void {
  mm.totalVm += npages;
  if ((flags & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC) mm.execVm += npages;
  else if ((flags & VM_STACK) === VM_STACK) mm.stackVm += npages;
  else if ((flags & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE) mm.dataVm += npages;
}

/**
 * mm/mmap.c: remove_vma_list() — v4.19: account and free the detached VMAs (vm_ops->close,
 * then the struct), and give back their overcommit charge.
 */
export function* removeVmaList(mm: MmStruct, detached: readonly Vma[]): Op<void> {
  let nrAccounted = 0;
  mm.updateHiwaterVm();
  for (const vma of detached) {
    const nrpages = vmaPages(vma);
    if (vmFlagsHas(vma.vmFlags, VM_ACCOUNT)) nrAccounted += nrpages;
    vmStatAccount(mm, vma.vmFlags, -nrpages);
    removeVma(vma);
    yield* charge(mm.cost.vmaFree);
  }
  mm.committedVm -= nrAccounted;
}

/** mm/mmap.c: remove_vma() — v4.19: the close hook; file and policy references drop with it. */
export function removeVma(vma: Vma): void {
  vma.vmOps?.close?.(vma);
}

/**
 * mm/mmap.c: do_munmap() — v4.19, entirely under the caller's write lock. Also the
 * fallback of zapRlock for special mappings, and what mmap(MAP_FIXED) uses to clear a range.
 */
export function* doMunmap(mm: MmStruct, start: number, len: number, uf: Vma[] | null): Op<number> {
  const bad = munmapRangeOk(mm, start, len);
  if (bad !== 0) return bad;
  const end = start + munmapAlignLen(len);

  const first = yield* munmapLookupVma(mm, start, end);
  if (typeof first === "number") return first;
  if (first === null) return 0;
  const prev = mm.tree.vmaPrev(first);

  if (uf !== null) {
    const err = userfaultfdUnmapPrep(mm, first, start, end, uf);
    if (err !== 0) return err;
  }
  yield* munlockRange(mm, first, end);
  const detached = yield* detachVmasToBeUnmapped(mm, first, end);
  yield* unmapRegion(mm, detached, prev, start, end);
  yield* removeVmaList(mm, detached);
  return 0;
}
