/**
 * The step mlock_fixup() and mprotect_fixup() share (mm/mlock.c, mm/mprotect.c — v4.19;
 * 6.x names it vma_modify()): before [start, end) of `vma` takes new flags, merge it into a
 * neighbour if the result would be mergeable, else split `vma` at start and end so that one
 * VMA covers exactly the range.
 */
import { splitVma, type Vma, vmaMerge } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";

/** Returns the VMA that covers exactly [start, end) now, or -ENOMEM from a split. */
export function* vmaMergeOrSplit(
  mm: MmStruct,
  vma: Vma,
  prev: Vma | null,
  start: number,
  end: number,
  newflags: number,
): Op<Vma | number> {
  const pgoff = vma.vmPgoff + (start - vma.vmStart) / PAGE_SIZE;
  const merged = vmaMerge(
    mm,
    prev,
    start,
    end,
    newflags,
    vma.anonVma,
    vma.vmFile,
    pgoff,
    vma.vmPolicy,
    vma.vmUserfaultfdCtx,
  );
  if (merged !== null) return merged;
  if (start !== vma.vmStart) {
    const r = splitVma(mm, vma, start, true);
    if (typeof r === "number") return r;
    yield* charge(mm.cost.vmaSplit);
  }
  if (end !== vma.vmEnd) {
    const r = splitVma(mm, vma, end, false);
    if (typeof r === "number") return r;
    yield* charge(mm.cost.vmaSplit);
  }
  return vma;
}
