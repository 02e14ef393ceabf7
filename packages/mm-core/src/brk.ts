/**
 * brk(2) (mm/mmap.c sys_brk(), do_brk_flags() — v4.19 and v4.20; v6.8's merge rule under
 * the v6.8 / v6.18 generations): the heap is one VMA that starts at mm->start_brk and ends
 * at PAGE_ALIGN(mm->brk).
 *
 *   start_brk                 oldbrk          newbrk
 *   |========= [heap] ========|-- grow: do_brk_flags(oldbrk, newbrk - oldbrk) -->|
 *   |==== [heap] ====|<-- shrink: do_munmap(newbrk, oldbrk - newbrk) --|
 *
 * Growth merges into the heap VMA (vma_merge) and is charged like any private writable
 * mapping (VM_ACCOUNT, data_vm). A shrink unmaps; under a strategy whose __do_munmap can
 * downgrade (v4.20+: "mm: brk: downgrade mmap_sem to read when shrinking", Yang Shi, 2018),
 * mm->brk is set first, under the write lock, and restored if the unmap fails. brk(2)
 * returns the new break, or the old one when it refuses; never an errno except -EINTR.
 */
import { traced } from "@mmlab/sched";
import {
  canVmaMergeAfter,
  VM_ACCOUNT,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_READ,
  VM_SOFTDIRTY,
  VM_WRITE,
  Vma,
  vmaMerge,
  vmFlagsHas,
  vmFlagsSet,
  vmStartGap,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EAGAIN, EINTR, EINVAL, ENOMEM, ENOSPC } from "./errno.js";
import { userfaultfdUnmapComplete } from "./hooks.js";
import { PAGE_SIZE, pageAlign } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { getUnmappedArea, isErrValue, mayExpandVm, securityVmEnoughMemoryMm } from "./mmap.js";
import { mmapUnlockHeld } from "./mmap-unlock.js";
import { doMunmap } from "./munmap.js";
import { mmPopulate } from "./populate.js";
import { checkArg, ulongArg } from "./syscall-args.js";
import { MAP_FIXED } from "./uapi.js";
import { mmapWriteUnlock, vmaStartWrite } from "./vma-lock.js";

/** VM_DATA_DEFAULT_FLAGS on x86_64 (no READ_IMPLIES_EXEC personality). */
const VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

/**
 * include/linux/mm.h: check_data_rlimit() — v4.19: the heap plus the data segment must fit
 * RLIMIT_DATA. The executable's data segment is not modelled (its size is 0).
 */
export function checkDataRlimit(rlim: number, newBrk: number, startBrk: number): number {
  if (rlim < Number.POSITIVE_INFINITY && newBrk - startBrk > rlim) return -ENOSPC;
  return 0;
}

/** mm/mmap.c: mlock_future_check() — v4.19. */
function mlockFutureCheck(mm: MmStruct, flags: number, len: number): number {
  if (!vmFlagsHas(flags, VM_LOCKED) || mm.capIpcLock) return 0;
  if ((mm.lockedVm + len / PAGE_SIZE) * PAGE_SIZE > mm.rlimits.memlock) return -EAGAIN;
  return 0;
}

/**
 * mm/mmap.c: do_brk_flags() — v4.19: map [addr, addr + len) as heap, merging into the VMA
 * below when it can. Under the caller's write lock. 0 or a negative errno.
 */
export function* doBrkFlags(
  mm: MmStruct,
  addr: number,
  len: number,
  flags: number,
  uf: Vma[] | null,
): Op<number> {
  // Until we need other flags, refuse anything except VM_EXEC (here: anything at all).
  if (flags !== 0) return -EINVAL;
  flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | mm.defFlags;
  const mapped = getUnmappedArea(mm, addr, len, 0, MAP_FIXED);
  if (isErrValue(mapped)) return mapped;
  const err = mlockFutureCheck(mm, mm.defFlags, len);
  if (err !== 0) return err;

  yield* charge(mm.cost.vmaLookup);
  // Clear old maps (find_vma_links() reports an overlap).
  while (mm.tree.findVmaIntersection(addr, addr + len) !== null) {
    if ((yield* doMunmap(mm, addr, len, uf)) !== 0) return -ENOMEM;
  }
  const npages = len / PAGE_SIZE;
  if (!mayExpandVm(mm, flags, npages)) return -ENOMEM;
  if (mm.mapCount > mm.maxMapCount) return -ENOMEM;
  if (securityVmEnoughMemoryMm(mm, npages) !== 0) return -ENOMEM;

  // Can we just expand an old private anonymous mapping?
  const prev = mm.tree.findVmaPrev(addr).prev;
  if (mm.munmapStrategy.perVmaLock === true && prev !== null && prev.vmEnd === addr) {
    yield* vmaStartWrite(mm, prev); // 6.x do_brk_flags() write-locks the VMA it extends
  }
  yield* charge(mm.cost.vmaInsert);
  let vma: Vma | null;
  if (mm.generation === "v4.19") {
    vma = vmaMerge(mm, prev, addr, addr + len, flags, null, null, addr / PAGE_SIZE, null, null);
  } else {
    // 6.x: sys_brk() passes vma_prev_limit(start_brk), so only a VMA of the heap itself is
    // extended (never the bss below start_brk, never the VMA above): recorded on 6.18,
    // ls's one-page bss and its [heap] stay two VMAs.
    vma = null;
    if (
      prev !== null &&
      prev.vmEnd === addr &&
      prev.vmStart >= mm.startBrk &&
      prev.vmPolicy === null &&
      canVmaMergeAfter(prev, flags, null, null, addr / PAGE_SIZE, null)
    ) {
      mm.tree.adjust(prev, prev.vmStart, addr + len, prev.vmPgoff);
      vma = prev;
    }
  }
  if (vma === null) {
    vma = new Vma({ vmStart: addr, vmEnd: addr + len, vmFlags: flags, vmPgoff: addr / PAGE_SIZE });
    mm.tree.insert(vma);
  }
  mm.committedVm += npages;
  mm.totalVm += npages;
  mm.dataVm += npages;
  if (vmFlagsHas(flags, VM_LOCKED)) mm.lockedVm += npages;
  vma.vmFlags = vmFlagsSet(vma.vmFlags, VM_SOFTDIRTY);
  return 0;
}

