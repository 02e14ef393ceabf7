/**
 * fork(2)'s address-space half (kernel/fork.c dup_mm() / dup_mmap(), mm/memory.c
 * copy_page_range(), mm/rmap.c anon_vma_fork() — v4.19; the VMA write locks of 6.4's
 * fb49c455323f when the strategy asks for them).
 *
 *   sysFork(parent)               copy_mm() without CLONE_VM: dupMm(), the child's mm or -errno
 *     dupMm(parent)               a new mm_struct like the parent's (limits, brk, stack, fds),
 *                                 filled by dupMmap(); torn down again (exitMmap) on failure
 *       dupMmap(oldMm, newMm)     both mmap_sems for write (the child's nested), then per VMA in
 *                                 order: [vma_start_write] VM_DONTCOPY? skip; vm_area_dup;
 *                                 VM_WIPEONFORK? fresh anon_vma : anon_vma_fork; link;
 *                                 copy_page_range unless VM_WIPEONFORK; finally
 *                                 flush_tlb_mm(oldmm) and up_write(oldmm)
 *         copyPageRange()         one copy_pte_range() per PMD extent, charged at its
 *                                 cond_resched()
 *
 * Counters as the kernel sets them: total_vm / data_vm / exec_vm / stack_vm copied from the
 * parent (minus VM_DONTCOPY VMAs), locked_vm 0 and VM_LOCKED / VM_LOCKONFAULT cleared on every
 * child VMA (mm_init, dup_mmap), rss and nr_ptes / nr_pmds / nr_puds grown by the copy
 * itself, hiwater_rss / hiwater_vm set from the result (dup_mm), the VM_ACCOUNT charge taken
 * again for the child (security_vm_enough_memory_mm per VMA).
 *
 * 4.19's copy_page_range() copies only VMAs that can hold private anonymous pages or raw PFNs:
 * `!(vm_flags & (VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP)) && !vma->anon_vma` skips the VMA, and
 * the child faults its file and shared pages in again (6.x: vma_needs_copy(), the same test
 * plus userfaultfd-wp). Within a copied VMA, private writable pages are write-protected in
 * both processes (is_cow_mapping), shared ones are mapped in the child as they are.
 */
