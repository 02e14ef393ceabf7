/**
 * The address-space half of exit(2) and of the last mmput() (mm/mmap.c exit_mmap(),
 * kernel/fork.c mmdrop() -> pgd_free() — v4.19): the process's last user is gone, nobody
 * else can reach the mm, so no lock is taken (4.19 takes none; 6.x takes mmap_lock around
 * the teardown for the OOM reaper). Every VMA is zapped and freed, every page table goes,
 * the frames shared with another process (a fork parent or child) keep their other mapping,
 * and the rest return to the allocator.
 */
import { freePgtables, MmuGather, pgdFree } from "@mmlab/page-table";
import { VM_ACCOUNT, VM_LOCKED, vmaPages, vmFlagsHas } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { FIRST_USER_ADDRESS, USER_PGTABLES_CEILING } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { removeVma, unmapSingleVma } from "./munmap.js";

const exited = new WeakSet<MmStruct>();
const exiting = new WeakSet<MmStruct>();

/** True once exitMmap() tore `mm` down (its page table is freed; do not use it). */
export function mmExited(mm: MmStruct): boolean {
  return exited.has(mm);
}

/**
 * True while exitMmap() runs on `mm`: its frames wait in an mmu_gather, so the frame
 * accounting holds again only when it is done (validators skip such an mm's group).
 */
export function mmExiting(mm: MmStruct): boolean {
  return exiting.has(mm);
}

/**
 * mm/mmap.c: exit_mmap() — v4.19, then mmdrop()'s pgd_free(): munlock the VM_LOCKED VMAs,
 * unmap_vmas() over the whole address space (charged per PMD at zap_pmd_range()'s
 * cond_resched, as munmap), free_pgtables(FIRST_USER_ADDRESS, USER_PGTABLES_CEILING),
 * tlb_finish_mmu(), then remove_vma() each VMA and give back the VM_ACCOUNT charge. The
 * counters end at zero and the mm is marked exited (see mmExited()).
 */
export function* exitMmap(mm: MmStruct): Op<void> {
  if (exited.has(mm) || exiting.has(mm)) {
    throw new Error("@mmlab/mm-core: exitMmap: this mm has exited already");
  }
  exiting.add(mm);
  const cost = mm.cost;
  const vmas = mm.vmas();
  if (mm.lockedVm !== 0) {
    for (const vma of vmas) {
      if (vmFlagsHas(vma.vmFlags, VM_LOCKED)) yield* charge(vmaPages(vma) * cost.munlockPage);
    }
    mm.lockedVm = 0;
  }
  const tlb = new MmuGather(mm.pt);
  tlb.tlbGatherMmu(0, -1);
  mm.updateHiwaterRss();
  for (const vma of vmas) yield* unmapSingleVma(mm, tlb, vma, 0, Number.POSITIVE_INFINITY);
  const stats = tlb.stats;
  const tables = stats.pagetablePagesFreed;
  const flushes = stats.tlbFlushes;
  const freed = stats.pagesFreed;
  for (const vma of vmas) mm.tree.erase(vma);
  freePgtables(tlb, vmas, FIRST_USER_ADDRESS, USER_PGTABLES_CEILING);
  tlb.tlbFinishMmu(0, -1);
  yield* charge(
    (stats.pagetablePagesFreed - tables) * cost.pgtableFree +
      (stats.tlbFlushes - flushes) * cost.tlbFlush +
      (stats.pagesFreed - freed) * cost.pageFree,
  );
  let nrAccounted = 0;
  for (const vma of vmas) {
    if (vmFlagsHas(vma.vmFlags, VM_ACCOUNT)) nrAccounted += vmaPages(vma);
    removeVma(vma);
    yield* charge(cost.vmaFree);
  }
  mm.committedVm -= nrAccounted; // vm_unacct_memory()
  mm.updateHiwaterVm();
  mm.totalVm = 0;
  mm.dataVm = 0;
  mm.execVm = 0;
  mm.stackVm = 0;
  pgdFree(mm.pt); // mmdrop() -> __mmdrop() -> mm_free_pgd()
  exiting.delete(mm);
  exited.add(mm);
}
