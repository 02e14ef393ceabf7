/**
 * madvise(2) (mm/madvise.c — v4.19; the v6.8 advice numbers are accepted too).
 *
 * Two kinds of advice:
 *   - page advice under the READ lock: MADV_DONTNEED (zap_page_range(): the pages go, the
 *     VMAs stay, the next touch faults in a zero page or the file again), MADV_FREE (the
 *     same for private anonymous memory here: lazy freeing is not modelled), MADV_WILLNEED
 *     (read-ahead: nothing to model), MADV_REMOVE (punch a hole in a shared file / shmem);
 *   - VMA advice under the WRITE lock (madvise_behavior()): NORMAL / SEQUENTIAL / RANDOM,
 *     DONTFORK / DOFORK, WIPEONFORK / KEEPONFORK, DONTDUMP / DODUMP, HUGEPAGE /
 *     NOHUGEPAGE, MERGEABLE / UNMERGEABLE change vm_flags, so a VMA is split (or merged)
 *     exactly at the range edges, as /proc/PID/maps shows:
 *
 *       madvise(0x7ffff7000000, 8192, MADV_HUGEPAGE) on a 2 MiB VMA (recorded on 6.18):
 *       7ffff7000000-7ffff7002000 rw-p   ← VM_HUGEPAGE
 *       7ffff7002000-7ffff7200000 rw-p
 *
 * The walk over the range (sys_madvise): every VMA in it gets the advice; a hole makes the
 * call return -ENOMEM after the rest was done; a VMA that refuses (-EINVAL for DONTNEED on
 * VM_LOCKED | VM_HUGETLB | VM_PFNMAP) stops it there.
 */
import { MmuGather } from "@mmlab/page-table";
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
  type Vma,
  vmFlagsClear,
  vmFlagsHas,
  vmFlagsSet,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EACCES, EAGAIN, EINTR, EINVAL, ENOMEM } from "./errno.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { unmapSingleVma } from "./munmap.js";
import { checkArg, intArg, pageAlignUlong, ulongArg } from "./syscall-args.js";
import { vmaMergeOrSplit } from "./vma-modify.js";

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
/** 5.4+ (accepted under the v6.8 / v6.18 generations as page advice without effect). */
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
/** 5.14+: fault the range in (populate); modelled as a no-op that validates. */
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
/** 5.18+: MADV_DONTNEED that is allowed on VM_LOCKED memory. */
export const MADV_DONTNEED_LOCKED = 24;
/** 6.1+: synchronous khugepaged collapse; accepted as a no-op (THP is not modelled). */
export const MADV_COLLAPSE = 25;

const MADV_NAMES: Readonly<Record<string, number>> = {
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_DONTDUMP,
  MADV_DODUMP,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_DONTNEED_LOCKED,
  MADV_COLLAPSE,
};

/** The value of an advice by its name ("MADV_DONTNEED" → 4), or undefined. */
export function madviseNameValue(name: string): number | undefined {
  return MADV_NAMES[name];
}

/** mm/madvise.c: madvise_behavior_valid() — v4.19 (CONFIG_KSM, CONFIG_TRANSPARENT_HUGEPAGE). */
function madviseBehaviorValid(mm: MmStruct, behavior: number): boolean {
  if (Number.isInteger(behavior) && behavior >= 0 && behavior <= 19) {
    return behavior <= 4 || behavior >= 8; // 5, 6, 7 are unused
  }
  // 6.x additions.
  return mm.generation !== "v4.19" && behavior >= 20 && behavior <= 25;
}

/** mm/madvise.c: madvise_need_mmap_write() — v4.19: page advice needs only the read lock. */
function madviseNeedMmapWrite(behavior: number): boolean {
  switch (behavior) {
    case MADV_REMOVE:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_FREE:
    case MADV_COLD:
    case MADV_PAGEOUT:
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE:
    case MADV_DONTNEED_LOCKED:
    case MADV_COLLAPSE:
      return false;
    default:
      return true;
  }
}

/** include/linux/mm.h: vma_is_anonymous() — no vm_ops (shmem and special mappings have them). */
function vmaIsAnonymous(vma: Vma): boolean {
  return vma.vmFile === null && vma.vmOps === null;
}

/** mm/madvise.c: can_madv_dontneed_vma() — v4.19 (MADV_DONTNEED_LOCKED, 5.18, allows VM_LOCKED). */
function canMadvDontneedVma(vma: Vma, behavior: number): boolean {
  const refused =
    behavior === MADV_DONTNEED_LOCKED ? VM_HUGETLB | VM_PFNMAP : VM_LOCKED | VM_HUGETLB | VM_PFNMAP;
  return !vmFlagsHas(vma.vmFlags, refused);
}

