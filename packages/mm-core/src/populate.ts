/**
 * mm/gup.c: __mm_populate() and populate_vma_page_range() — v4.19: fault in every page of
 * [start, start + len) under the read lock, as MAP_POPULATE, MAP_LOCKED and mlock() do after
 * mmap_sem was dropped for write. Pages are mapped in bulk one PMD (2 MiB) at a time, and
 * each chunk is charged `populatePage` per page newly mapped.
 */
import { VM_IO, VM_PFNMAP, VM_WRITE, vmFlagsHas } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { ENOMEM } from "./errno.js";
import { PMD_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";

/**
 * Populates [start, start + len); with `ignoreErrors` (mmap's use) a hole or failure just
 * stops the VMA, otherwise (mlock's use) it returns -ENOMEM. Returns 0 or a negative errno.
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
  yield* charge(mm.cost.lockOp);
  let ret = 0;
  for (let nstart = start; nstart < end; ) {
    const vma = mm.tree.findVma(nstart);
    if (vma === null || vma.vmStart >= end) break;
    if (vma.vmStart > nstart) {
      if (!ignoreErrors) {
        ret = -ENOMEM;
        break;
      }
      nstart = vma.vmStart;
    }
    const nend = Math.min(end, vma.vmEnd);
    // populate_vma_page_range(): VM_IO / VM_PFNMAP are skipped (no struct pages).
    if (!vmFlagsHas(vma.vmFlags, VM_IO | VM_PFNMAP)) {
      const write = vmFlagsHas(vma.vmFlags, VM_WRITE);
      if (vma.anonVma === null) vma.anonVma = mm.newAnonVma();
      for (let a = nstart; a < nend; ) {
        const chunkEnd = Math.min(nend, (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE);
        const before = mm.pt.rss.anon;
        const err = mm.pt.populateRange(a, chunkEnd, {
          write,
          exec: false,
          dirty: write,
          accessed: true,
        });
        yield* charge((mm.pt.rss.anon - before) * mm.cost.populatePage);
        if (err !== 0) {
          ret = ignoreErrors ? 0 : err;
          a = nend;
          break;
        }
        a = chunkEnd;
      }
    }
    nstart = nend;
  }
  sem.upRead();
  yield* charge(mm.cost.lockOp);
  return ret;
}
