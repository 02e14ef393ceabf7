/**
 * mlockall(2) / munlockall(2) (mm/mlock.c — v4.19): VM_LOCKED (and VM_LOCKONFAULT) on every
 * VMA and, with MCL_FUTURE, in mm->def_flags for the mappings to come; then, for MCL_CURRENT,
 * mm_populate() of the whole address space after the write lock is dropped.
 */
import { VM_LOCKED, VM_LOCKED_CLEAR_MASK, VM_LOCKONFAULT, type Vma } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EINTR, EINVAL, ENOMEM, EPERM } from "./errno.js";
import { PAGE_SIZE } from "./layout.js";
import { canDoMlock, mlockFixup } from "./mlock.js";
import type { MmStruct } from "./mm-struct.js";
import { mmPopulate } from "./populate.js";
import { checkArg, intArg } from "./syscall-args.js";
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT } from "./uapi.js";

/**
 * mm/mlock.c: apply_mlockall_flags() — v4.19, under the write lock: def_flags for MCL_FUTURE,
 * then (MCL_CURRENT, or 0 for munlockall) every VMA's lock flags, ignoring errors.
 */
function* applyMlockallFlags(mm: MmStruct, flags: number): Op<number> {
  mm.defFlags = (mm.defFlags & VM_LOCKED_CLEAR_MASK) >>> 0;
  if (flags & MCL_FUTURE) {
    mm.defFlags = (mm.defFlags | VM_LOCKED) >>> 0;
    if (flags & MCL_ONFAULT) mm.defFlags = (mm.defFlags | VM_LOCKONFAULT) >>> 0;
    if (!(flags & MCL_CURRENT)) return 0;
  }
  let toAdd = 0;
  if (flags & MCL_CURRENT) {
    toAdd = VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd = (toAdd | VM_LOCKONFAULT) >>> 0;
  }
  let prev: Vma | null = null;
  let vma: Vma | null = mm.tree.first();
  while (vma !== null) {
    const newflags = ((vma.vmFlags & VM_LOCKED_CLEAR_MASK) | toAdd) >>> 0;
    // Errors are ignored; the VMA now covering the range is the next one's prev.
    const r: Vma | number = yield* mlockFixup(mm, vma, prev, vma.vmStart, vma.vmEnd, newflags);
    const cur: Vma = typeof r === "number" ? vma : r;
    prev = cur;
    vma = mm.tree.vmaNext(cur);
  }
  return 0;
}

/** mm/mlock.c: SYSCALL_DEFINE1(mlockall, int, flags) — v4.19. 0 or a negative errno. */
export function* sysMlockall(mm: MmStruct, flags: number): Op<number> {
  checkArg("sysMlockall", "flags", flags);
  flags = intArg(flags);
  yield* charge(mm.cost.syscall);
  if (flags === 0 || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) {
    return -EINVAL;
  }
  if (!canDoMlock(mm)) return -EPERM;
  const lockLimit = Math.floor(mm.rlimits.memlock / PAGE_SIZE);
  if ((yield* mm.mmapSem.downWriteKillable()) !== 0) return -EINTR;
  let ret = -ENOMEM;
  try {
    yield* charge(mm.cost.lockOp);
    if (!(flags & MCL_CURRENT) || mm.totalVm <= lockLimit || mm.capIpcLock) {
      ret = yield* applyMlockallFlags(mm, flags);
    }
  } finally {
    mm.mmapSem.upWrite();
  }
  yield* charge(mm.cost.lockOp);
  // mm_populate(0, TASK_SIZE), errors ignored. With MCL_ONFAULT every VMA is VM_LOCKONFAULT,
  // which populate_vma_page_range() does not fault in (no FOLL_POPULATE): nothing to do.
  if (ret === 0 && flags & MCL_CURRENT && !(flags & MCL_ONFAULT)) {
    yield* mmPopulate(mm, 0, mm.taskSize);
  }
  return ret;
}

/** mm/mlock.c: SYSCALL_DEFINE0(munlockall) — v4.19. 0 or -EINTR. */
export function* sysMunlockall(mm: MmStruct): Op<number> {
  yield* charge(mm.cost.syscall);
  if ((yield* mm.mmapSem.downWriteKillable()) !== 0) return -EINTR;
  let ret: number;
  try {
    yield* charge(mm.cost.lockOp);
    ret = yield* applyMlockallFlags(mm, 0);
  } finally {
    mm.mmapSem.upWrite();
  }
  yield* charge(mm.cost.lockOp);
  return ret;
}