/**
 * mm/memory.c: zap_page_range() — v4.19: clear the PTEs of [start, end) inside one VMA and
 * free their pages; the page tables stay (only munmap's free_pgtables() frees them).
 * Charged like munmap's zap, one PMD extent per cond_resched().
 */
export function* zapPageRange(mm: MmStruct, start: number, end: number): Op<void> {
  const tlb = new MmuGather(mm.pt);
  tlb.tlbGatherMmu(start, end);
  mm.updateHiwaterRss();
  const stats = tlb.stats;
  for (const vma of mm.tree.range(start, end)) yield* unmapSingleVma(mm, tlb, vma, start, end);
  const flushes = stats.tlbFlushes;
  const freed = stats.pagesFreed;
  tlb.tlbFinishMmu(start, end);
  yield* charge(
    (stats.pagesFreed - freed) * mm.cost.pageFree + (stats.tlbFlushes - flushes) * mm.cost.tlbFlush,
  );
}

/** mm/madvise.c: madvise_dontneed_free() — v4.19. 0 or -EINVAL. */
function* madviseDontneedFree(
  mm: MmStruct,
  vma: Vma,
  start: number,
  end: number,
  behavior: number,
): Op<number> {
  if (!canMadvDontneedVma(vma, behavior)) return -EINVAL;
  // madvise_free_single_vma(): only anonymous memory can be freed lazily.
  if (behavior === MADV_FREE && !vmaIsAnonymous(vma)) return -EINVAL;
  yield* zapPageRange(mm, start, end);
  return 0;
}

/** mm/madvise.c: madvise_remove() — v4.19: punch a hole in a shared writable file mapping. */
function* madviseRemove(mm: MmStruct, vma: Vma, start: number, end: number): Op<number> {
  if (vmFlagsHas(vma.vmFlags, VM_LOCKED)) return -EINVAL;
  if (vma.vmFile === null) return -EINVAL;
  if ((vma.vmFlags & (VM_SHARED | VM_WRITE)) !== (VM_SHARED | VM_WRITE)) return -EACCES;
  // vfs_fallocate(FALLOC_FL_PUNCH_HOLE) drops the page cache and unmaps it everywhere.
  yield* zapPageRange(mm, start, end);
  return 0;
}

/**
 * mm/madvise.c: madvise_behavior() — v4.19: the new vm_flags for the advice, then merge or
 * split so that one VMA covers [start, end). Returns the VMA now covering it (the kernel's
 * *prev) or a negative errno (-ENOMEM from a split becomes -EAGAIN).
 */
function* madviseBehavior(
  mm: MmStruct,
  vma: Vma,
  prev: Vma | null,
  start: number,
  end: number,
  behavior: number,
): Op<Vma | number> {
  let f = vma.vmFlags;
  switch (behavior) {
    case MADV_NORMAL:
      f = vmFlagsClear(f, VM_RAND_READ | VM_SEQ_READ);
      break;
    case MADV_SEQUENTIAL:
      f = vmFlagsSet(vmFlagsClear(f, VM_RAND_READ), VM_SEQ_READ);
      break;
    case MADV_RANDOM:
      f = vmFlagsSet(vmFlagsClear(f, VM_SEQ_READ), VM_RAND_READ);
      break;
    case MADV_DONTFORK:
      f = vmFlagsSet(f, VM_DONTCOPY);
      break;
    case MADV_DOFORK:
      if (vmFlagsHas(f, VM_IO)) return -EINVAL;
      f = vmFlagsClear(f, VM_DONTCOPY);
      break;
    case MADV_WIPEONFORK:
      if (vma.vmFile !== null || vmFlagsHas(f, VM_SHARED)) return -EINVAL;
      f = vmFlagsSet(f, VM_WIPEONFORK);
      break;
    case MADV_KEEPONFORK:
      f = vmFlagsClear(f, VM_WIPEONFORK);
      break;
    case MADV_DONTDUMP:
      f = vmFlagsSet(f, VM_DONTDUMP);
      break;
    case MADV_DODUMP:
      if (!vmFlagsHas(f, VM_HUGETLB) && vmFlagsHas(f, VM_SPECIAL)) return -EINVAL;
      f = vmFlagsClear(f, VM_DONTDUMP);
      break;
    case MADV_MERGEABLE:
      // ksm_madvise(): shared (also read-only shared: VM_MAYSHARE), special and hugetlb
      // mappings are silently skipped.
      if (!vmFlagsHas(f, VM_SHARED | VM_MAYSHARE | VM_SPECIAL | VM_HUGETLB)) {
        f = vmFlagsSet(f, VM_MERGEABLE);
      }
      break;
    case MADV_UNMERGEABLE:
      f = vmFlagsClear(f, VM_MERGEABLE);
      break;
    case MADV_HUGEPAGE:
      f = vmFlagsSet(vmFlagsClear(f, VM_NOHUGEPAGE), VM_HUGEPAGE);
      break;
    case MADV_NOHUGEPAGE:
      f = vmFlagsSet(vmFlagsClear(f, VM_HUGEPAGE), VM_NOHUGEPAGE);
      break;
  }
  if (f === vma.vmFlags) return vma;
  const r = yield* vmaMergeOrSplit(mm, vma, prev, start, end, f);
  if (typeof r === "number") return r === -ENOMEM ? -EAGAIN : r;
  r.vmFlags = f;
  return r;
}

