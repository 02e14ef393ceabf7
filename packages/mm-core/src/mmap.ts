/**
 * mmap(2) (mm/mmap.c, mm/util.c, arch/x86/kernel/sys_x86_64.c — v4.19, with the v6.8 and
 * v6.18 placement rules as options): ksys_mmap_pgoff (fd lookup) -> vm_mmap_pgoff ->
 * do_mmap -> get_unmapped_area -> mmap_region, then mm_populate for MAP_POPULATE /
 * MAP_LOCKED after mmap_sem is dropped. Anonymous and file-backed (MAP_PRIVATE, MAP_SHARED)
 * mappings; a file mapping points to the struct file (MappedFile) its fd names, so
 * vma_merge()'s file and pgoff rules apply to it as the kernel applies them.
 *
 * Placement of an unhinted mapping, top-down below mmap_base (0x7ffff7fff000 without ASLR):
 *
 *   v4.19           [............ free ............|<- len ->]  highest fit, page aligned
 *   v6.8 / v6.18    [....|<- len ->|..  < 2 MiB  ..]            thp_get_unmapped_area():
 *                        ^ 2 MiB aligned                        search len + 2 MiB, align
 *   (v6.8: anonymous private len >= 2 MiB and file mappings; v6.18: anonymous only when
 *   len is a multiple of 2 MiB and there is no hint; files as in v6.8.)
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
  VM_NOHUGEPAGE,
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
import {
  EACCES,
  EAGAIN,
  EBADF,
  EEXIST,
  EINTR,
  EINVAL,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from "./errno.js";
import { isRegularFile, type MappedFile, makedev } from "./file.js";
import { DEFAULT_MAP_WINDOW, PAGE_SIZE, PMD_SIZE, pageAlign, pageAligned } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { doMunmap, vmStatAccount } from "./munmap.js";
import { mmPopulate } from "./populate.js";
import { checkArg, uintArg, ulongArg } from "./syscall-args.js";
import {
  MAP_32BIT,
  MAP_ANONYMOUS,
  MAP_DENYWRITE,
  MAP_EXECUTABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
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

/**
 * include/linux/mman.h: calc_vm_flag_bits() — v4.19; with `generation` "v6.8" or later
 * MAP_DENYWRITE has no VM_ bit any more (5.15) and MAP_STACK gives VM_NOHUGEPAGE (6.7,
 * c4608d1bf7c6 "mm: mmap: map MAP_STACK to VM_NOHUGEPAGE").
 */
