/**
 * mremap(2) for anonymous memory (mm/mremap.c — v4.19, and v4.20's shrink through
 * `__do_munmap(..., downgrade=true)`, 85a06835f6f1 "mm: mremap: downgrade mmap_sem to read
 * when shrinking").
 *
 *   shrink            [addr ========|- unmap -)      old_len >= new_len: unmap the tail
 *   grow in place     [addr ============|+ + +)      old range ends its VMA, room above
 *   move (MAYMOVE)    [addr ====)  ...  [new ======+ + +)   copy_vma + move_page_tables,
 *                                                           then do_munmap(old)
 *   MREMAP_FIXED      like move, to new_addr, after unmapping whatever was there
 *
 * move_page_tables() moves present PTEs one PMD extent at a time (cond_resched per extent):
 * the frame keeps its identity (same pfn, same contents) at the new address. Only the shrink
 * is optimised by v4.20; moves and MREMAP_FIXED touch VMAs after their unmaps, so they stay
 * under the write lock in every version.
 */
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_NX,
  _PAGE_RW,
  MmuGather,
  unmapPageRange,
} from "@mmlab/page-table";
import { traced } from "@mmlab/sched";
import {
  VM_ACCOUNT,
  VM_DONTEXPAND,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_PFNMAP,
  VM_SHARED,
  Vma,
  vmaMerge,
  vmFlagsClear,
  vmFlagsHas,
  vmFlagsSet,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EAGAIN, EFAULT, EINTR, EINVAL, ENOMEM } from "./errno.js";
import { userfaultfdUnmapComplete } from "./hooks.js";
import { PAGE_SIZE, PMD_SIZE, pageAligned } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { getUnmappedArea, isErrValue, mayExpandVm, securityVmEnoughMemoryMm } from "./mmap.js";
import { mmapUnlockHeld } from "./mmap-unlock.js";
import { doMunmap, vmStatAccount } from "./munmap.js";
import { mmPopulate } from "./populate.js";
import { checkArg, hasHighBits, pageAlignUlong, ulongArg } from "./syscall-args.js";
import { MAP_FIXED, MAP_PRIVATE, MAP_SHARED } from "./uapi.js";
import { mmapWriteUnlock, vmaStartWrite } from "./vma-lock.js";

/** include/uapi/linux/mman.h. */
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;

/** The syscall's locals that the helpers update (the kernel passes pointers to them). */
interface MremapState {
  /** Pages vma_to_resize() charged to the overcommit accounting (vm_unacct_memory on error). */
  charged: number;
  /** VM_LOCKED grew: mm_populate() the new part after mmap_sem is dropped. */
  locked: boolean;
  uf: Vma[] | null;
  ufEarly: Vma[] | null;
}

/**
 * mm/mremap.c: vma_to_resize() — v4.19: the VMA holding [addr, addr + old_len), checked for
 * growing to new_len. Returns it or a negative errno; sets st.charged.
 */
