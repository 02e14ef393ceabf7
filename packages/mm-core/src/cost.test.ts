/**
 * The cost arithmetic: at small sizes the mmap_sem hold times that come out of the
 * simulation equal the profile's per-operation costs times what the kernel code did.
 * (The full-size table, 80 / 160 / 320 GB, is reproduced by apps/bench.)
 */
import { freePgtables, MmuGather, PageTable, PhysMem, unmapPageRange } from "@mmlab/page-table";
import { describe, expect, it } from "vitest";
import { E5_2680_V4_18 } from "./cost-model.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMmap } from "./mmap.js";
import { sysMunmap } from "./sys-munmap.js";
import { allocMm, MiB, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const M = E5_2680_V4_18;
const A0 = 0x600000000;
const SIZE = 64 * MiB;
const PAGES = SIZE / PAGE_SIZE;

/** What the page table does for this unmap, measured on a bare PageTable. */
function pageTableWork(): { flushes: number; tables: number } {
  const pt = new PageTable(new PhysMem({ bytes: 256 * MiB }));
  pt.populateRange(A0, A0 + SIZE, { write: true, exec: false, dirty: true });
  const tablesBefore = pt.tablePages;
  const tlb = new MmuGather(pt);
  tlb.tlbGatherMmu(A0, A0 + SIZE);
  unmapPageRange(tlb, A0, A0 + SIZE);
  freePgtables(tlb, [{ vmStart: A0, vmEnd: A0 + SIZE }], 0, 0);
  tlb.tlbFinishMmu(A0, A0 + SIZE);
  return { flushes: tlb.stats.tlbFlushes, tables: tablesBefore - pt.tablePages };
}

function holds(strategy: "classic" | "zapRlock") {
  return holdsAt(SIZE, strategy);
}

function holdsAt(size: number, strategy: "classic" | "zapRlock") {
  const { sim, mm } = allocMm({ munmap: strategy, cost: M, physBytes: size + 64 * MiB });
  runChecked(sim, mm, () =>
    sysMmap(
      mm,
      A0,
      size,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
    ),
  );
  const start = sim.now;
  expect(runChecked(sim, mm, () => sysMunmap(mm, A0, size))).toBe(0);
  const rec = mm.mmapSem.history.at(-1);
  if (rec === undefined) throw new Error("no acquisition recorded");
  const excl =
    (Number.isNaN(rec.downgradedAt) ? rec.releasedAt : rec.downgradedAt) - rec.acquiredAt;
  const shared = Number.isNaN(rec.downgradedAt) ? 0 : rec.releasedAt - rec.downgradedAt;
  return { excl, shared, latency: sim.now - start };
}

describe("cost arithmetic (e5-2680-v4.18, 64 MiB, every page mapped)", () => {
  const { flushes, tables } = pageTableWork();
  const unmapRegionNs =
    (PAGES / 512) * M.pmdStep +
    PAGES * (M.pteZap + M.pageFree) +
    flushes * M.tlbFlush +
    tables * M.pgtableFree;

  it("zapRlock: the exclusive hold is lookup + special check + detach; the zap is shared", () => {
    const { excl, shared, latency } = holds("zapRlock");
    expect(excl).toBe(M.lockOp + M.vmaLookup + M.vmaSpecialCheck + M.vmaDetach);
    expect(excl).toBe(8_000); // the patch's 8 us entry-to-unmap_region
    expect(shared).toBe(M.lockOp + unmapRegionNs + M.vmaFree);
    expect(latency).toBe(M.syscall + excl + shared + M.lockOp);
  });

  it("classic: everything is one exclusive hold", () => {
    const { excl, shared, latency } = holds("classic");
    expect(shared).toBe(0);
    expect(excl).toBe(M.lockOp + M.vmaLookup + M.vmaDetach + unmapRegionNs + M.vmaFree);
    expect(latency).toBe(M.syscall + excl + M.lockOp);
  });
});

/**
 * At 4 and 8 GiB the holds come out of the simulation (every page really mapped and zapped)
 * and must equal, to the nanosecond, sums written out here from the profile's published
 * constants and the kernel's structure; nothing below calls zapCostNs().
 *
 *   e5-2680-v4.18: lockOp 500, vmaLookup 2,000, vmaSpecialCheck 500, vmaDetach 5,000,
 *   vmaFree 1,000, pmdStep 400, pteZap 87, pageFree 125, tlbFlush 2,000, pgtableFree 300
 *
 * A mapping of N GiB at A0 (1 GiB aligned), alone in the mm, every page mapped:
 *   262,144 N PTEs and pages; 512 N zap_pmd_range() steps (one per PMD entry);
 *   512 N PTE tables + N PMD tables + the PUD table freed by free_pgtables (no neighbour);
 *   TLB flushes: one per full mmu_gather (8 local + 19 batches x 510 = 9,698 pages), one at
 *   the end of the VMA (tlb_end_vma()) and one in tlb_finish_mmu() for the page tables.
 */
describe("cost arithmetic at 4 and 8 GiB: simulated holds equal hand-written sums", () => {
  const cases = [
    // [GiB, pages, pmd steps, page-table pages, TLB flushes]
    [4, 1_048_576, 2_048, 2_048 + 4 + 1, 108 + 2], // 1,048,576 / 9,698 = 108.1
    [8, 2_097_152, 4_096, 4_096 + 8 + 1, 216 + 2], // 2,097,152 / 9,698 = 216.2
  ] as const;
  it("the constants are the published profile's", () => {
    expect([M.lockOp, M.vmaLookup, M.vmaSpecialCheck, M.vmaDetach, M.vmaFree]).toEqual([
      500, 2_000, 500, 5_000, 1_000,
    ]);
    expect([M.pmdStep, M.pteZap, M.pageFree, M.tlbFlush, M.pgtableFree]).toEqual([
      400, 87, 125, 2_000, 300,
    ]);
  });
  for (const [gib, pages, pmdSteps, tables, flushes] of cases) {
    const unmapRegion = pmdSteps * 400 + pages * (87 + 125) + tables * 300 + flushes * 2_000;
    it(`${gib} GiB: zapRlock holds 8,000 ns exclusively and unmap_region + remove_vma_list shared`, () => {
      const { excl, shared } = holdsAt(gib * 1024 * MiB, "zapRlock");
      expect(excl).toBe(500 + 2_000 + 500 + 5_000);
      expect(shared).toBe(500 + unmapRegion + 1_000);
    }, 60_000);
    it(`${gib} GiB: classic holds everything exclusively`, () => {
      const { excl, shared } = holdsAt(gib * 1024 * MiB, "classic");
      expect(shared).toBe(0);
      expect(excl).toBe(500 + 2_000 + 5_000 + unmapRegion + 1_000);
    }, 60_000);
  }
});
