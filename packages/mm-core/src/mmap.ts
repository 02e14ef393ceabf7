/**
 * mmap(2) for anonymous mappings (mm/mmap.c, mm/util.c, arch/x86/kernel/sys_x86_64.c —
 * v4.19): vm_mmap_pgoff -> do_mmap -> get_unmapped_area -> mmap_region, then mm_populate
 * for MAP_POPULATE / MAP_LOCKED after mmap_sem is dropped.
 */
import { traced } from "@mmlab/sched";
import {
  VM_ACCOUNT,
  VM_DENYWRITE,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_SPECIAL,
  VM_STACK,
  VM_SYNC,
  VM_WRITE,
  Vma,
  type VmFile,
  vmaMerge,
  vmFlagsClear,
  vmFlagsHas,
  vmFlagsSet,
  vmStartGap,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EAGAIN, EEXIST, EINTR, EINVAL, ENOMEM, EOVERFLOW, EPERM } from "./errno.js";
import { DEFAULT_MAP_WINDOW, MMAP_MIN_ADDR, PAGE_SIZE, pageAlign, pageAligned } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { vmStatAccount } from "./munmap.js";
import { doMunmap } from "./munmap-strategy.js";
import { mmPopulate } from "./populate.js";
import {
  MAP_32BIT,
  MAP_ANONYMOUS,
  MAP_DENYWRITE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_SYNC,
  MAP_TYPE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

/** True if `x` is an error value returned where an address is expected (IS_ERR_VALUE). */
export function isErrValue(x: number): boolean {
  return x < 0;
}

/** include/linux/mman.h: calc_vm_prot_bits() — v4.19 (no pkeys). */
export function calcVmProtBits(prot: number): number {
  return (
    (prot & PROT_READ ? VM_READ : 0) |
    (prot & PROT_WRITE ? VM_WRITE : 0) |
    (prot & PROT_EXEC ? VM_EXEC : 0)
  );
}

/** include/linux/mman.h: calc_vm_flag_bits() — v4.19. */
export function calcVmFlagBits(flags: number): number {
  return (
    (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
    (flags & MAP_DENYWRITE ? VM_DENYWRITE : 0) |
    (flags & MAP_LOCKED ? VM_LOCKED : 0) |
    (flags & MAP_SYNC ? VM_SYNC : 0)
  );
}

/**
 * mm/util.c: __vm_enough_memory() in OVERCOMMIT_GUESS mode — v4.19: a single request larger
 * than RAM (+ swap, none here) fails; everything else is allowed.
 */
export function securityVmEnoughMemoryMm(mm: MmStruct, pages: number): number {
  return pages > mm.phys.totalFrames ? -ENOMEM : 0;
}

/** mm/mmap.c: may_expand_vm() — v4.19: RLIMIT_AS for everything, RLIMIT_DATA for data. */
export function mayExpandVm(mm: MmStruct, flags: number, npages: number): boolean {
  if (mm.totalVm + npages > mm.rlimits.as / PAGE_SIZE) return false;
  if (
    (flags & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE &&
    mm.dataVm + npages > mm.rlimits.data / PAGE_SIZE
  ) {
    return false;
  }
  return true;
}

/** mm/mmap.c: accountable_mapping() — v4.19: private writable, not hugetlb, not NORESERVE. */
export function accountableMapping(vmFlags: number): boolean {
  if (vmFlagsHas(vmFlags, VM_HUGETLB)) return false;
  return (vmFlags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/** security/commoncap.c: cap_mmap_addr() — v4.19: below mmap_min_addr needs CAP_SYS_RAWIO. */
function securityMmapAddr(addr: number): number {
  return addr < MMAP_MIN_ADDR ? -EPERM : 0;
}

/** arch/x86/kernel/sys_x86_64.c: mmap_address_hint_valid() — v4.19. */
function mmapAddressHintValid(mm: MmStruct, addr: number, len: number): boolean {
  if (mm.taskSize - len < addr) return false;
  return addr > DEFAULT_MAP_WINDOW === addr + len > DEFAULT_MAP_WINDOW;
}

/** arch/x86/kernel/sys_x86_64.c: arch_get_unmapped_area() — v4.19 (bottom-up). */
export function archGetUnmappedArea(
  mm: MmStruct,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  const end = addr > DEFAULT_MAP_WINDOW ? mm.taskSize : DEFAULT_MAP_WINDOW;
  if (flags & MAP_FIXED) return addr;
  if (len > end) return -ENOMEM;
  if (addr !== 0) {
    addr = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const vma = mm.tree.findVma(addr);
    if (end - len >= addr && (vma === null || addr + len <= vmStartGap(vma, mm.stackGuardGap))) {
      return addr;
    }
  }
  return mm.tree.unmappedArea({
    length: len,
    lowLimit: mm.mmapLegacyBase,
    highLimit: end,
    alignMask: 0,
    alignOffset: pgoff * PAGE_SIZE,
    stackGuardGap: mm.stackGuardGap,
  });
}

/** arch/x86/kernel/sys_x86_64.c: arch_get_unmapped_area_topdown() — v4.19. */
export function archGetUnmappedAreaTopdown(
  mm: MmStruct,
  addr0: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  if (len > mm.taskSize) return -ENOMEM;
  if (flags & MAP_FIXED) return addr0;
  // MAP_32BIT asks for the low 2 GB: the bottom-up allocator handles it.
  if (flags & MAP_32BIT) return archGetUnmappedArea(mm, addr0, len, pgoff, flags);
  if (addr0 !== 0) {
    const addr = Math.floor(addr0 / PAGE_SIZE) * PAGE_SIZE;
    if (mmapAddressHintValid(mm, addr, len)) {
      const vma = mm.tree.findVma(addr);
      if (vma === null || addr + len <= vmStartGap(vma, mm.stackGuardGap)) return addr;
    }
  }
  let highLimit = mm.mmapBase;
  if (addr0 > DEFAULT_MAP_WINDOW) highLimit += mm.taskSize - DEFAULT_MAP_WINDOW;
  const addr = mm.tree.unmappedAreaTopdown({
    length: len,
    lowLimit: PAGE_SIZE,
    highLimit,
    alignMask: 0,
    alignOffset: pgoff * PAGE_SIZE,
    stackGuardGap: mm.stackGuardGap,
  });
  if (addr >= 0) return addr;
  // A failed top-down search falls back to bottom-up, for 32-bit-style tight spaces.
  return archGetUnmappedArea(mm, addr0, len, pgoff, flags);
}

/** mm/mmap.c: get_unmapped_area() — v4.19, for anonymous mappings. */
export function getUnmappedArea(
  mm: MmStruct,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  if (len > mm.taskSize) return -ENOMEM;
  // Anonymous MAP_SHARED goes through shmem_get_unmapped_area with pgoff 0: same result here.
  const a = archGetUnmappedAreaTopdown(mm, addr, len, pgoff, flags);
  if (isErrValue(a)) return a;
  if (a > mm.taskSize - len) return -ENOMEM;
  if (!pageAligned(a)) return -EINVAL;
  const err = securityMmapAddr(a);
  return err !== 0 ? err : a;
}

/** What do_mmap() asks its caller to populate (the kernel's *populate out-parameter). */
export interface MmapResult {
  /** The address, or a negative errno. */
  addr: number;
  /** Bytes to fault in after mmap_sem is released (MAP_POPULATE or VM_LOCKED). */
  populate: number;
}

/**
 * mm/mmap.c: do_mmap() — v4.19, for anonymous mappings (file mappings are not modelled yet).
 * Runs under the caller's write lock.
 */
export function* doMmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  pgoff: number,
): Op<MmapResult> {
  const fail = (addr: number): MmapResult => ({ addr, populate: 0 });
  if (len === 0) return fail(-EINVAL);
  // MAP_FIXED_NOREPLACE is MAP_FIXED that refuses to replace (checked after placement).
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if (!(flags & MAP_FIXED) && addr < MMAP_MIN_ADDR) {
    // round_hint_to_min(): a hint below mmap_min_addr moves up to it.
    addr = addr === 0 ? 0 : MMAP_MIN_ADDR;
  }
  len = pageAlign(len);
  if (len === 0 || len > Number.MAX_SAFE_INTEGER) return fail(-ENOMEM);
  if (pgoff + len / PAGE_SIZE < pgoff || pgoff + len / PAGE_SIZE > Number.MAX_SAFE_INTEGER) {
    return fail(-EOVERFLOW);
  }
  if (mm.mapCount > mm.maxMapCount) return fail(-ENOMEM);

  yield* charge(mm.cost.vmaLookup);
  const type = flags & MAP_TYPE;
  if (type === MAP_SHARED) pgoff = 0;
  addr = getUnmappedArea(mm, addr, len, pgoff, flags);
  if (isErrValue(addr)) return fail(addr);

  if (flags & MAP_FIXED_NOREPLACE) {
    const vma = mm.tree.findVma(addr);
    if (vma !== null && vma.vmStart < addr + len) return fail(-EEXIST);
  }

  let vmFlags =
    calcVmProtBits(prot) |
    calcVmFlagBits(flags) |
    mm.defFlags |
    VM_MAYREAD |
    VM_MAYWRITE |
    VM_MAYEXEC;
  if (flags & MAP_LOCKED) {
    // can_do_mlock() and mlock_future_check()
    if (!mm.capIpcLock && mm.rlimits.memlock === 0) return fail(-EPERM);
    if (!mm.capIpcLock && (mm.lockedVm + len / PAGE_SIZE) * PAGE_SIZE > mm.rlimits.memlock) {
      return fail(-EAGAIN);
    }
  }

  switch (type) {
    case MAP_SHARED:
    case MAP_SHARED_VALIDATE:
      if (vmFlagsHas(vmFlags, VM_GROWSDOWN)) return fail(-EINVAL);
      pgoff = 0;
      vmFlags = vmFlagsSet(vmFlags, VM_SHARED | VM_MAYSHARE);
      break;
    case MAP_PRIVATE:
      pgoff = addr / PAGE_SIZE;
      break;
    default:
      return fail(-EINVAL);
  }
  // MAP_NORESERVE is honoured unless overcommit is "never" (not modelled: always honoured).
  if (flags & MAP_NORESERVE) vmFlags = vmFlagsSet(vmFlags, VM_NORESERVE);

  const ret = yield* mmapRegion(mm, null, addr, len, vmFlags, pgoff);
  const populate =
    !isErrValue(ret) &&
    (vmFlagsHas(vmFlags, VM_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE)
      ? len
      : 0;
  return { addr: ret, populate };
}

/**
 * mm/mmap.c: mmap_region() — v4.19, anonymous: unmap what MAP_FIXED overlaps, charge the
 * overcommit accounting, merge with a neighbour or link a new VMA, account the pages.
 */
export function* mmapRegion(
  mm: MmStruct,
  file: VmFile | null,
  addr: number,
  len: number,
  vmFlags: number,
  pgoff: number,
): Op<number> {
  const end = addr + len;
  const npages = len / PAGE_SIZE;
  if (!mayExpandVm(mm, vmFlags, npages)) {
    // MAP_FIXED may replace existing pages: only the new ones count.
    const overlap = countVmaPagesRange(mm, addr, end);
    if (!mayExpandVm(mm, vmFlags, npages - overlap)) return -ENOMEM;
  }
  // Clear old maps.
  if (mm.tree.findVmaIntersection(addr, end) !== null) {
    const err = yield* doMunmap(mm, addr, len, null);
    if (err !== 0) return -ENOMEM;
  }
  let charged = 0;
  if (accountableMapping(vmFlags)) {
    charged = npages;
    if (securityVmEnoughMemoryMm(mm, charged) !== 0) return -ENOMEM;
    vmFlags = vmFlagsSet(vmFlags, VM_ACCOUNT);
  }
  const prev = mm.tree.findVmaPrev(addr).prev;
  yield* charge(mm.cost.vmaInsert);
  let vma = vmaMerge(mm, prev, addr, end, vmFlags, null, file, pgoff, null, null);
  if (vma === null) {
    vma = new Vma({ vmStart: addr, vmEnd: end, vmFlags, vmPgoff: pgoff, vmFile: file });
    if (vmFlagsHas(vmFlags, VM_SHARED) && file === null) {
      // shmem_zero_setup(): anonymous shared memory is a file on an internal shmem mount.
      vma.vmFile = newShmemFile();
    }
    mm.tree.insert(vma);
  }
  mm.committedVm += charged;
  vmStatAccount(mm, vmFlags, npages);
  if (vmFlagsHas(vmFlags, VM_LOCKED)) {
    if (vmFlagsHas(vmFlags, VM_SPECIAL) || vmFlagsHas(vmFlags, VM_HUGETLB)) {
      vma.vmFlags = vmFlagsClear(vma.vmFlags, VM_LOCKED);
    } else {
      mm.lockedVm += npages;
    }
  }
  vma.vmFlags = vmFlagsSet(vma.vmFlags, VM_SOFTDIRTY);
  return addr;
}

let nextShmemIno = 1;
/** The "/dev/zero (deleted)" file shmem_zero_setup() creates for each MAP_SHARED|MAP_ANONYMOUS. */
function newShmemFile(): VmFile {
  return { path: "/dev/zero (deleted)", ino: nextShmemIno++ };
}

/** mm/mmap.c: count_vma_pages_range() — v4.19: pages of existing VMAs inside [addr, end). */
export function countVmaPagesRange(mm: MmStruct, addr: number, end: number): number {
  let pages = 0;
  for (const vma of mm.tree.range(addr, end)) {
    pages += (Math.min(end, vma.vmEnd) - Math.max(addr, vma.vmStart)) / PAGE_SIZE;
  }
  return pages;
}

/**
 * mm/util.c: vm_mmap_pgoff() — v4.19, the mmap system call for anonymous memory: returns
 * the address or a negative errno.
 */
export function* sysMmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd = -1,
  off = 0,
): Op<number> {
  yield* charge(mm.cost.syscall);
  if (!Number.isFinite(addr) || !Number.isFinite(len) || addr < 0 || len < 0) return -EINVAL;
  if (off % PAGE_SIZE !== 0) return -EINVAL;
  if (!(flags & MAP_ANONYMOUS) || fd !== -1) {
    throw new RangeError(
      "@mmlab/mm-core: only anonymous mappings are modelled (MAP_ANONYMOUS, fd -1)",
    );
  }
  if ((yield* mm.mmapSem.downWriteKillable()) !== 0) return -EINTR;
  yield* charge(mm.cost.lockOp);
  const { addr: ret, populate } = yield* traced(
    "do_mmap",
    doMmap(mm, addr, len, prot, flags, off / PAGE_SIZE),
  );
  mm.mmapSem.upWrite();
  yield* charge(mm.cost.lockOp);
  if (populate > 0) yield* mmPopulate(mm, ret, populate);
  return ret;
}
