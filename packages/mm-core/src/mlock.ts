/**
 * mlock(2) / munlock(2) (mm/mlock.c — v4.19): VM_LOCKED on the VMAs of a range (splitting
 * and merging as mprotect does), locked_vm accounting against RLIMIT_MEMLOCK, and the
 * populate that makes the pages resident after the write lock is dropped.
 */
import {
  VM_HUGETLB,
  VM_LOCKED,
  VM_LOCKED_CLEAR_MASK,
  VM_SPECIAL,
  type Vma,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EAGAIN, EFAULT, EINTR, EINVAL, ENOMEM, EPERM } from "./errno.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { mmPopulate } from "./populate.js";
import { checkArg, pageAlignUlong, ulongAdd, ulongArg } from "./syscall-args.js";
import { vmaMergeOrSplit } from "./vma-modify.js";

/** mm/mlock.c: can_do_mlock() — v4.19. */
export function canDoMlock(mm: MmStruct): boolean {
  return mm.rlimits.memlock !== 0 || mm.capIpcLock;
}

/**
 * mm/mlock.c: mlock_fixup() — v4.19: give [start, end) of `vma` the flags `newflags`,
 * merging with prev or splitting off the rest. Returns the VMA now covering the range
 * (the kernel's *prev) or a negative errno.
 */
export function* mlockFixup(
  mm: MmStruct,
  vma: Vma,
  prev: Vma | null,
  start: number,
  end: number,
  newflags: number,
): Op<Vma | number> {
  const oldFlags = vma.vmFlags;
  if (
    newflags === oldFlags ||
    vmFlagsHas(oldFlags, VM_SPECIAL) ||
    vmFlagsHas(oldFlags, VM_HUGETLB)
  ) {
    return vma; // don't set VM_LOCKED on special mappings, nor change unchanged ones
  }
  const r = yield* vmaMergeOrSplit(mm, vma, prev, start, end, newflags);
  if (typeof r === "number") return r;
  vma = r;
  // Keep track of the amount of locked VM.
  const lock = vmFlagsHas(newflags, VM_LOCKED);
  let nrPages = (end - start) / PAGE_SIZE;
  if (!lock) nrPages = -nrPages;
  else if (vmFlagsHas(oldFlags, VM_LOCKED)) nrPages = 0;
  mm.lockedVm += nrPages;
  vma.vmFlags = newflags;
  if (!lock) yield* charge(((end - start) / PAGE_SIZE) * mm.cost.munlockPage);
  return vma;
}

/** mm/mlock.c: apply_vma_lock_flags() — v4.19, with the write lock held. */
export function* applyVmaLockFlags(
  mm: MmStruct,
  start: number,
  len: number,
  flags: number,
): Op<number> {
  const end = start + len;
  if (end >= 2 ** 64) return -EINVAL; // end < start: the sum wrapped
  if (end === start) return 0;
  let vma = mm.tree.findVma(start);
  if (vma === null || vma.vmStart > start) return -ENOMEM;
  let prev = mm.tree.vmaPrev(vma);
  if (start > vma.vmStart) prev = vma;
  for (let nstart = start; ; ) {
    const newflags = ((vma.vmFlags & VM_LOCKED_CLEAR_MASK) | flags) >>> 0;
    const tmp = Math.min(vma.vmEnd, end);
    const r = yield* mlockFixup(mm, vma, prev, nstart, tmp, newflags);
    if (typeof r === "number") return r;
    prev = r;
    nstart = tmp;
    if (nstart < prev.vmEnd) nstart = prev.vmEnd;
    if (nstart >= end) return 0;
    const next = mm.tree.vmaNext(prev);
    if (next === null || next.vmStart !== nstart) return -ENOMEM;
    vma = next;
  }
}

/** mm/mlock.c: count_mm_mlocked_page_nr() — v4.19: locked pages already inside the range. */
function countMmMlockedPageNr(mm: MmStruct, start: number, len: number): number {
  let count = 0;
  const end = start + len;
  for (const vma of mm.tree.range(start, end)) {
    if (!vmFlagsHas(vma.vmFlags, VM_LOCKED)) continue;
    count += (Math.min(end, vma.vmEnd) - Math.max(start, vma.vmStart)) / PAGE_SIZE;
  }
  return count;
}

/** do_mlock()'s `len = PAGE_ALIGN(len + offset_in_page(start)); start &= PAGE_MASK`, in unsigned long. */
function alignRange(start: number, len: number): { start: number; len: number } {
  const off = start % PAGE_SIZE;
  return { start: start - off, len: pageAlignUlong(ulongAdd(len, off)) };
}

/** mm/mlock.c: __mlock_posix_error_return() — v4.19: POSIX errnos for a failed populate. */
export function mlockPosixErrorReturn(retval: number): number {
  if (retval === -EFAULT) return -ENOMEM;
  if (retval === -ENOMEM) return -EAGAIN;
  return retval;
}

/** mm/mlock.c: do_mlock() — v4.19, the mlock(2) system call. 0 or a negative errno. */
export function* sysMlock(mm: MmStruct, start0: number, len0: number): Op<number> {
  checkArg("sysMlock", "start", start0);
  checkArg("sysMlock", "len", len0);
  yield* charge(mm.cost.syscall);
  if (!canDoMlock(mm)) return -EPERM;
  const { start, len } = alignRange(ulongArg(start0), ulongArg(len0));
  const lockLimit = Math.floor(mm.rlimits.memlock / PAGE_SIZE);
  let locked = len / PAGE_SIZE;
  if ((yield* mm.mmapSem.downWriteKillable()) !== 0) return -EINTR;
  let error = -ENOMEM;
  try {
    yield* charge(mm.cost.lockOp);
    locked += mm.lockedVm;
    if (locked > lockLimit && !mm.capIpcLock) {
      // Pages already locked in the range do not count twice.
      locked -= countMmMlockedPageNr(mm, start, len);
    }
    if (locked <= lockLimit || mm.capIpcLock)
      error = yield* applyVmaLockFlags(mm, start, len, VM_LOCKED);
  } finally {
    mm.mmapSem.upWrite();
  }
  yield* charge(mm.cost.lockOp);
  if (error !== 0) return error;
  return mlockPosixErrorReturn(yield* mmPopulate(mm, start, len, false));
}

/** mm/mlock.c: SYSCALL munlock() — v4.19. 0 or a negative errno. */
export function* sysMunlock(mm: MmStruct, start0: number, len0: number): Op<number> {
  checkArg("sysMunlock", "start", start0);
  checkArg("sysMunlock", "len", len0);
  yield* charge(mm.cost.syscall);
  const { start, len } = alignRange(ulongArg(start0), ulongArg(len0));
  if ((yield* mm.mmapSem.downWriteKillable()) !== 0) return -EINTR;
  let ret: number;
  try {
    yield* charge(mm.cost.lockOp);
    ret = yield* applyVmaLockFlags(mm, start, len, 0);
  } finally {
    mm.mmapSem.upWrite();
  }
  yield* charge(mm.cost.lockOp);
  return ret;
}
