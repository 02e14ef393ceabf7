/**
 * brk(2): growth with merging and accounting, shrink through do_munmap (v4.19) or
 * __do_munmap(..., downgrade) (v4.20+), and the refusals that return the old break.
 * Rulers show the heap in pages from start_brk = 0x555555559000.
 */
import { describe, expect, it } from "vitest";
import { sysBrk } from "./brk.js";
import { sysMmap } from "./mmap.js";
import { ELF_BRK_START, Process } from "./process.js";
import { sysMunmap } from "./sys-munmap.js";
import { allocMm, layout, runChecked } from "./test-utils.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./uapi.js";
import { validateMm } from "./validate.js";

const P = 4096;
const B = ELF_BRK_START;
const h = (a: number) => a.toString(16);

function heapMm(opts: Parameters<typeof allocMm>[0] = {}) {
  const r = allocMm(opts);
  r.mm.startBrk = B;
  r.mm.brk = B;
  return r;
}

describe("brk: the heap of an exec'd program", () => {
  it("a Process starts with start_brk = brk = 0x555555559000 and no heap VMA", () => {
    const { sim } = allocMm();
    const proc = new Process(sim, { comm: "p" });
    expect(proc.mm.startBrk).toBe(0x555555559000);
    expect(proc.mm.brk).toBe(0x555555559000);
    expect(proc.mm.tree.findVma(B)?.vmStart).toBe(0x7ffffffde000); // only the stack
  });

  it("grows by merging, shrinks, and accounts each step", () => {
    const { sim, mm } = heapMm();
    // brk(B + 10): one page          |#|
    expect(runChecked(sim, mm, () => sysBrk(mm, B + 10))).toBe(B + 10);
    expect(layout(mm)).toEqual([`${h(B)}-${h(B + P)}`]);
    // brk(B + 3P + 1): four pages     |####|  (merged into the same VMA)
    expect(runChecked(sim, mm, () => sysBrk(mm, B + 3 * P + 1))).toBe(B + 3 * P + 1);
    expect(layout(mm)).toEqual([`${h(B)}-${h(B + 4 * P)}`]);
    expect([mm.totalVm, mm.dataVm, mm.committedVm]).toEqual([4, 4, 4]);
    // brk within the same page: only mm->brk moves
    expect(runChecked(sim, mm, () => sysBrk(mm, B + 3 * P + 100))).toBe(B + 3 * P + 100);
    expect(mm.mapCount).toBe(1);
    // brk(B + P): shrink to one page  |#|
    expect(runChecked(sim, mm, () => sysBrk(mm, B + P))).toBe(B + P);
    expect(layout(mm)).toEqual([`${h(B)}-${h(B + P)}`]);
    expect([mm.totalVm, mm.dataVm, mm.committedVm]).toEqual([1, 1, 1]);
    // brk(B): no heap at all
    expect(runChecked(sim, mm, () => sysBrk(mm, B))).toBe(B);
    expect(layout(mm)).toEqual([]);
    expect(mm.brk).toBe(B);
  });

  it("refuses below start_brk, into a mapping (with one page of gap), and beyond RLIMIT_DATA", () => {
    const { sim, mm } = heapMm({ rlimits: { data: 16 * P } });
    expect(runChecked(sim, mm, () => sysBrk(mm, B - P))).toBe(B);
    // a mapping 8 pages above the break:   |........|MMMM|
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    runChecked(sim, mm, () => sysMmap(mm, B + 8 * P, P, PROT_READ, flags));
    expect(runChecked(sim, mm, () => sysBrk(mm, B + 8 * P))).toBe(B); // newbrk + PAGE > start
    expect(runChecked(sim, mm, () => sysBrk(mm, B + 7 * P))).toBe(B + 7 * P);
    expect(runChecked(sim, mm, () => sysBrk(mm, B))).toBe(B);
    runChecked(sim, mm, () => sysMunmap(mm, B + 8 * P, P));
    expect(runChecked(sim, mm, () => sysBrk(mm, B + 17 * P))).toBe(B); // RLIMIT_DATA 16 pages
    expect(runChecked(sim, mm, () => sysBrk(mm, B + 16 * P))).toBe(B + 16 * P);
    // -1 is an unsigned long a C caller can pass (ULONG_MAX): refused, the break unchanged.
    expect(runChecked(sim, mm, () => sysBrk(mm, -1))).toBe(B + 16 * P);
    // NaN is not: a programming error, before mmap_sem is taken.
    expect(() => runChecked(sim, mm, () => sysBrk(mm, Number.NaN))).toThrow(RangeError);
    expect(mm.mmapSem.history.at(-1)?.comm).toBe("test");
  });

  for (const [strategy, downgrades] of [
    ["classic", false],
    ["zapRlock", false],
    ["v4.20", true],
    ["v5.8", true],
  ] as const) {
    it(`${strategy}: the shrink ${downgrades ? "downgrades" : "keeps the write lock"}`, () => {
      const { sim, mm } = heapMm({ munmap: strategy });
      runChecked(sim, mm, () => sysBrk(mm, B + 64 * P));
      runChecked(sim, mm, () => sysBrk(mm, B + 2 * P));
      const shrink = mm.mmapSem.history.at(-1);
      expect(shrink?.mode).toBe("write");
      expect(Number.isNaN(shrink?.downgradedAt)).toBe(!downgrades);
      expect(layout(mm)).toEqual([`${h(B)}-${h(B + 2 * P)}`]);
    });
  }

  it("v4.20: mm->brk is restored when the shrink's unmap fails (hole punch at max_map_count)", () => {
    // A private anonymous mapping placed right at the break merges with the heap:
    //   |heap heap|mmap mmap|   one VMA, brk in the middle
    const { sim, mm } = heapMm({ munmap: "v4.20" });
    runChecked(sim, mm, () => sysBrk(mm, B + 4 * P));
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    runChecked(sim, mm, () => sysMmap(mm, B + 4 * P, 4 * P, PROT_READ | PROT_WRITE, flags));
    expect(layout(mm)).toEqual([`${h(B)}-${h(B + 8 * P)}`]);
    mm.maxMapCount = mm.mapCount;
    // Shrinking to B + P punches [B + P, B + 4P) out of the middle: -ENOMEM, brk unchanged.
    expect(runChecked(sim, mm, () => sysBrk(mm, B + P))).toBe(B + 4 * P);
    expect(mm.brk).toBe(B + 4 * P);
    expect(mm.mmapSem.history.at(-1)?.downgradedAt).toBeNaN();
    validateMm(mm, { ownsPhys: true });
  });
});
