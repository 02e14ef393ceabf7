/**
 * The cost arithmetic: at small sizes the mmap_sem hold times that come out of the
 * simulation equal the profile's per-operation costs times what the kernel code did.
 * (The full-size table, 80 / 160 / 320 GB, is reproduced by apps/bench.)
 */
import { freePgtables, MmuGather, PageTable, PhysMem, unmapPageRange } from "@mmlab/page-table";
import { describe, expect, it } from "vitest";
import { E5_2680_V4_18, perPageUnmapNs, zapCostNs } from "./cost-model.js";
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
  const { sim, mm } = allocMm({ munmap: strategy, cost: M });
  runChecked(sim, mm, () =>
    sysMmap(
      mm,
      A0,
      SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
    ),
  );
  const start = sim.now;
  expect(runChecked(sim, mm, () => sysMunmap(mm, A0, SIZE))).toBe(0);
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

  it("the profile reproduces the published 320 GB pristine munmap (17,915,310 us) within 0.1%", () => {
    const pages320 = (320 * 1024 * MiB) / PAGE_SIZE;
    expect(zapCostNs(M, pages320) / 17_915_310_000).toBeCloseTo(1, 3);
    expect(perPageUnmapNs(M)).toBeCloseTo(213.57, 2);
  });
});
