/** Helpers shared by the tests (not published). */
import { freePgtables, unmapPageRange } from "./memory.js";
import { PageTable } from "./page-table.js";
import { PhysMem } from "./phys-mem.js";
import { MmuGather } from "./tlb.js";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const RW = { write: true, exec: false, dirty: true } as const;

export function setup(bytes = 64 * MiB, levels: 4 | 5 = 4): { phys: PhysMem; pt: PageTable } {
  const phys = new PhysMem({ bytes });
  return { phys, pt: new PageTable(phys, { levels }) };
}

/** unmap_region()'s page-table part for detached ranges: zap, free_pgtables, finish. */
export function unmapRegion(
  pt: PageTable,
  ranges: ReadonlyArray<{ vmStart: number; vmEnd: number }>,
  floor: number,
  ceiling: number,
): MmuGather {
  const tlb = new MmuGather(pt);
  const start = ranges[0]?.vmStart ?? 0;
  const end = ranges[ranges.length - 1]?.vmEnd ?? 0;
  tlb.tlbGatherMmu(start, end);
  for (const r of ranges) unmapPageRange(tlb, r.vmStart, r.vmEnd);
  freePgtables(tlb, ranges, floor, ceiling);
  tlb.tlbFinishMmu(start, end);
  return tlb;
}

/** Every frame is free, mapped data, the zero page, or a page-table page of `pts`; none lost. */
export function checkFrames(phys: PhysMem, pts: readonly PageTable[]): void {
  phys.validate();
  const c = phys.counts();
  let tables = 0;
  let data = 0;
  for (const pt of pts) {
    pt.validate();
    tables += pt.tablePages;
    data += pt.rss.anon + pt.rss.file + pt.rss.shmem;
  }
  if (c.pagetable !== tables)
    throw new Error(`pagetable frames ${c.pagetable} != tables ${tables}`);
  if (c.anon + c.file + c.shmem !== data)
    throw new Error(`data frames ${c.anon + c.file + c.shmem} != rss ${data}`);
  if (c.zero !== 1) throw new Error(`zero frames ${c.zero}`);
  if (c.free + c.anon + c.file + c.shmem + c.pagetable + c.zero !== phys.totalFrames)
    throw new Error("frames lost");
}