export function calcVmFlagBits(flags: number, generation = "v4.19"): number {
  const v4 = generation === "v4.19";
  return (
    ((flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
      (v4 && flags & MAP_DENYWRITE ? VM_DENYWRITE : 0) |
      (flags & MAP_LOCKED ? VM_LOCKED : 0) |
      (flags & MAP_SYNC ? VM_SYNC : 0) |
      (!v4 && flags & MAP_STACK ? VM_NOHUGEPAGE : 0)) >>>
    0
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
function securityMmapAddr(mm: MmStruct, addr: number): number {
  return addr < mm.mmapMinAddr ? -EPERM : 0;
}

/** arch/x86/kernel/sys_x86_64.c: mmap_address_hint_valid() — v4.19. */
function mmapAddressHintValid(mm: MmStruct, addr: number, len: number): boolean {
  if (mm.taskSize - len < addr) return false;
  return addr > DEFAULT_MAP_WINDOW === addr + len > DEFAULT_MAP_WINDOW;
}

/** find_start_end()'s window for MAP_32BIT without randomisation: 1 GiB up to 2 GiB. */
const MAP_32BIT_BEGIN = 0x40000000;
const MAP_32BIT_END = 0x80000000;

/** arch/x86/kernel/sys_x86_64.c: arch_get_unmapped_area() — v4.19 (bottom-up). */
export function archGetUnmappedArea(
  mm: MmStruct,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  if (flags & MAP_FIXED) return addr;
  // find_start_end(): MAP_32BIT (64-bit syscall) searches [1 GiB, 2 GiB) for small-model code.
  const begin = flags & MAP_32BIT ? MAP_32BIT_BEGIN : mm.mmapLegacyBase;
  const end =
    flags & MAP_32BIT
      ? MAP_32BIT_END
      : addr > DEFAULT_MAP_WINDOW
        ? mm.taskSize
        : DEFAULT_MAP_WINDOW;
  if (len > end) return -ENOMEM;
  if (addr !== 0) {
    addr = pageAlign(addr); // PAGE_ALIGN(): the bottom-up path rounds a hint up
    const vma = mm.tree.findVma(addr);
    if (end - len >= addr && (vma === null || addr + len <= vmStartGap(vma, mm.stackGuardGap))) {
      return addr;
    }
  }
  return mm.tree.unmappedArea({
    length: len,
    lowLimit: begin,
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
  // 4.19 searches down to PAGE_SIZE (get_unmapped_area's security check refuses what falls
  // below mmap_min_addr); 6.x's unmapped_area_topdown() stops at max(low_limit, mmap_min_addr).
  const addr = mm.tree.unmappedAreaTopdown({
    length: len,
    lowLimit: mm.generation === "v4.19" ? PAGE_SIZE : Math.max(PAGE_SIZE, mm.mmapMinAddr),
    highLimit,
    alignMask: 0,
    alignOffset: pgoff * PAGE_SIZE,
    stackGuardGap: mm.stackGuardGap,
  });
  if (addr >= 0) return addr;
  // A failed top-down search falls back to bottom-up, for 32-bit-style tight spaces.
  return archGetUnmappedArea(mm, addr0, len, pgoff, flags);
}

/**
 * mm/huge_memory.c: __thp_get_unmapped_area() with thp_get_unmapped_area()'s fallback —
 * v6.8 (with 96204e153513 "thp_get_unmapped_area must honour topdown preference"): search
 * for len + 2 MiB, keep a hint that fits the padded length, else move the result up to
 * the next address congruent to the file offset modulo 2 MiB (or to the top of the padded
 * area when the search result already is), so that the mapping can use PMD leaves.
 */
export function thpGetUnmappedArea(
  mm: MmStruct,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  const off = pgoff * PAGE_SIZE;
  const offEnd = off + len;
  const offAlign = Math.ceil(off / PMD_SIZE) * PMD_SIZE;
  if (offEnd > offAlign && offEnd - offAlign >= PMD_SIZE) {
    const lenPad = len + PMD_SIZE;
    const ret = archGetUnmappedAreaTopdown(mm, addr, lenPad, pgoff, flags);
    // A failure may be the padding's fault: retry without it below.
    if (!isErrValue(ret)) {
      if (ret === addr) return addr;
      const offSub = (((off - ret) % PMD_SIZE) + PMD_SIZE) % PMD_SIZE;
      return offSub === 0 ? ret + PMD_SIZE : ret + offSub; // MMF_TOPDOWN
    }
  }
  return archGetUnmappedAreaTopdown(mm, addr, len, pgoff, flags);
}

/**
 * mm/mmap.c: get_unmapped_area() — v4.19 / __get_unmapped_area() — v6.8, v6.18. Which
 * allocator runs: a file's f_op->get_unmapped_area (thp_get_unmapped_area on ext4, xfs and
 * btrfs: plain in 4.19 without DAX, aligning from 5.18 on), shmem's for anonymous MAP_SHARED
 * (plain with shmem_enabled "never"), else the mm's, which 6.7+ wraps in
 * thp_get_unmapped_area for anonymous private memory (efa7df3e3bb5; 6.12 limited it to
 * PMD-multiple lengths, d4148aeab412, and 6.13 to calls without a hint, 249608ee4713).
 */
export function getUnmappedArea(
  mm: MmStruct,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
  file: VmFile | null = null,
): number {
  if (len > mm.taskSize) return -ENOMEM;
  const gen = mm.generation;
  let a: number;
  if (file !== null) {
    a =
      gen !== "v4.19" && isRegularFile(file)
        ? thpGetUnmappedArea(mm, addr, len, pgoff, flags)
        : archGetUnmappedAreaTopdown(mm, addr, len, pgoff, flags);
  } else if (flags & MAP_SHARED) {
    a = archGetUnmappedAreaTopdown(mm, addr, len, 0, flags); // shmem_get_unmapped_area()
  } else if (gen === "v6.8" || (gen === "v6.18" && addr === 0 && len % PMD_SIZE === 0)) {
    a = thpGetUnmappedArea(mm, addr, len, 0, flags); // "Always treat pgoff as zero"
  } else {
    a = archGetUnmappedAreaTopdown(mm, addr, len, pgoff, flags);
  }
  if (isErrValue(a)) return a;
  if (a > mm.taskSize - len) return -ENOMEM;
  if (!pageAligned(a)) return -EINVAL;
  const err = securityMmapAddr(mm, a);
  return err !== 0 ? err : a;
}

/** include/linux/fs.h: MAX_LFS_FILESIZE on 64-bit (LLONG_MAX), as a float. */
const MAX_LFS_FILESIZE = 2 ** 63 - 1;

/** mm/mmap.c: file_mmap_ok() — v4.19: the mapping's last byte must fit a loff_t. */
function fileMmapOk(pgoff: number, len: number): boolean {
  const maxsize = MAX_LFS_FILESIZE - len;
  return pgoff <= Math.floor(maxsize / PAGE_SIZE);
}

/** include/linux/mman.h: LEGACY_MAP_MASK — the flags MAP_SHARED silently accepts. */
const LEGACY_MAP_MASK =
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_ANONYMOUS |
  MAP_DENYWRITE |
  MAP_EXECUTABLE |
  0x4000000 | // MAP_UNINITIALIZED
  MAP_GROWSDOWN |
  MAP_LOCKED |
  MAP_NORESERVE |
  MAP_POPULATE |
  MAP_NONBLOCK |
  MAP_STACK |
  MAP_HUGETLB;

/**
 * do_mmap()'s checks of a file mapping against its open mode — v4.19 (same in v6.8): the
 * VM_SHARED / VM_MAYSHARE / VM_MAYWRITE rules of MAP_SHARED, and -EACCES, -EOPNOTSUPP,
 * -EINVAL. Returns the vm_flags or a negative errno.
 */
function fileMmapFlags(file: MappedFile, prot: number, flags: number, vmFlags: number): number {
  const type = flags & MAP_TYPE;
  if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
    // ext4's f_op->mmap_supported_flags is MAP_SYNC (only DAX honours it).
    if (type === MAP_SHARED_VALIDATE && flags & ~(LEGACY_MAP_MASK | MAP_SYNC)) return -EOPNOTSUPP;
    if (prot & PROT_WRITE && !file.writable) return -EACCES;
    vmFlags = vmFlagsSet(vmFlags, VM_SHARED | VM_MAYSHARE);
    // A read-only fd: never writable later (mprotect sees no VM_MAYWRITE).
    if (!file.writable) vmFlags = vmFlagsClear(vmFlags, VM_MAYWRITE | VM_SHARED);
  } else if (type !== MAP_PRIVATE) {
    return -EINVAL;
  }
  if (!file.readable) return -EACCES;
  if (vmFlagsHas(vmFlags, VM_GROWSDOWN)) return -EINVAL;
  return vmFlags;
}

/** What do_mmap() asks its caller to populate (the kernel's *populate out-parameter). */
export interface MmapResult {
  /** The address, or a negative errno. */
  addr: number;
  /** Bytes to fault in after mmap_sem is released (MAP_POPULATE or VM_LOCKED). */
  populate: number;
}

/**
 * mm/mmap.c: do_mmap() — v4.19 (v6.8's differences: calcVmFlagBits, getUnmappedArea).
 * `file` is the struct file of a file mapping, null for anonymous memory. Runs under the
 * caller's write lock.
 */
export function* doMmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  pgoff: number,
  file: MappedFile | null = null,
): Op<MmapResult> {
  const fail = (addr: number): MmapResult => ({ addr, populate: 0 });
  if (len === 0) return fail(-EINVAL);
  // MAP_FIXED_NOREPLACE is MAP_FIXED that refuses to replace (checked after placement).
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if (!(flags & MAP_FIXED) && addr < mm.mmapMinAddr) {
    // round_hint_to_min(): a hint below mmap_min_addr moves up to it.
    addr = addr === 0 ? 0 : mm.mmapMinAddr;
  }
  len = pageAlign(len);
  if (len === 0 || len > Number.MAX_SAFE_INTEGER) return fail(-ENOMEM);
  if (pgoff + len / PAGE_SIZE < pgoff || pgoff + len / PAGE_SIZE > Number.MAX_SAFE_INTEGER) {
    return fail(-EOVERFLOW);
  }
  if (mm.mapCount > mm.maxMapCount) return fail(-ENOMEM);

  yield* charge(mm.cost.vmaLookup);
  const type = flags & MAP_TYPE;
  addr = getUnmappedArea(mm, addr, len, pgoff, flags, file);
  if (isErrValue(addr)) return fail(addr);

  if (flags & MAP_FIXED_NOREPLACE) {
    const vma = mm.tree.findVma(addr);
    if (vma !== null && vma.vmStart < addr + len) return fail(-EEXIST);
  }

  let vmFlags =
    (calcVmProtBits(prot) |
      calcVmFlagBits(flags, mm.generation) |
      mm.defFlags |
      VM_MAYREAD |
      VM_MAYWRITE |
      VM_MAYEXEC) >>>
    0;
  if (flags & MAP_LOCKED) {
    // can_do_mlock() and mlock_future_check()
    if (!mm.capIpcLock && mm.rlimits.memlock === 0) return fail(-EPERM);
    if (!mm.capIpcLock && (mm.lockedVm + len / PAGE_SIZE) * PAGE_SIZE > mm.rlimits.memlock) {
      return fail(-EAGAIN);
    }
  }

  if (file !== null) {
    if (!fileMmapOk(pgoff, len)) return fail(-EOVERFLOW);
    const f = fileMmapFlags(file, prot, flags, vmFlags);
    if (f < 0) return fail(f);
    vmFlags = f;
  } else {
    switch (type) {
      case MAP_SHARED:
        if (vmFlagsHas(vmFlags, VM_GROWSDOWN)) return fail(-EINVAL);
        pgoff = 0;
        vmFlags = vmFlagsSet(vmFlags, VM_SHARED | VM_MAYSHARE);
        break;
      case MAP_PRIVATE:
        pgoff = addr / PAGE_SIZE;
        break;
      default:
        // MAP_SHARED_VALIDATE is for files: anonymous memory refuses it as any other type.
        return fail(-EINVAL);
    }
  }
  // MAP_NORESERVE is honoured unless overcommit is "never" (not modelled: always honoured).
  if (flags & MAP_NORESERVE) vmFlags = vmFlagsSet(vmFlags, VM_NORESERVE);

  const ret = yield* mmapRegion(mm, file, addr, len, vmFlags, pgoff);
  const populate =
    !isErrValue(ret) &&
    (vmFlagsHas(vmFlags, VM_LOCKED) || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE)
      ? len
      : 0;
  return { addr: ret, populate };
}

/**
 * mm/mmap.c: mmap_region() — v4.19: unmap what MAP_FIXED overlaps, charge the overcommit
 * accounting (private writable mappings, file-backed or not), merge with a neighbour
 * (vma_merge compares the struct file and the pgoff continuity) or link a new VMA that
 * holds the file (get_file()), account the pages.
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
/**
 * The "/dev/zero (deleted)" file shmem_zero_setup() creates for each MAP_SHARED|MAP_ANONYMOUS,
 * on the internal shm mount (device 00:01 in /proc/PID/maps).
 */
function newShmemFile(): VmFile & { dev: number; shmem: true } {
  return { path: "/dev/zero (deleted)", ino: nextShmemIno++, dev: makedev(0, 1), shmem: true };
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
 * arch/x86/kernel/sys_x86_64.c: sys_mmap() -> mm/mmap.c: ksys_mmap_pgoff() -> mm/util.c:
 * vm_mmap_pgoff() — v4.19, the mmap system call: returns the address or a negative errno
 * (-EINVAL for an unaligned offset, -EBADF for an fd that names no file, then do_mmap's).
 * With MAP_ANONYMOUS the fd is ignored; MAP_DENYWRITE and MAP_EXECUTABLE are dropped.
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
  checkArg("sysMmap", "addr", addr);
  checkArg("sysMmap", "len", len);
  checkArg("sysMmap", "prot", prot);
  checkArg("sysMmap", "flags", flags);
  checkArg("sysMmap", "fd", fd);
  checkArg("sysMmap", "off", off);
  if (flags & MAP_ANONYMOUS && flags & MAP_HUGETLB) {
    throw new RangeError("@mmlab/mm-core: MAP_HUGETLB is not modelled");
  }
  // Every argument is an unsigned long (arch/x86/kernel/sys_x86_64.c); prot and flags are
  // used through their low bits only (do_mmap ignores unknown bits), fd is fget()'s unsigned int.
  addr = ulongArg(addr);
  len = ulongArg(len);
  off = ulongArg(off);
  yield* charge(mm.cost.syscall);
  if (off % PAGE_SIZE !== 0) return -EINVAL;
  let file: MappedFile | null = null;
  if (!(flags & MAP_ANONYMOUS)) {
    file = mm.fileOf(uintArg(fd));
    if (file === null) return -EBADF;
    if (flags & MAP_HUGETLB) return -EINVAL; // not a hugetlbfs file
  }
  flags &= ~(MAP_EXECUTABLE | MAP_DENYWRITE);
  if ((yield* mm.mmapSem.downWriteKillable()) !== 0) return -EINTR;
  let result: MmapResult;
  try {
    yield* charge(mm.cost.lockOp);
    result = yield* traced("do_mmap", doMmap(mm, addr, len, prot, flags, off / PAGE_SIZE, file));
  } finally {
    mm.mmapSem.upWrite();
  }
  const { addr: ret, populate } = result;
  yield* charge(mm.cost.lockOp);
  if (populate > 0) yield* mmPopulate(mm, ret, populate);
  return ret;
}
