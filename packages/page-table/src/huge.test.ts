import { describe, expect, it } from "vitest";
import { _PAGE_PSE, HPAGE_PMD_NR, HPAGE_PUD_NR } from "./constants.js";
import { EEXIST } from "./errno.js";
import { ZapCursor } from "./memory.js";
import { checkFrames, GiB, MiB, RW, setup, unmapRegion } from "./test-utils.js";
import { MmuGather } from "./tlb.js";

const BASE = 0x7f0000000000;

describe("2 MiB PMD leaves (mm/huge_memory.c v4.19)", () => {
  it("maps a THP with a deposited PTE table and zaps it whole on full coverage", () => {
    const { phys, pt } = setup();
    expect(pt.mapHugePmd(BASE, RW)).toBe(0);
    const head = pt.followPage(BASE);
    expect(head % 512).toBe(0);
    expect(pt.followPage(BASE + 5 * 4096)).toBe(head + 5);
    expect(pt.pteValue(BASE + 4096) & _PAGE_PSE).toBe(_PAGE_PSE);
    expect(pt.nrPtes).toBe(1); // the deposited table
    expect(pt.rss.anon).toBe(HPAGE_PMD_NR);
    expect(phys.mapcount(head + 7)).toBe(1); // compound mapcount
    expect(phys.refcount(head + 7)).toBe(1); // the head's
    expect(pt.mapHugePmd(BASE, RW)).toBe(-EEXIST);
    expect(pt.mapAnonPage(BASE + 4096, true)).toBe(-EEXIST);
    checkFrames(phys, [pt]);

    const tlb = unmapRegion(pt, [{ vmStart: BASE, vmEnd: BASE + 2 * MiB }], 0, 0);
    expect(tlb.stats.hugePmdsZapped).toBe(1);
    expect(tlb.stats.hugePmdsSplit).toBe(0);
    expect(tlb.stats.pagesFreed).toBe(512);
    expect(tlb.stats.pagetablePagesFreed).toBe(3); // deposit, PMD table, PUD table
    expect(pt.rss.anon).toBe(0);
    checkFrames(phys, [pt]);
  });

  it("splits a THP into 512 PTEs on a partial zap and keeps the rest mapped", () => {
    const { phys, pt } = setup();
    pt.mapHugePmd(BASE, RW);
    const head = pt.followPage(BASE);
    // unmap the middle 1 MiB: [BASE + 512K, BASE + 1.5M)
    const s = BASE + 512 * 1024;
    const e = BASE + 1536 * 1024;
    const tlb = unmapRegion(pt, [{ vmStart: s, vmEnd: e }], s, e);
    expect(tlb.stats.hugePmdsSplit).toBe(1);
    expect(tlb.stats.ptesCleared).toBe(256);
    expect(tlb.stats.pagesFreed).toBe(0); // the compound page lives while any subpage is mapped
    expect(pt.followPage(BASE)).toBe(head);
    expect(pt.followPage(s)).toBe(-1);
    expect(pt.followPage(e)).toBe(head + 384);
    expect(pt.pteValue(BASE) & _PAGE_PSE).toBe(0n); // now a 4 KiB PTE
    expect(pt.rss.anon).toBe(256);
    expect(phys.refcount(head)).toBe(256); // 512 after the split, minus 256 released
    expect(phys.mapcount(head + 128)).toBe(0);
    expect(phys.mapcount(head + 400)).toBe(1);
    expect(pt.nrPtes).toBe(1); // the deposited table became the PTE table
    // the unmapped half stays allocated inside the compound page (deferred split is not
    // modelled): 512 anonymous frames, 256 of them mapped
    expect(phys.counts().anon).toBe(512);
    pt.validate();
    phys.validate();
    // the rest goes, and with it the whole compound page
    const tlb2 = unmapRegion(pt, [{ vmStart: BASE, vmEnd: BASE + 2 * MiB }], 0, 0);
    expect(tlb2.stats.pagesFreed).toBe(512);
    expect(phys.counts().anon).toBe(0);
    checkFrames(phys, [pt]);
  });

  it("returns -ENOMEM when no aligned 2 MiB block is free, leaving nothing behind", () => {
    const { phys, pt } = setup(4 * MiB); // 1024 frames
    expect(pt.populateRange(0x10000, 0x10000 + 700 * 4096, RW)).toBe(0);
    const before = phys.counts();
    expect(pt.mapHugePmd(BASE, RW)).toBe(-12);
    expect(phys.counts().free).toBe(before.free - 2); // only the PUD and PMD tables of the walk
    checkFrames(phys, [pt]);
  });
});