/**
 * mm/madvise.c: madvise() — v4.19, the system call: 0 or a negative errno. -EINVAL for an
 * unknown advice, an unaligned start or a length that wraps; the range is walked VMA by VMA
 * (see the header); -ENOMEM if part of it was unmapped, after advising the rest.
 */
export function* sysMadvise(
  mm: MmStruct,
  start: number,
  lenIn: number,
  behavior: number,
): Op<number> {
  checkArg("sysMadvise", "start", start);
  checkArg("sysMadvise", "len", lenIn);
  checkArg("sysMadvise", "behavior", behavior);
  // SYSCALL_DEFINE3(madvise, unsigned long start, size_t len_in, int behavior)
  start = ulongArg(start);
  lenIn = ulongArg(lenIn);
  behavior = intArg(behavior);
  yield* charge(mm.cost.syscall);
  if (!madviseBehaviorValid(mm, behavior)) return -EINVAL;
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  const len = pageAlignUlong(lenIn);
  if (lenIn !== 0 && len === 0) return -EINVAL; // rounded up from a small negative to zero
  const end = start + len;
  if (end >= 2 ** 64) return -EINVAL; // end < start in unsigned arithmetic
  if (end === start) return 0;

  const write = madviseNeedMmapWrite(behavior);
  const sem = mm.mmapSem;
  if (write) {
    if ((yield* sem.downWriteKillable()) !== 0) return -EINTR;
  } else {
    yield* sem.downRead();
  }
  let ret: number;
  try {
    yield* charge(mm.cost.lockOp);
    ret = yield* madviseLocked(mm, start, end, behavior);
  } finally {
    if (write) sem.upWrite();
    else sem.upRead();
  }
  yield* charge(mm.cost.lockOp);
  return ret;
}

function* madviseLocked(mm: MmStruct, start: number, end: number, behavior: number): Op<number> {
  yield* charge(mm.cost.vmaLookup);
  const found = mm.tree.findVmaPrev(start);
  let vma = found.vma;
  let prev = found.prev;
  if (vma !== null && start > vma.vmStart) prev = vma;
  let unmappedError = 0;
  for (;;) {
    if (vma === null) return -ENOMEM;
    // Here start < (end | vma.vmEnd).
    if (start < vma.vmStart) {
      unmappedError = -ENOMEM;
      start = vma.vmStart;
      if (start >= end) return -ENOMEM;
    }
    const tmp = Math.min(vma.vmEnd, end);
    let err = 0;
    switch (behavior) {
      case MADV_REMOVE:
        prev = null; // the hole punch may drop mmap_sem: look the next VMA up again
        err = yield* madviseRemove(mm, vma, start, tmp);
        break;
      case MADV_DONTNEED:
      case MADV_DONTNEED_LOCKED:
      case MADV_FREE:
        prev = vma;
        err = yield* madviseDontneedFree(mm, vma, start, tmp, behavior);
        break;
      case MADV_WILLNEED:
      case MADV_COLD:
      case MADV_PAGEOUT:
      case MADV_POPULATE_READ:
      case MADV_POPULATE_WRITE:
      case MADV_COLLAPSE:
        prev = vma; // read-ahead, reclaim hints, populate, collapse: nothing the layout shows
        break;
      default: {
        const r = yield* madviseBehavior(mm, vma, prev, start, tmp, behavior);
        if (typeof r === "number") err = r;
        else prev = r;
      }
    }
    if (err !== 0) return err;
    start = tmp;
    if (prev !== null && start < prev.vmEnd) start = prev.vmEnd;
    if (start >= end) return unmappedError;
    vma = prev !== null ? mm.tree.vmaNext(prev) : mm.tree.findVma(start);
  }
}