export function vmaToResize(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  st: { charged: number },
): Vma | number {
  const vma = mm.tree.findVma(addr);
  if (vma === null || vma.vmStart > addr) return -EFAULT;
  // old_len 0 duplicates a shared mapping; a private one would be a fresh mapping (4.17+).
  if (oldLen === 0 && !vmFlagsHas(vma.vmFlags, VM_SHARED | VM_MAYSHARE)) return -EINVAL;
  if (vmFlagsHas(vma.vmFlags, VM_HUGETLB)) return -EINVAL;
  // We can't remap across vm area boundaries.
  if (oldLen > vma.vmEnd - addr) return -EFAULT;
  if (newLen === oldLen) return vma;
  const pgoff = vma.vmPgoff + (addr - vma.vmStart) / PAGE_SIZE;
  if (!Number.isSafeInteger(pgoff + newLen / PAGE_SIZE)) return -EINVAL;
  if (vmFlagsHas(vma.vmFlags, VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  if (vmFlagsHas(vma.vmFlags, VM_LOCKED)) {
    const locked = mm.lockedVm * PAGE_SIZE + newLen - oldLen;
    if (locked > mm.rlimits.memlock && !mm.capIpcLock) return -EAGAIN;
  }
  const grow = (newLen - oldLen) / PAGE_SIZE;
  if (!mayExpandVm(mm, vma.vmFlags, grow)) return -ENOMEM;
  if (vmFlagsHas(vma.vmFlags, VM_ACCOUNT)) {
    if (securityVmEnoughMemoryMm(mm, grow) !== 0) return -ENOMEM;
    st.charged = grow;
  }
  return vma;
}

/** mm/mremap.c: vma_expandable() — v4.19: can `vma` grow by delta bytes where it is? */
export function vmaExpandable(mm: MmStruct, vma: Vma, delta: number): boolean {
  const end = vma.vmEnd + delta;
  const next = mm.tree.vmaNext(vma);
  if (next !== null && next.vmStart < end) return false;
  return !isErrValue(getUnmappedArea(mm, vma.vmStart, end - vma.vmStart, 0, MAP_FIXED));
}

/**
 * mm/mmap.c: copy_vma() — v4.19: the VMA at the destination of a move, merged into a
 * neighbour when it can be, else a duplicate of `vma`. Returns [new VMA, source VMA] (the
 * source may have been merged into the new one).
 */
export function copyVma(
  mm: MmStruct,
  vma: Vma,
  addr: number,
  len: number,
  pgoff: number,
): [Vma, Vma] {
  // An anonymous VMA never faulted takes the pgoff of its new place.
  if (vma.vmFile === null && vma.anonVma === null) pgoff = addr / PAGE_SIZE;
  const prev = mm.tree.findVmaPrev(addr).prev;
  const merged = vmaMerge(
    mm,
    prev,
    addr,
    addr + len,
    vma.vmFlags,
    vma.anonVma,
    vma.vmFile,
    pgoff,
    vma.vmPolicy,
    vma.vmUserfaultfdCtx,
  );
  if (merged !== null) {
    const src = vma.vmStart >= merged.vmStart && vma.vmStart < merged.vmEnd ? merged : vma;
    return [merged, src];
  }
  const copy = new Vma({
    vmStart: addr,
    vmEnd: addr + len,
    vmFlags: vma.vmFlags,
    vmPgoff: pgoff,
    anonVma: vma.anonVma,
    vmFile: vma.vmFile,
    vmOps: vma.vmOps,
    vmUserfaultfdCtx: vma.vmUserfaultfdCtx,
    vmPolicy: vma.vmPolicy,
    anonVmaChainLength: vma.anonVmaChainLength,
  });
  mm.tree.insert(copy);
  return [copy, vma];
}

/**
 * mm/mremap.c: move_page_tables() with move_ptes() — v4.19: move the present PTEs of
 * [oldAddr, oldAddr + len) to newAddr, one PMD extent per cond_resched() step. The frames
 * keep their identity. Returns the bytes done (less than len only when a PTE table could not
 * be allocated).
 */
export function* movePageTables(
  mm: MmStruct,
  oldAddr: number,
  newAddr: number,
  len: number,
): Op<number> {
  const pt = mm.pt;
  const phys = mm.phys;
  const oldEnd = oldAddr + len;
  const tlb = new MmuGather(pt);
  tlb.tlbGatherMmu(oldAddr, oldEnd);
  let done = 0;
  while (done < len) {
    const o = oldAddr + done;
    const n = newAddr + done;
    // The extent ends at the next PMD boundary of either side.
    let extent = Math.min(len - done, PMD_SIZE - (o % PMD_SIZE), PMD_SIZE - (n % PMD_SIZE));
    let moved = 0;
    let oom = false;
    for (let off = 0; off < extent; off += PAGE_SIZE) {
      const pfn = pt.followPage(o + off);
      if (pfn < 0) continue;
      if (pt.pteAlloc(n + off) !== 0) {
        extent = off;
        oom = true;
        break;
      }
      const v = pt.pteValue(o + off);
      const prot = {
        write: (v & _PAGE_RW) !== 0n,
        exec: (v & _PAGE_NX) === 0n,
        dirty: (v & _PAGE_DIRTY) !== 0n,
        accessed: (v & _PAGE_ACCESSED) !== 0n,
      };
      // ptep_get_and_clear() + set_pte_at(): keep a reference across the clear so the frame
      // survives the gather, then hand it to the new entry.
      if (pfn === phys.zeroPfn) {
        unmapPageRange(tlb, o + off, o + off + PAGE_SIZE);
        pt.mapZeroPage(n + off);
      } else {
        phys.getPage(pfn);
        unmapPageRange(tlb, o + off, o + off + PAGE_SIZE);
        pt.setPte(n + off, pfn, prot);
      }
      moved++;
    }
    done += extent;
    yield* charge(mm.cost.pmdStep + moved * mm.cost.pteProtect); // cond_resched()
    if (oom) break;
  }
  tlb.tlbFinishMmu(oldAddr, oldEnd);
  return done;
}

/**
 * mm/mremap.c: move_vma() — v4.19: copy the VMA to newAddr, move its page tables, unmap the
 * old range without giving back its overcommit charge (VM_ACCOUNT is concealed meanwhile).
 * Returns newAddr or a negative errno.
 */
export function* moveVma(
  mm: MmStruct,
  vma: Vma,
  oldAddr: number,
  oldLen: number,
  newLen: number,
  newAddr: number,
  st: MremapState,
): Op<number> {
  // Avoid failing later in do_munmap, which may split one VMA into three.
  if (mm.mapCount >= mm.maxMapCount - 3) return -ENOMEM;
  const vmFlags = vma.vmFlags;
  if (mm.munmapStrategy.perVmaLock === true) yield* vmaStartWrite(mm, vma);
  const newPgoff = vma.vmPgoff + (oldAddr - vma.vmStart) / PAGE_SIZE;
  yield* charge(mm.cost.vmaInsert);
  let newVma: Vma;
  [newVma, vma] = copyVma(mm, vma, newAddr, newLen, newPgoff);
  const movedLen = yield* traced("move_page_tables", movePageTables(mm, oldAddr, newAddr, oldLen));
  let ret = newAddr;
  if (movedLen < oldLen) {
    // Move the entries back (the tables are still there) and unmap the new area instead.
    yield* movePageTables(mm, newAddr, oldAddr, movedLen);
    vma = newVma;
    oldLen = newLen;
    oldAddr = newAddr;
    ret = -ENOMEM;
  }
  // Conceal VM_ACCOUNT so the old reservation is not undone.
  let excess = 0;
  let split = false;
  if (vmFlagsHas(vmFlags, VM_ACCOUNT)) {
    vma.vmFlags = vmFlagsClear(vma.vmFlags, VM_ACCOUNT);
    excess = vma.vmEnd - vma.vmStart - oldLen;
    split = oldAddr > vma.vmStart && oldAddr + oldLen < vma.vmEnd;
  }
  // total_vm is briefly too high: restore the high-water mark afterwards.
  const hiwaterVm = mm.hiwaterVm;
  vmStatAccount(mm, vma.vmFlags, newLen / PAGE_SIZE);
  if ((yield* doMunmap(mm, oldAddr, oldLen, st.uf)) < 0) {
    // OOM: unable to split the VMA, just get the accounts right.
    mm.committedVm -= excess / PAGE_SIZE;
    excess = 0;
  }
  mm.hiwaterVm = hiwaterVm;
  // Restore VM_ACCOUNT if one or two pieces of the VMA are left.
  if (excess > 0) {
    vma.vmFlags = vmFlagsSet(vma.vmFlags, VM_ACCOUNT);
    const above = split ? mm.tree.vmaNext(vma) : null;
    if (above !== null) above.vmFlags = vmFlagsSet(above.vmFlags, VM_ACCOUNT);
  }
  if (vmFlagsHas(vmFlags, VM_LOCKED)) {
    mm.lockedVm += newLen / PAGE_SIZE;
    st.locked = true;
  }
  return ret;
}

/** mm/mremap.c: mremap_to() — v4.19: MREMAP_FIXED, always under the write lock. */
function* mremapTo(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newAddr: number,
  newLen: number,
  st: MremapState,
): Op<number> {
  if (!pageAligned(newAddr)) return -EINVAL;
  if (newLen > mm.taskSize || newAddr > mm.taskSize - newLen) return -EINVAL;
  // Ensure the old and new locations do not overlap.
  if (addr + oldLen > newAddr && newAddr + newLen > addr) return -EINVAL;
  let ret = yield* doMunmap(mm, newAddr, newLen, st.ufEarly);
  if (ret !== 0) return ret;
  if (oldLen >= newLen) {
    ret = yield* doMunmap(mm, addr + newLen, oldLen - newLen, st.uf);
    if (ret !== 0 && oldLen !== newLen) return ret;
    oldLen = newLen;
  }
  const vma = vmaToResize(mm, addr, oldLen, newLen, st);
  if (typeof vma === "number") return vma;
  const mapFlags = MAP_FIXED | (vmFlagsHas(vma.vmFlags, VM_MAYSHARE) ? MAP_SHARED : MAP_PRIVATE);
  const pgoff = vma.vmPgoff + (addr - vma.vmStart) / PAGE_SIZE;
  ret = getUnmappedArea(mm, newAddr, newLen, pgoff, mapFlags, vma.vmFile);
  if (isErrValue(ret)) return ret;
  return yield* moveVma(mm, vma, addr, oldLen, newLen, newAddr, st);
}

/**
 * mm/mremap.c: SYSCALL_DEFINE5(mremap) — v4.19; under a strategy with its own __do_munmap
 * (v4.20, v5.8, perVmaLock) the shrink passes downgrade = true and ends with up_read when it
 * downgraded. Returns the (new) address or a negative errno.
 */
export function* sysMremap(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr = 0,
): Op<number> {
  checkArg("sysMremap", "addr", addr);
  checkArg("sysMremap", "oldLen", oldLen);
  checkArg("sysMremap", "newLen", newLen);
  checkArg("sysMremap", "flags", flags);
  checkArg("sysMremap", "newAddr", newAddr);
  // Every argument is an unsigned long.
  addr = ulongArg(addr);
  oldLen = ulongArg(oldLen);
  newLen = ulongArg(newLen);
  newAddr = ulongArg(newAddr);
  yield* charge(mm.cost.syscall);
  if (hasHighBits(flags) || flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE)) return -EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  if (!pageAligned(addr)) return -EINVAL;
  oldLen = pageAlignUlong(oldLen);
  newLen = pageAlignUlong(newLen);
  // A zero old_len duplicates a shared mapping; a zero new_len is nonsensical.
  if (newLen === 0) return -EINVAL;
  return yield* traced("SyS_mremap", mremapLocked(mm, addr, oldLen, newLen, flags, newAddr));
}

function* mremapLocked(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr: number,
): Op<number> {
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR;
  const hooks = mm.userfaultfd !== null;
  const st: MremapState = {
    charged: 0,
    locked: false,
    uf: hooks ? [] : null,
    ufEarly: hooks ? [] : null,
  };
  let ret = 0;
  let unlocked = false;
  try {
    yield* charge(mm.cost.lockOp);
    const r = yield* mremapUnderLock(mm, addr, oldLen, newLen, flags, newAddr, st);
    ret = r.ret;
    if (r.downgraded) sem.upRead();
    else mmapWriteUnlock(mm);
    unlocked = true;
  } finally {
    // A throw (a hook, a library error) must not leave mmap_sem held in either mode.
    if (!unlocked) mmapUnlockHeld(mm);
  }
  yield* charge(mm.cost.lockOp);
  if (st.locked && newLen > oldLen) yield* mmPopulate(mm, ret + oldLen, newLen - oldLen);
  // Each event carries the range its do_munmap prepared (mremap_to's [new_addr, +new_len),
  // a shrink's [addr + new_len, addr + old_len), move_vma's [addr, addr + old_len)).
  userfaultfdUnmapComplete(mm, st.ufEarly);
  userfaultfdUnmapComplete(mm, st.uf);
  return ret;
}

/** The body of mremap() under the write lock, which a shrink may downgrade. */
function* mremapUnderLock(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr: number,
  st: MremapState,
): Op<{ ret: number; downgraded: boolean }> {
  let downgraded = false;
  let ret: number;
  const s = mm.munmapStrategy;

  if (flags & MREMAP_FIXED) {
    ret = yield* mremapTo(mm, addr, oldLen, newAddr, newLen, st);
  } else if (oldLen >= newLen) {
    // Always allow a shrinking remap: that just unmaps the unnecessary pages.
    const r =
      s.doMunmap === undefined
        ? yield* doMunmap(mm, addr + newLen, oldLen - newLen, st.uf)
        : yield* s.doMunmap(mm, addr + newLen, oldLen - newLen, st.uf, true);
    if (r < 0 && oldLen !== newLen) ret = r;
    else {
      downgraded = r === 1; // 1: mmap_sem was downgraded to read
      ret = addr;
    }
  } else {
    ret = yield* mremapGrow(mm, addr, oldLen, newLen, flags, st);
  }

  if (isErrValue(ret)) st.locked = false;
  else mm.committedVm += st.charged; // vm_unacct_memory(charged) on every error path
  return { ret, downgraded };
}

/** The grow half of the syscall: in place when the VMA can expand, else a move (MAYMOVE). */
function* mremapGrow(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  st: MremapState,
): Op<number> {
  const vma = vmaToResize(mm, addr, oldLen, newLen, st);
  if (typeof vma === "number") return vma;
  // old_len exactly to the end of the area: can we just expand the current mapping?
  if (oldLen === vma.vmEnd - addr && vmaExpandable(mm, vma, newLen - oldLen)) {
    const pages = (newLen - oldLen) / PAGE_SIZE;
    if (mm.munmapStrategy.perVmaLock === true) yield* vmaStartWrite(mm, vma);
    yield* charge(mm.cost.vmaInsert);
    mm.tree.adjust(vma, vma.vmStart, addr + newLen, vma.vmPgoff);
    vmStatAccount(mm, vma.vmFlags, pages);
    if (vmFlagsHas(vma.vmFlags, VM_LOCKED)) {
      mm.lockedVm += pages;
      st.locked = true;
    }
    return addr;
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const mapFlags = vmFlagsHas(vma.vmFlags, VM_MAYSHARE) ? MAP_SHARED : MAP_PRIVATE;
  const pgoff = vma.vmPgoff + (addr - vma.vmStart) / PAGE_SIZE;
  const newAddr = getUnmappedArea(mm, 0, newLen, pgoff, mapFlags, vma.vmFile);
  if (isErrValue(newAddr)) return newAddr;
  return yield* moveVma(mm, vma, addr, oldLen, newLen, newAddr, st);
}