describe("1 GiB PUD leaves", () => {
  it("zaps a 1 GiB leaf whole on full coverage", () => {
    const { phys, pt } = setup(2 * GiB);
    expect(pt.mapHugePud(GiB, RW)).toBe(0);
    expect(pt.followPage(GiB + 3 * MiB + 4096)).toBe(pt.followPage(GiB) + 769);
    expect(pt.rss.anon).toBe(HPAGE_PUD_NR);
    expect(pt.nrPmds).toBe(0);
    checkFrames(phys, [pt]);
    const tlb = unmapRegion(pt, [{ vmStart: GiB, vmEnd: 2 * GiB }], 0, 0);
    expect(tlb.stats.hugePudsZapped).toBe(1);
    expect(tlb.stats.pagesFreed).toBe(HPAGE_PUD_NR);
    checkFrames(phys, [pt]);
  });

  it("on partial coverage clears the whole leaf, as v4.19's __split_huge_pud does", () => {
    const { phys, pt } = setup(2 * GiB);
    pt.mapHugePud(GiB, RW);
    const tlb = unmapRegion(
      pt,
      [{ vmStart: GiB + 2 * MiB, vmEnd: GiB + 4 * MiB }],
      GiB + 2 * MiB,
      GiB + 4 * MiB,
    );
    expect(tlb.stats.hugePudsSplit).toBe(1);
    expect(pt.followPage(GiB)).toBe(-1);
    expect(pt.rss.anon).toBe(0);
    expect(phys.counts().anon).toBe(0);
    checkFrames(phys, [pt]);
  });
});

describe("ZapCursor over a partly covered huge PUD", () => {
  it("reports the split with the next PMD step: zap_pud_range has no cond_resched() after split_huge_pud", () => {
    const { pt } = setup(4 * GiB);
    const base = 0x7f0000000000; // 512 GiB aligned, so 1 GiB aligned
    expect(pt.mapHugePud(base, RW)).toBe(0);
    expect(pt.populateRange(base + GiB, base + GiB + 2 * MiB, RW)).toBe(0);
    const tlb = new MmuGather(pt);
    // [base + 1 GiB - 2 MiB, base + 1 GiB + 2 MiB): the tail of the leaf and one PMD of PTEs
    const start = base + GiB - 2 * MiB;
    const end = base + GiB + 2 * MiB;
    tlb.tlbGatherMmu(start, end);
    const cursor = new ZapCursor(tlb, start, end);
    const steps: number[] = [];
    for (let n = cursor.step(); n >= 0; n = cursor.step()) steps.push(n);
    // one step: the split leaf (1) and the 512 PTEs of the next GiB together
    expect(steps).toEqual([1 + 512]);
    tlb.tlbFinishMmu(start, end);
    expect(pt.followPage(base)).toBe(-1);
  });
});

describe("mmu_gather overflow", () => {
  it("__tlbRemovePage past a full gather throws instead of losing the page", () => {
    const { phys, pt } = setup(64 * MiB);
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(0x1000, 0x2000);
    let full = false;
    let n = 0;
    while (!full) {
      full = tlb.__tlbRemovePage(phys.allocFrame("anon"));
      n++;
    }
    expect(n).toBe(9698);
    expect(() => tlb.__tlbRemovePage(phys.allocFrame("anon"))).toThrow(/full mmu_gather/);
  });
});
