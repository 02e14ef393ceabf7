/**
 * mprotect(2) (mm/mprotect.c — v4.19): new VM_READ/WRITE/EXEC on every VMA of a range,
 * splitting at the edges and merging with neighbours, VM_ACCOUNT charged when a private
 * mapping first becomes writable, and the present PTEs rewritten (change_protection()).
 */
import {
  VM_ACCOUNT,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type Vma,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EACCES, EINTR, EINVAL, ENOMEM } from "./errno.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { calcVmProtBits, mayExpandVm, securityVmEnoughMemoryMm } from "./mmap.js";
import { vmStatAccount } from "./munmap.js";
import { checkArg, hasHighBits, pageAlignUlong, ulongAdd, ulongArg } from "./syscall-args.js";
import { PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_WRITE } from "./uapi.js";
import { vmaMergeOrSplit } from "./vma-modify.js";

/** PROT_SEM is accepted and ignored on x86 (arch_validate_prot: the generic mask). */
const PROT_SEM = 0x8;

/**
 * mm/mprotect.c: mprotect_fixup() — v4.19: give [start, end) of `vma` the flags `newflags`.
 * Returns the VMA now covering the range (the kernel's *pprev) or a negative errno.
 */
export function* mprotectFixup(
  mm: MmStruct,
  vma: Vma,
  prev: Vma | null,
  start: number,
  end: number,
  newflags: number,
): Op<Vma | number> {
  const oldflags = vma.vmFlags;
  const nrpages = (end - start) / PAGE_SIZE;
  if (newflags === oldflags) return vma;
  // A private mapping that becomes writable is charged to the overcommit accounting now.
  let charged = 0;
  if (vmFlagsHas(newflags, VM_WRITE)) {
    // Check space limits when the area turns into data (RLIMIT_DATA).
    if (!mayExpandVm(mm, newflags, nrpages) && mayExpandVm(mm, oldflags, nrpages)) return -ENOMEM;
    if (!vmFlagsHas(oldflags, VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)) {
      charged = nrpages;
      if (securityVmEnoughMemoryMm(mm, charged) !== 0) return -ENOMEM;
      newflags = (newflags | VM_ACCOUNT) >>> 0;
    }
  } else if (
    mm.generation !== "v4.19" &&
    vmFlagsHas(oldflags, VM_ACCOUNT) &&
    vma.vmFile === null &&
    vma.vmOps === null &&
    vma.anonVma === null
  ) {
    // 6.5+ ("allow unfaulted VMAs to be unaccounted on mprotect()"): an anonymous VMA that
    // never faulted gives its commit charge back when it stops being writable.
    newflags = (newflags & ~VM_ACCOUNT) >>> 0;
    charged = -nrpages;
  }
  const r = yield* vmaMergeOrSplit(mm, vma, prev, start, end, newflags);
  if (typeof r === "number") return r;
  vma = r;
  // vm_flags and the PTEs change together: the mm's write lock is held.
  vma.vmFlags = newflags;
  mm.committedVm += charged;
  const changed = mm.pt.changeProtection(start, end, {
    // Private mappings map read-only (PAGE_COPY) and get write access per page at the
    // next write fault (do_wp_page); shared writable ones map writable.
    write: vmFlagsHas(newflags, VM_SHARED) && vmFlagsHas(newflags, VM_WRITE),
    exec: vmFlagsHas(newflags, VM_EXEC),
    none: !vmFlagsHas(newflags, VM_READ | VM_WRITE | VM_EXEC),
  });
  yield* charge(changed * mm.cost.pteProtect);
  vmStatAccount(mm, oldflags, -nrpages);
  vmStatAccount(mm, newflags, nrpages);
  return vma;
}

/** mm/mprotect.c: do_mprotect_pkey() — v4.19 (pkey -1), the mprotect(2) system call. */
export function* sysMprotect(mm: MmStruct, start: number, len: number, prot: number): Op<number> {
  checkArg("sysMprotect", "start", start);
  checkArg("sysMprotect", "len", len);
  checkArg("sysMprotect", "prot", prot);
  start = ulongArg(start);
  len = ulongArg(len);
  yield* charge(mm.cost.syscall);
  // prot is an unsigned long: a bit above 31 is as unknown as PROT_SEM's neighbours.
  const highProt = hasHighBits(prot);
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~grows;
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL; // can't be both
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  if (len === 0) return 0;
  len = pageAlignUlong(len);
  const end = ulongAdd(start, len);
  if (end <= start) return -ENOMEM;
  if (highProt || prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL;

  if ((yield* mm.mmapSem.downWriteKillable()) !== 0) return -EINTR;
  let ret: number;
  try {
    yield* charge(mm.cost.lockOp);
    ret = yield* mprotectLocked(mm, start, end, prot, grows);
  } finally {
    mm.mmapSem.upWrite();
  }
  yield* charge(mm.cost.lockOp);
  return ret;
}

function* mprotectLocked(
  mm: MmStruct,
  start: number,
  end: number,
  prot: number,
  grows: number,
): Op<number> {
  yield* charge(mm.cost.vmaLookup);
  let vma = mm.tree.findVma(start);
  if (vma === null) return -ENOMEM;
  let prev = mm.tree.vmaPrev(vma);
  if (grows & PROT_GROWSDOWN) {
    if (vma.vmStart >= end) return -ENOMEM;
    start = vma.vmStart;
    if (!vmFlagsHas(vma.vmFlags, VM_GROWSDOWN)) return -EINVAL;
  } else {
    if (vma.vmStart > start) return -ENOMEM;
    // PROT_GROWSUP needs VM_GROWSUP, which x86 has not: checked after the lookup, as the kernel.
    if (grows & PROT_GROWSUP) return -EINVAL;
  }
  if (start > vma.vmStart) prev = vma;
  for (let nstart = start; ; ) {
    // Here we know that vma.vmStart <= nstart < vma.vmEnd.
    const newflags = (calcVmProtBits(prot) | (vma.vmFlags & ~(VM_READ | VM_WRITE | VM_EXEC))) >>> 0;
    // newflags >> 4 shifts VM_MAY% into the place of VM_%.
    if (newflags & ~(newflags >>> 4) & (VM_READ | VM_WRITE | VM_EXEC)) return -EACCES;
    const tmp = Math.min(vma.vmEnd, end);
    const r = yield* mprotectFixup(mm, vma, prev, nstart, tmp, newflags);
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