/**
 * mm/mmap.c: SYSCALL_DEFINE1(brk) — v4.19, and v4.20's shrink through
 * `__do_munmap(..., downgrade=true)` when the mm's strategy has one (v4.20, v5.8,
 * perVmaLock). Returns the new break, the unchanged one on failure, or -EINTR.
 */
export function* sysBrk(mm: MmStruct, brk: number): Op<number> {
  checkArg("sysBrk", "brk", brk);
  brk = ulongArg(brk); // SYSCALL_DEFINE1(brk, unsigned long, brk)
  yield* charge(mm.cost.syscall);
  return yield* traced("SyS_brk", brkLocked(mm, brk));
}

function* brkLocked(mm: MmStruct, brk: number): Op<number> {
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR;
  const origbrk = mm.brk;
  const uf: Vma[] | null = mm.userfaultfd === null ? null : [];
  const newbrk = pageAlign(brk);
  const oldbrk = pageAlign(mm.brk);
  let state: BrkState;
  let unlocked = false;
  try {
    yield* charge(mm.cost.lockOp);
    state = yield* brkUnderLock(mm, brk, newbrk, oldbrk, uf);
    if (state.downgraded) sem.upRead();
    else mmapWriteUnlock(mm);
    unlocked = true;
  } finally {
    // A throw (a hook, a library error) must not leave mmap_sem held in either mode.
    if (!unlocked) mmapUnlockHeld(mm);
  }
  yield* charge(mm.cost.lockOp);
  if (!state.ok) return origbrk;
  userfaultfdUnmapComplete(mm, uf); // [newbrk, oldbrk), as do_munmap prepared it
  if (state.populate) yield* mmPopulate(mm, oldbrk, newbrk - oldbrk);
  return brk;
}

interface BrkState {
  ok: boolean;
  downgraded: boolean;
  populate: boolean;
}

/** The body of brk() under the write lock (which it may downgrade: see `downgraded`). */
function* brkUnderLock(
  mm: MmStruct,
  brk: number,
  newbrk: number,
  oldbrk: number,
  uf: Vma[] | null,
): Op<BrkState> {
  const origbrk = mm.brk;
  let downgraded = false;
  let ok = false;
  const s = mm.munmapStrategy;

  // No CONFIG_COMPAT_BRK (Debian): the break may not go below start_brk.
  if (brk >= mm.startBrk && checkDataRlimit(mm.rlimits.data, brk, mm.startBrk) === 0) {
    if (oldbrk === newbrk) {
      mm.brk = brk;
      ok = true;
    } else if (brk <= mm.brk) {
      // Always allow shrinking brk.
      if (s.doMunmap === undefined) {
        // v4.19: do_munmap() under the write lock, then set the break.
        if ((yield* doMunmap(mm, newbrk, oldbrk - newbrk, uf)) === 0) {
          mm.brk = brk;
          ok = true;
        }
      } else {
        // v4.20: mm->brk must be written under the write lock, so before the downgrade.
        mm.brk = brk;
        const ret = yield* s.doMunmap(mm, newbrk, oldbrk - newbrk, uf, true);
        if (ret < 0) mm.brk = origbrk;
        else {
          downgraded = ret === 1;
          ok = true;
        }
      }
    } else {
      // Check against existing mmap mappings (and a stack's guard gap above the heap).
      const next = mm.tree.findVma(oldbrk);
      const clash = next !== null && newbrk + PAGE_SIZE > vmStartGap(next, mm.stackGuardGap);
      if (!clash && (yield* doBrkFlags(mm, oldbrk, newbrk - oldbrk, 0, uf)) === 0) {
        mm.brk = brk;
        ok = true;
      }
    }
  }

  const populate = ok && newbrk > oldbrk && vmFlagsHas(mm.defFlags, VM_LOCKED);
  return { ok, downgraded, populate };
}
