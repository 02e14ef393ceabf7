/**
 * validate_mm() (mm/mmap.c, CONFIG_DEBUG_VM_RB — v4.19), widened to everything that ties the
 * parts of the model together. Tests call it after every operation.
 *
 * 1. The VMA tree is valid (sorted, non-overlapping, gaps, count = map_count).
 * 2. Every VMA is page aligned, non-empty and below TASK_SIZE.
 * 3. total_vm, locked_vm, data_vm, exec_vm, stack_vm and the VM_ACCOUNT charge equal what
 *    the VMAs add up to.
 * 4. Every present leaf lies inside a VMA, and is writable only if the VMA has VM_WRITE.
 * 5. The page table's own counters (rss per type, nr_ptes/pmds/puds) match its entries.
 * 6. No page-table page outlives every VMA of its span: a PTE table (2 MiB), PMD table
 *    (1 GiB) or PUD table (512 GiB) whose span no VMA intersects would have been freed by
 *    free_pgtables() when the last VMA there was unmapped.
 * 7. If the mm owns its frame allocator: every frame is free, mapped data, or a page-table
 *    page of this mm, and none is lost.
 */
import {
  VM_ACCOUNT,
  VM_EXEC,
  VM_LOCKED,
  VM_SHARED,
  VM_STACK,
  VM_WRITE,
  vmaPages,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";

export class MmInvariantError extends Error {
  override name = "MmInvariantError";
}

function fail(msg: string): never {
  throw new MmInvariantError(`@mmlab/mm-core: validateMm: ${msg}`);
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Throws MmInvariantError naming the first broken invariant; returns nothing when all hold. */
export function validateMm(mm: MmStruct, opts: { ownsPhys?: boolean } = {}): void {
  try {
    mm.tree.validate();
  } catch (e) {
    fail(`VMA tree: ${(e as Error).message}`);
  }
  let total = 0;
  let locked = 0;
  let data = 0;
  let exec = 0;
  let stack = 0;
  let committed = 0;
  let count = 0;
  let prevEnd = -1;
  for (const vma of mm.tree) {
    count++;
    const where = `VMA [${hex(vma.vmStart)}, ${hex(vma.vmEnd)})`;
    if (vma.vmStart % PAGE_SIZE !== 0 || vma.vmEnd % PAGE_SIZE !== 0)
      fail(`${where} is not page aligned`);
    if (vma.vmStart >= vma.vmEnd) fail(`${where} is empty`);
    if (vma.vmEnd > mm.taskSize + PAGE_SIZE) fail(`${where} ends above TASK_SIZE`);
    if (vma.vmStart < prevEnd) fail(`${where} overlaps its predecessor`);
    prevEnd = vma.vmEnd;
    const pages = vmaPages(vma);
    const f = vma.vmFlags;
    total += pages;
    if (vmFlagsHas(f, VM_LOCKED)) locked += pages;
    if (vmFlagsHas(f, VM_ACCOUNT)) committed += pages;
    if ((f & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC) exec += pages;
    else if ((f & VM_STACK) === VM_STACK) stack += pages;
    else if ((f & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE) data += pages;
  }
  if (count !== mm.mapCount) fail(`map_count ${mm.mapCount} but the tree holds ${count} VMAs`);
  const counters: Array<[string, number, number]> = [
    ["total_vm", mm.totalVm, total],
    ["locked_vm", mm.lockedVm, locked],
    ["data_vm", mm.dataVm, data],
    ["exec_vm", mm.execVm, exec],
    ["stack_vm", mm.stackVm, stack],
    ["committed (VM_ACCOUNT)", mm.committedVm, committed],
  ];
  for (const [name, have, want] of counters) {
    if (have !== want) fail(`${name} is ${have} pages but the VMAs add up to ${want}`);
  }

  try {
    mm.pt.validate();
  } catch (e) {
    fail(`page table: ${(e as Error).message}`);
  }

  // 4: every present leaf inside a VMA that permits it.
  mm.pt.forEachLeaf((addr, size, writable) => {
    const vma = mm.tree.findVma(addr);
    if (vma === null || vma.vmStart > addr || vma.vmEnd < addr + size) {
      fail(`a present ${size / 1024} KiB leaf at ${hex(addr)} lies outside every VMA`);
    }
    if (writable && !vmFlagsHas(vma.vmFlags, VM_WRITE)) {
      fail(`a writable leaf at ${hex(addr)} lies in a VMA without VM_WRITE`);
    }
  });

  // 6: no page-table page outlives all VMAs of its span.
  mm.pt.forEachTable((level, spanStart, spanEnd) => {
    if (mm.tree.findVmaIntersection(spanStart, spanEnd) === null) {
      fail(
        `a ${level} table for [${hex(spanStart)}, ${hex(spanEnd)}) survives with no VMA in its span`,
      );
    }
  });

  if (opts.ownsPhys) validatePhys(mm);
}

/** 7: frame accounting of a PhysMem used by this mm alone. */
function validatePhys(mm: MmStruct): void {
  const counts = mm.phys.counts();
  const rss = mm.pt.rss;
  const tables = mm.pt.tablePages;
  if (counts.pagetable !== tables) {
    fail(`${counts.pagetable} page-table frames allocated but the page table holds ${tables}`);
  }
  const mapped = counts.anon + counts.file + counts.shmem;
  if (mapped !== rss.anon + rss.file + rss.shmem) {
    fail(`${mapped} data frames allocated but rss counts ${rss.anon + rss.file + rss.shmem} pages`);
  }
  let sum = 0;
  for (const k of Object.keys(counts) as Array<keyof typeof counts>) sum += counts[k];
  if (sum !== mm.phys.totalFrames)
    fail(`frames by kind sum to ${sum}, not ${mm.phys.totalFrames}: some are lost`);
}
