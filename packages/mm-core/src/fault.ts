/**
 * The page-fault path under the mmap_sem read lock (arch/x86/mm/fault.c __do_page_fault(),
 * mm/memory.c handle_mm_fault() / do_anonymous_page(), mm/mmap.c expand_downwards() —
 * v4.19), and get_user_pages() (mm/gup.c), which fails with -EFAULT where a fault would
 * raise SIGSEGV.
 *
 * The fault allocates its page-table levels, takes a reference to the PTE table, spends
 * the fault's cost (allocating and zeroing the page), then checks the reference before it
 * writes the PTE: if a concurrent free_pgtables() freed that table in between, the page
 * table raises PageTableUseAfterFree, which is how the model exposes such races.
 */
import {
  VM_ACCOUNT,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type Vma,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { doWpPage } from "./cow.js";
import { EFAULT, ENOMEM, EPERM } from "./errno.js";
import type { MappedFile } from "./file.js";
import { isRegularFile } from "./file.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { mayExpandVm, securityVmEnoughMemoryMm } from "./mmap.js";
import { vmStatAccount } from "./munmap.js";
import { clearUserHighpage } from "./page-contents.js";
import { populateVmaPageRange } from "./populate.js";
import { checkArg, ulongArg } from "./syscall-args.js";
import { SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV } from "./uapi.js";
import { lockVmaUnderRcu, vmaEndRead, vmaLockFaultDone } from "./vma-lock.js";

/** A signal a fault ends in; the values are shared singletons, compare by identity or fields. */
export interface FaultSignal {
  readonly signo: number;
  readonly code: number;
  readonly name: string;
}
export const FAULT_SIGSEGV_MAPERR: FaultSignal = Object.freeze({
  signo: SIGSEGV,
  code: SEGV_MAPERR,
  name: "SIGSEGV/SEGV_MAPERR",
});
export const FAULT_SIGSEGV_ACCERR: FaultSignal = Object.freeze({
  signo: SIGSEGV,
  code: SEGV_ACCERR,
  name: "SIGSEGV/SEGV_ACCERR",
});
export const FAULT_SIGBUS: FaultSignal = Object.freeze({
  signo: SIGBUS,
  code: 2,
  name: "SIGBUS/BUS_ADRERR",
});
/** VM_FAULT_OOM: the allocator ran out of frames (pagefault_out_of_memory()). */
export const FAULT_OOM: FaultSignal = Object.freeze({ signo: 9, code: 0, name: "VM_FAULT_OOM" });

/** 0 when the fault was handled, else the signal it raises. */
export type FaultResult = 0 | FaultSignal;

export interface FaultAccess {
  write?: boolean;
  exec?: boolean;
  /** A user-mode fault (default true). */
  user?: boolean;
  /** The faulting task's stack pointer, for 4.19's "below %sp" stack check; omitted = no check. */
  sp?: number;
}

/**
 * arch/x86/mm/fault.c: access_error() — v4.19 (no protection keys). `present` is the error
 * code's X86_PF_PROT: a read or instruction fetch that faulted on a present entry cannot be
 * fixed. A fetch from a non-present page is checked like a read: VM_EXEC is not consulted,
 * the page is mapped, and the restarted fetch faults again on its NX entry (see
 * {@link nxFetch}).
 */
export function accessError(vma: Vma, access: FaultAccess, present = false): boolean {
  if (access.write) return !vmFlagsHas(vma.vmFlags, VM_WRITE);
  if (present) return true;
  return !vmFlagsHas(vma.vmFlags, VM_READ | VM_EXEC | VM_WRITE);
}

/**
 * An instruction fetch from a VMA without VM_EXEC: its entries are NX (their protection comes
 * from vm_page_prot), so the fetch faults with X86_PF_PROT once the page is present.
 */
function nxFetch(vma: Vma, access: FaultAccess): boolean {
  return access.exec === true && access.write !== true && !vmFlagsHas(vma.vmFlags, VM_EXEC);
}

/**
 * mm/mmap.c: expand_downwards() with acct_stack_growth() — v4.19: grow a VM_GROWSDOWN VMA
 * down to `address` under the read lock. 0 or a negative errno.
 */
export function expandDownwards(mm: MmStruct, vma: Vma, address: number): number {
  address = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
  if (address < mm.mmapMinAddr) return -EPERM;
  // Enforce stack_guard_gap against a non-stack neighbour that is accessible.
  const prev = mm.tree.vmaPrev(vma);
  if (
    prev !== null &&
    !vmFlagsHas(prev.vmFlags, VM_GROWSDOWN) &&
    vmFlagsHas(prev.vmFlags, VM_READ | VM_WRITE | VM_EXEC) &&
    address - prev.vmEnd < mm.stackGuardGap
  ) {
    return -ENOMEM;
  }
  if (vma.anonVma === null) vma.anonVma = mm.newAnonVma(); // anon_vma_prepare()
  if (address >= vma.vmStart) return 0; // somebody else expanded it already
  const size = vma.vmEnd - address;
  const grow = (vma.vmStart - address) / PAGE_SIZE;
  if (grow > vma.vmPgoff) return -ENOMEM;
  const err = acctStackGrowth(mm, vma, size, grow);
  if (err !== 0) return err;
  if (vmFlagsHas(vma.vmFlags, VM_LOCKED)) mm.lockedVm += grow;
  // acct_stack_growth() charged the overcommit accounting; VM_ACCOUNT returns it at unmap.
  if (vmFlagsHas(vma.vmFlags, VM_ACCOUNT)) mm.committedVm += grow;
  vmStatAccount(mm, vma.vmFlags, grow);
  mm.tree.adjust(vma, address, vma.vmEnd, vma.vmPgoff - grow);
  return 0;
}

/** mm/mmap.c: acct_stack_growth() — v4.19. */
function acctStackGrowth(mm: MmStruct, vma: Vma, size: number, grow: number): number {
  if (!mayExpandVm(mm, vma.vmFlags, grow)) return -ENOMEM;
  if (size > mm.rlimits.stack) return -ENOMEM;
  if (vmFlagsHas(vma.vmFlags, VM_LOCKED) && !mm.capIpcLock) {
    if ((mm.lockedVm + grow) * PAGE_SIZE > mm.rlimits.memlock) return -ENOMEM;
  }
  return securityVmEnoughMemoryMm(mm, grow);
}

/** mm/mmap.c: expand_stack() — v4.19 (x86: expand_downwards). */
export function expandStack(mm: MmStruct, vma: Vma, address: number): number {
  return expandDownwards(mm, vma, address);
}

/**
 * mm/memory.c: handle_mm_fault() for anonymous memory (__handle_mm_fault ->
 * handle_pte_fault -> do_anonymous_page / do_wp_page; shmem_fault for MAP_SHARED) — v4.19,
 * with the read lock held.
 */
export function* handleMmFault(
  mm: MmStruct,
  vma: Vma,
  addr: number,
  access: FaultAccess,
): Op<FaultResult> {
  const pt = mm.pt;
  const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  if (pt.followPage(page) >= 0) {
    // A present entry: only a write to a read-only one has work to do (do_wp_page).
    if (!access.write || (pt.pteValue(page) & 2n) !== 0n) return 0;
    if (vmFlagsHas(vma.vmFlags, VM_SHARED)) {
      yield* charge(mm.cost.anonFault);
      // wp_page_shared(): the page cache page itself becomes writable; no copy.
      pt.changeProtection(page, page + PAGE_SIZE, {
        write: true,
        exec: vmFlagsHas(vma.vmFlags, VM_EXEC),
      });
      return 0;
    }
    // cow.ts: wp_page_reuse() for an exclusive anon page, else wp_page_copy().
    return (yield* doWpPage(mm, vma, page)) === -ENOMEM ? FAULT_OOM : 0;
  }
  if (vma.vmFile !== null && isRegularFile(vma.vmFile)) {
    return yield* doFileFault(mm, vma, page, access);
  }
  const shared = vmFlagsHas(vma.vmFlags, VM_SHARED);
  if (shared && vma.vmFile === null) return FAULT_SIGBUS; // do_anonymous_page: no vm_ops
  if (pt.pteAlloc(page) !== 0) return FAULT_OOM;
  const ref = pt.tableRef(page, "pte");
  if (access.write && !shared && vma.anonVma === null) vma.anonVma = mm.newAnonVma();
  // Allocating and zeroing the page takes time, and other tasks may run meanwhile.
  yield* charge(mm.cost.anonFault);
  pt.checkRef(ref); // a table freed under us throws PageTableUseAfterFree
  if (pt.followPage(page) >= 0) return 0; // another thread mapped it meanwhile: back out
  if (shared) {
    // shmem_fault(): a page of the shmem file, counted in MM_SHMEMPAGES.
    const pfn = mm.phys.allocFrame("shmem");
    if (pfn < 0) return FAULT_OOM;
    pt.setPteAt(ref, page, pfn, {
      write: vmFlagsHas(vma.vmFlags, VM_WRITE),
      exec: false,
      dirty: access.write === true,
    });
    return 0;
  }
  if (!access.write) return pt.mapZeroPage(page) === -ENOMEM ? FAULT_OOM : 0;
  if (pt.mapAnonPage(page, vmFlagsHas(vma.vmFlags, VM_WRITE)) === -ENOMEM) return FAULT_OOM;
  clearUserHighpage(mm.phys, pt.followPage(page)); // only when page contents are modelled
  return 0;
}

/**
 * mm/memory.c: do_fault() — v4.19, a page of a regular file not mapped yet: beyond the page
 * holding EOF is SIGBUS (filemap_fault); a read fault maps the page-cache page read-only
 * (do_read_fault: a later write to a private mapping copies it, to a shared one makes it
 * writable); a write fault to a private mapping maps a private anonymous copy
 * (do_cow_fault), to a shared one the page-cache page writable and dirty (do_shared_fault).
 * The page cache is not modelled: each fault allocates a "file" frame (MM_FILEPAGES) that
 * the zap frees again.
 */
function* doFileFault(mm: MmStruct, vma: Vma, page: number, access: FaultAccess): Op<FaultResult> {
  const pt = mm.pt;
  const file = vma.vmFile as MappedFile;
  const pgoff = vma.vmPgoff + (page - vma.vmStart) / PAGE_SIZE;
  if (pgoff >= Math.ceil(file.inode.size / PAGE_SIZE)) return FAULT_SIGBUS;
  const shared = vmFlagsHas(vma.vmFlags, VM_SHARED);
  const cow = access.write === true && !shared;
  if (pt.pteAlloc(page) !== 0) return FAULT_OOM;
  const ref = pt.tableRef(page, "pte");
  if (cow && vma.anonVma === null) vma.anonVma = mm.newAnonVma(); // anon_vma_prepare()
  yield* charge(mm.cost.anonFault);
  pt.checkRef(ref);
  if (pt.followPage(page) >= 0) return 0; // another thread mapped it meanwhile
  if (cow) return pt.mapAnonPage(page, true) === -ENOMEM ? FAULT_OOM : 0;
  const pfn = mm.phys.allocFrame("file");
  if (pfn < 0) return FAULT_OOM;
  const write = access.write === true; // shared here
  pt.setPteAt(ref, page, pfn, {
    write,
    exec: vmFlagsHas(vma.vmFlags, VM_EXEC),
    dirty: write,
  });
  return 0;
}

/**
 * arch/x86/mm/fault.c: __do_page_fault() — v4.19, user-mode fault on `addr` of `mm`:
 * mmap_sem for read, find_vma, stack expansion, access checks, handle_mm_fault.
 */
export function* doPageFault(
  mm: MmStruct,
  addr: number,
  access: FaultAccess = {},
): Op<FaultResult> {
  // The address is checked before any lock: a bad one must not leave mmap_sem held.
  checkArg("doPageFault", "addr", addr);
  addr = ulongArg(addr);
  // fault_in_kernel_space(): a user access above TASK_SIZE_MAX is bad_area_nosemaphore().
  if (addr >= mm.taskSize) return FAULT_SIGSEGV_MAPERR;
  if (mm.munmapStrategy.perVmaLock === true && (access.user ?? true)) {
    const r = yield* faultUnderVmaLock(mm, addr, access);
    if (r !== null) return r;
  }
  const sem = mm.mmapSem;
  if (!sem.downReadTrylock()) yield* sem.downRead();
  try {
    yield* charge(mm.cost.lockOp);
    return yield* doPageFaultLocked(mm, addr, access);
  } finally {
    sem.upRead();
  }
}

/**
 * arch/x86/mm/fault.c: do_user_addr_fault()'s per-VMA-lock attempt — v6.4 (0bff0aaea03e):
 * handle the fault under the VMA's own lock without touching mmap_lock; null means "take
 * mmap_lock" (no VMA contains the address, e.g. stack expansion; write-locked; access error).
 */
function* faultUnderVmaLock(
  mm: MmStruct,
  addr: number,
  access: FaultAccess,
): Op<FaultResult | null> {
  yield* charge(mm.cost.vmaLookup);
  const vma = lockVmaUnderRcu(mm, addr);
  if (vma === null) return null;
  const nx = nxFetch(vma, access);
  if (accessError(vma, access, nx && mm.pt.followPage(addr) >= 0)) {
    vmaEndRead(mm, vma);
    return null;
  }
  let ret: FaultResult;
  try {
    ret = yield* handleMmFault(mm, vma, addr, access);
  } finally {
    vmaEndRead(mm, vma);
  }
  vmaLockFaultDone(mm, addr);
  // The restarted fetch faults on the NX entry just mapped, is an access error under the
  // VMA lock and ends under mmap_lock.
  return ret === 0 && nx ? null : ret;
}

function* doPageFaultLocked(mm: MmStruct, addr: number, access: FaultAccess): Op<FaultResult> {
  yield* charge(mm.cost.vmaLookup);
  const vma = mm.tree.findVma(addr);
  if (vma === null) return FAULT_SIGSEGV_MAPERR;
  if (vma.vmStart > addr) {
    if (!vmFlagsHas(vma.vmFlags, VM_GROWSDOWN)) return FAULT_SIGSEGV_MAPERR;
    // 4.19 still refuses accesses far below the user stack pointer (removed in 4.20).
    if (
      mm.generation === "v4.19" &&
      (access.user ?? true) &&
      access.sp !== undefined &&
      addr + 65536 + 32 * 8 < access.sp
    ) {
      return FAULT_SIGSEGV_MAPERR;
    }
    if (expandStack(mm, vma, addr) !== 0) return FAULT_SIGSEGV_MAPERR;
  }
  const nx = nxFetch(vma, access);
  if (accessError(vma, access, nx && mm.pt.followPage(addr) >= 0)) return FAULT_SIGSEGV_ACCERR;
  const ret = yield* handleMmFault(mm, vma, addr, access);
  // The fetch restarts on the NX entry just mapped and faults again, now with X86_PF_PROT.
  return ret === 0 && nx ? FAULT_SIGSEGV_ACCERR : ret;
}

/**
 * mm/mmap.c: find_extend_vma() — v4.19, with the read lock held: the VMA holding addr,
 * growing a VM_GROWSDOWN one down to it; a grown VM_LOCKED stack has its new pages faulted
 * in (populate_vma_page_range), as mlock promises.
 */
export function* findExtendVma(mm: MmStruct, addr: number): Op<Vma | null> {
  addr = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const vma = mm.tree.findVma(addr);
  if (vma !== null && vma.vmStart <= addr) return vma;
  if (vma === null || !vmFlagsHas(vma.vmFlags, VM_GROWSDOWN)) return null;
  const start = vma.vmStart;
  if (expandStack(mm, vma, addr) !== 0) return null;
  if (vmFlagsHas(vma.vmFlags, VM_LOCKED)) yield* populateVmaPageRange(mm, vma, addr, start);
  return vma;
}

/**
 * mm/gup.c: __get_user_pages() — v4.19, with mmap_sem held for read by the caller: fault in
 * `nrPages` pages from `start`. Returns the number of pages, or -EFAULT if the first page
 * has no VMA or the wrong permissions (what a racing GUP sees after munmap's detach).
 */
export function* getUserPages(
  mm: MmStruct,
  start: number,
  nrPages: number,
  write = false,
): Op<number> {
  let done = 0;
  for (let addr = Math.floor(start / PAGE_SIZE) * PAGE_SIZE; done < nrPages; addr += PAGE_SIZE) {
    const vma = yield* findExtendVma(mm, addr);
    const bad =
      vma === null ||
      (write ? !vmFlagsHas(vma.vmFlags, VM_WRITE) : !vmFlagsHas(vma.vmFlags, VM_READ));
    if (bad) return done > 0 ? done : -EFAULT;
    if (mm.pt.followPage(addr) < 0 || write) {
      const r = yield* handleMmFault(mm, vma, addr, { write });
      if (r !== 0) return done > 0 ? done : r === FAULT_OOM ? -ENOMEM : -EFAULT;
    }
    done++;
  }
  return done;
}
