/**
 * mm/gup.c: __mm_populate() and populate_vma_page_range() — v4.19: fault in every page of
 * [start, start + len) under the read lock, as MAP_POPULATE, MAP_LOCKED and mlock() do after
 * mmap_sem was dropped for write. Pages are mapped in bulk one PMD (2 MiB) at a time, and
 * each chunk is charged `populatePage` per page newly mapped.
 */
import { VM_IO, VM_PFNMAP, VM_SHARED, VM_WRITE, type Vma, vmFlagsHas } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EFAULT, ENOMEM } from "./errno.js";
import { handleMmFault } from "./fault.js";
import { isRegularFile } from "./file.js";
import { PAGE_SIZE, PMD_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { clearUserHighpage, pageContentsOf } from "./page-contents.js";

/**
 * Populates [start, start + len); with `ignoreErrors` (mmap's use) a failure just stops
 * the VMA, otherwise (mlock's use) it is returned. Returns 0 or a negative errno.
 */
export function* mmPopulate(
  mm: MmStruct,
  start: number,
  len: number,
  ignoreErrors = true,
): Op<number> {
  const end = start + len;
  const sem = mm.mmapSem;
  yield* sem.downRead();
  let ret = 0;
  try {
    yield* charge(mm.cost.lockOp);
    ret = yield* populateLocked(mm, start, end, ignoreErrors);
  } finally {
    sem.upRead();
  }
  yield* charge(mm.cost.lockOp);
  return ret;
}

/** The loop of __mm_populate() over the VMAs of [start, end), under the read lock. */
function* populateLocked(
  mm: MmStruct,
  start: number,
  end: number,
  ignoreErrors: boolean,
): Op<number> {
  let ret = 0;
  for (let nstart = start; nstart < end; ) {
    const vma = mm.tree.findVma(nstart);
    if (vma === null || vma.vmStart >= end) break;
    // A hole (only a racing munmap makes one): carry on from the next VMA, as the kernel.
    if (vma.vmStart > nstart) nstart = vma.vmStart;
    const nend = Math.min(end, vma.vmEnd);
    // VM_IO / VM_PFNMAP mappings have no struct pages to fault in: skipped.
    if (!vmFlagsHas(vma.vmFlags, VM_IO | VM_PFNMAP)) {
      const err = yield* populateVmaPageRange(mm, vma, nstart, nend);
      if (err !== 0 && !ignoreErrors) {
        ret = err;
        break;
      }
    }
    nstart = nend;
  }
  return ret;
}

/**
 * mm/gup.c: populate_vma_page_range() — v4.19, with the read lock held: fault in [start, end)
 * of one VMA. Only a private writable mapping is written (FOLL_WRITE), anything else is
 * read: the zero page for private anonymous memory, shmem pages for shared. Returns 0 or the
 * negative errno that stopped it.
 */
export function* populateVmaPageRange(
  mm: MmStruct,
  vma: Vma,
  start: number,
  end: number,
): Op<number> {
  const privateWritable = (vma.vmFlags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  if (!privateWritable || (vma.vmFile !== null && isRegularFile(vma.vmFile))) {
    return yield* populateByFaults(mm, vma, start, end);
  }
  // Private writable anonymous memory: bulk write faults, one PMD extent at a time.
  if (vma.anonVma === null) vma.anonVma = mm.newAnonVma();
  for (let a = start; a < end; ) {
    const chunkEnd = Math.min(end, (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE);
    const before = mm.pt.rss.anon;
    const fresh = pageContentsOf(mm.phys) === null ? null : unmappedPages(mm, a, chunkEnd);
    const err = mm.pt.populateRange(a, chunkEnd, {
      write: true,
      exec: false,
      dirty: true,
      accessed: true,
    });
    // clear_user_highpage() of each new page, when page contents are modelled
    if (fresh !== null) for (const p of fresh) clearUserHighpage(mm.phys, mm.pt.followPage(p));
    yield* charge((mm.pt.rss.anon - before) * mm.cost.populatePage);
    if (err !== 0) return err;
    a = chunkEnd;
  }
  return 0;
}

/** The pages of [start, end) that nothing maps yet. */
function unmappedPages(mm: MmStruct, start: number, end: number): number[] {
  const out: number[] = [];
  for (let a = start; a < end; a += PAGE_SIZE) if (mm.pt.followPage(a) < 0) out.push(a);
  return out;
}

/**
 * populate_vma_page_range() page by page through the fault path (file mappings, and
 * anonymous memory that is not private writable): a private writable mapping is written
 * (FOLL_WRITE: COW copies), anything else read. Stops at the page beyond EOF.
 * 0 or -ENOMEM / -EFAULT.
 */
function* populateByFaults(mm: MmStruct, vma: Vma, start: number, end: number): Op<number> {
  const write = (vma.vmFlags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  for (let a = start; a < end; a += PAGE_SIZE) {
    if (mm.pt.followPage(a) >= 0 && !write) continue;
    const r = yield* handleMmFault(mm, vma, a, { write });
    yield* charge(mm.cost.populatePage);
    if (r !== 0) return r.signo === 9 ? -ENOMEM : -EFAULT;
  }
  return 0;
}