import { copyPteRange } from "@mmlab/page-table";
import {
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_HUGETLB,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_MAYWRITE,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_SHARED,
  VM_WIPEONFORK,
  Vma,
  vmaPages,
  vmFlagsClear,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { anonVmaFork } from "./anon-vma.js";
import { charge, type Op } from "./charge.js";
import { ENOMEM } from "./errno.js";
import { exitMmap } from "./exit.js";
import { PMD_SIZE, PUD_SIZE } from "./layout.js";
import { MmStruct } from "./mm-struct.js";
import { securityVmEnoughMemoryMm } from "./mmap.js";
import { vmStatAccount } from "./munmap.js";
import { flushTlbMm } from "./tlb-flush.js";
import { mmapWriteUnlock, vmaStartWrite } from "./vma-lock.js";

/** What a fork did, for reports and benchmarks (per dupMmap call). */
export interface ForkStats {
  /** VMAs copied into the child. */
  vmas: number;
  /** Present PTEs copied (copy_one_pte calls). */
  ptes: number;
  /** copy_pte_range() extents (one cond_resched() each). */
  pmdExtents: number;
}

const lastStats = new WeakMap<MmStruct, ForkStats>();

/** The ForkStats of the dupMmap() that filled `child`, or null. */
export function forkStats(child: MmStruct): ForkStats | null {
  return lastStats.get(child) ?? null;
}

/** include/linux/mm.h: is_cow_mapping() — private and may become writable. */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/**
 * kernel/fork.c: copy_mm() for fork(2) and clone(2) without CLONE_VM — v4.19: a new mm that
 * is a copy-on-write duplicate of `parent`. Returns the child's MmStruct, or -ENOMEM (the
 * half-built child is torn down by exitMmap(), as mmput() does).
 */
export function* sysFork(parent: MmStruct): Op<MmStruct | number> {
  yield* charge(parent.cost.syscall);
  return yield* dupMm(parent);
}

/**
 * kernel/fork.c: dup_mm() — v4.19: allocate the child's mm_struct as a copy of the parent's
 * (memcpy, then mm_init: no VMAs, no page tables, locked_vm 0, def_flags & VM_NOHUGEPAGE),
 * fill it with dupMmap(), then set hiwater_rss / hiwater_vm. The child shares the parent's
 * frame allocator, inode registry and cost model, and gets a copy of its fd table.
 */
export function* dupMm(oldMm: MmStruct): Op<MmStruct | number> {
  const mm = new MmStruct(oldMm.sim, {
    tree: oldMm.tree.kind,
    levels: oldMm.pt.levels,
    phys: oldMm.phys,
    rwsem: oldMm.mmapSem.generation,
    cost: oldMm.cost,
    munmap: oldMm.munmapStrategy,
    maxMapCount: oldMm.maxMapCount,
    rlimits: { ...oldMm.rlimits },
    stackGuardGap: oldMm.stackGuardGap,
    capIpcLock: oldMm.capIpcLock,
    generation: oldMm.generation,
    mmapMinAddr: oldMm.mmapMinAddr,
    files: oldMm.fdTable.registry,
  });
  mm.fdTable.copyFrom(oldMm.fdTable); // copy_files() -> dup_fd()
  mm.defFlags = oldMm.defFlags & VM_NOHUGEPAGE; // mm_init(): VM_INIT_DEF_MASK
  mm.startBrk = oldMm.startBrk;
  mm.brk = oldMm.brk;
  mm.startStack = oldMm.startStack;
  mm.argStart = oldMm.argStart;
  mm.argEnd = oldMm.argEnd;
  mm.cmdline = oldMm.cmdline;
  mm.gateVma = oldMm.gateVma;
  const err = yield* dupMmap(oldMm, mm);
  if (err !== 0) {
    yield* exitMmap(mm); // mmput() of the half-copied mm
    return err;
  }
  mm.hiwaterRss = mm.rss;
  mm.hiwaterVm = mm.totalVm;
  return mm;
}

/**
 * kernel/fork.c: dup_mmap() — v4.19 (kernel argument order is (mm, oldmm)): copy every VMA
 * of `oldMm` into the empty `newMm` and share their pages copy-on-write. 0 or -ENOMEM (the
 * VMAs copied so far stay in `newMm` for the caller to tear down).
 *
 * Locks: down_write_killable(&oldmm->mmap_sem), then down_write_nested(&mm->mmap_sem,
 * SINGLE_DEPTH_NESTING) — nobody else knows the child yet, so it never waits. Page faults in
 * the parent wait for mmap_sem... unless they run under a VMA lock (6.4's 0bff0aaea03e):
 * then only a strategy with `forkLocksVmas` (fb49c455323f, "fork: lock VMAs of the parent
 * process when forking", mainline for 6.5-rc1 in July 2023, Cc: stable for 6.4.y) keeps them
 * out, by vma_start_write() on each parent VMA as the loop reaches it. Without it a parent
 * thread's write fault can run do_wp_page() -> wp_page_copy() on a page copy_page_range()
 * just write-protected, before the flush_tlb_mm(oldmm) at the end: another CPU's stale
 * writable TLB entry then keeps writing the old page, which now belongs to the child
 * (the memory corruption of bugzilla 217624; see scenarios/fork-fault.ts).
 */
export function* dupMmap(oldMm: MmStruct, newMm: MmStruct): Op<number> {
  const cost = oldMm.cost;
  const oldSem = oldMm.mmapSem;
  if (!oldSem.downWriteTrylock()) yield* oldSem.downWrite();
  yield* charge(cost.lockOp);
  const newSem = newMm.mmapSem;
  if (!newSem.downWriteTrylock()) yield* newSem.downWrite(); // down_write_nested()
  yield* charge(cost.lockOp);

  newMm.totalVm = oldMm.totalVm;
  newMm.dataVm = oldMm.dataVm;
  newMm.execVm = oldMm.execVm;
  newMm.stackVm = oldMm.stackVm;

  const stats: ForkStats = { vmas: 0, ptes: 0, pmdExtents: 0 };
  lastStats.set(newMm, stats);
  const lockVmas = oldMm.munmapStrategy.forkLocksVmas === true;
  let retval = 0;
  for (const mpnt of oldMm.vmas()) {
    if (lockVmas) yield* vmaStartWrite(oldMm, mpnt); // fb49c455323f
    const flags = mpnt.vmFlags;
    if (vmFlagsHas(flags, VM_DONTCOPY)) {
      vmStatAccount(newMm, flags, -vmaPages(mpnt));
      continue;
    }
    let acct = 0;
    if (vmFlagsHas(flags, VM_ACCOUNT)) {
      if (securityVmEnoughMemoryMm(oldMm, vmaPages(mpnt)) !== 0) {
        retval = -ENOMEM;
        break;
      }
      acct = vmaPages(mpnt);
    }
    // vm_area_dup(): the same range, file, pgoff, policy; userfaultfd contexts without
    // UFFD_FEATURE_EVENT_FORK are not inherited (dup_userfaultfd), none is modelled.
    const tmp = new Vma({
      vmStart: mpnt.vmStart,
      vmEnd: mpnt.vmEnd,
      vmPgoff: mpnt.vmPgoff,
      vmFlags: vmFlagsClear(flags, VM_LOCKED | VM_LOCKONFAULT),
      vmFile: mpnt.vmFile,
      vmOps: mpnt.vmOps,
      vmPolicy: mpnt.vmPolicy,
    });
    if (vmFlagsHas(flags, VM_WIPEONFORK)) {
      // VM_WIPEONFORK gets a clean slate in the child (anon_vma_prepare()).
      tmp.anonVma = newMm.newAnonVma();
      tmp.anonVmaChainLength = 1;
    } else {
      anonVmaFork(newMm, tmp, mpnt);
    }
    newMm.committedVm += acct;
    newMm.tree.insert(tmp); // __vma_link_rb(), map_count++
    stats.vmas++;
    yield* charge(cost.vmaDup ?? cost.vmaSplit);
    if (!vmFlagsHas(flags, VM_WIPEONFORK)) retval = yield* copyPageRange(newMm, oldMm, mpnt, stats);
    tmp.vmOps?.open?.(tmp);
    if (retval !== 0) break;
  }
  // out: up_write(&mm->mmap_sem); flush_tlb_mm(oldmm); up_write(&oldmm->mmap_sem);
  mmapWriteUnlock(newMm);
  flushTlbMm(oldMm);
  yield* charge(cost.tlbFlush);
  mmapWriteUnlock(oldMm);
  return retval;
}

/**
 * mm/memory.c: copy_page_range() — v4.19, for the parent VMA `vma` into `dstMm`: nothing
 * unless the VMA is hugetlb, raw-PFN or has an anon_vma; else copy_pud/pmd/pte_range()
 * over [vm_start, vm_end), one copy_pte_range() per PMD extent where the parent has a PTE
 * table, each followed by its cond_resched() (the cost of the extent is charged there, so
 * other tasks run in between). Upper levels absent in the parent are skipped whole.
 * 0 or -ENOMEM.
 */
export function* copyPageRange(
  dstMm: MmStruct,
  srcMm: MmStruct,
  vma: Vma,
  stats: ForkStats = { vmas: 0, ptes: 0, pmdExtents: 0 },
): Op<number> {
  const flags = vma.vmFlags;
  if (!vmFlagsHas(flags, VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP) && vma.anonVma === null) return 0;
  const cow = isCowMapping(flags);
  const shared = vmFlagsHas(flags, VM_SHARED);
  const src = srcMm.pt;
  const dst = dstMm.pt;
  const cost = srcMm.cost;
  const end = vma.vmEnd;
  for (let addr = vma.vmStart; addr < end; ) {
    if (src.entryValue(addr, "p4d") === 0n) {
      // pgd/p4d none: nothing below (with 5 levels a none pgd entry is skipped 512 GiB at a time)
      addr = Math.min(floorTo(addr, P4D_SPAN_BYTES) + P4D_SPAN_BYTES, end);
      continue;
    }
    if (src.entryValue(addr, "pud") === 0n) {
      // copy_pud_range(): the child gets its PUD table (pud_alloc), nothing below it here.
      const next = Math.min(floorTo(addr, PUD_SIZE) + PUD_SIZE, end);
      if (
        copyPteRange(
          dst,
          src,
          addr,
          Math.min(floorTo(addr, PMD_SIZE) + PMD_SIZE, next),
          cow,
          shared,
        ) < 0
      )
        return -ENOMEM;
      addr = next;
      continue;
    }
    const next = Math.min(floorTo(addr, PMD_SIZE) + PMD_SIZE, end);
    const hasPte = src.entryValue(addr, "pmd") !== 0n;
    const n = copyPteRange(dst, src, addr, next, cow, shared);
    if (n < 0) return -ENOMEM;
    if (hasPte) {
      stats.ptes += n;
      stats.pmdExtents++;
      yield* charge(cost.pmdStep + n * (cost.pteCopy ?? cost.pteZap)); // copy_pte_range()'s cond_resched()
    }
    addr = next;
  }
  return 0;
}

function floorTo(addr: number, size: number): number {
  return Math.floor(addr / size) * size;
}

/** Bytes one P4D entry covers (the pgd entry when P4D is folded): 512 GiB. */
const P4D_SPAN_BYTES = 512 * PUD_SIZE;
