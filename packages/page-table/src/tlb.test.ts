import { describe, expect, it } from "vitest";
import { MAX_GATHER_PAGES } from "./constants.js";
import { freePgtables, unmapPageRange, ZapCursor } from "./memory.js";
import { checkFrames, MiB, RW, setup } from "./test-utils.js";
import { MmuGather } from "./tlb.js";

const BASE = 0x7f0000000000;

describe("MmuGather batching (include/asm-generic/tlb.h v4.19)", () => {
  it("zapping 10,000 pages forces exactly one flush before tlb_finish_mmu", () => {
    const { phys, pt } = setup();
    const end = BASE + 10000 * 4096;
    expect(pt.populateRange(BASE, end, RW)).toBe(0);
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, end);
    expect(unmapPageRange(tlb, BASE, end)).toBe(10000);
    // 8 (bundle) + 19 * 510 = 9,698 pages queued, then "full": one forced flush
    expect(tlb.stats.forcedFlushes).toBe(1);
    expect(tlb.stats.batchesAllocated).toBe(19);
    expect(tlb.stats.pagesFreed).toBe(MAX_GATHER_PAGES);
    expect(tlb.stats.ptesCleared).toBe(10000);
    // forced flush + tlb_end_vma()
    expect(tlb.stats.tlbFlushes).toBe(2);
    tlb.tlbFinishMmu(BASE, end);
    expect(tlb.stats.pagesFreed).toBe(10000);
    expect(tlb.stats.tlbFlushes).toBe(2); // nothing left to flush at finish
    expect(tlb.stats.pagesGathered).toBe(10000);
    checkFrames(phys, [pt]);
  });

  it("queues 9,697 pages without a flush and reuses its batches after one", () => {
    const { pt } = setup(256 * MiB);
    pt.populateRange(BASE, BASE + 9697 * 4096, RW);
    let tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, BASE + 9697 * 4096);
    unmapPageRange(tlb, BASE, BASE + 9697 * 4096);
    expect(tlb.stats.forcedFlushes).toBe(0);
    expect(tlb.stats.pagesFreed).toBe(0);
    tlb.tlbFinishMmu(BASE, BASE + 9697 * 4096);
    expect(tlb.stats.pagesFreed).toBe(9697);

    expect(pt.populateRange(BASE, BASE + 3 * 9698 * 4096, RW)).toBe(0);
    tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, BASE + 3 * 9698 * 4096);
    unmapPageRange(tlb, BASE, BASE + 3 * 9698 * 4096);
    expect(tlb.stats.forcedFlushes).toBe(3);
    expect(tlb.stats.batchesAllocated).toBe(19); // allocated once, reused after each flush
    tlb.tlbFinishMmu(BASE, BASE + 3 * 9698 * 4096);
  });

  it("flushes at tlb_end_vma only when something was unmapped, and not for fullmm", () => {
    const { pt } = setup();
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, BASE + MiB);
    unmapPageRange(tlb, BASE, BASE + MiB); // nothing mapped
    tlb.tlbFinishMmu(BASE, BASE + MiB);
    expect(tlb.stats.tlbFlushes).toBe(0);

    pt.populateRange(BASE, BASE + 4 * 4096, RW);
    const exit = new MmuGather(pt);
    exit.tlbGatherMmu(0, -1);
    expect(exit.fullmm).toBe(true);
    unmapPageRange(exit, BASE, BASE + MiB);
    expect(exit.stats.tlbFlushes).toBe(0);
    freePgtables(exit, [{ vmStart: BASE, vmEnd: BASE + MiB }], 0, 0);
    exit.tlbFinishMmu(0, -1);
    expect(exit.stats.tlbFlushes).toBe(1);
    expect(pt.tablePages).toBe(1);
  });

  it("forces a flush of the whole range when gathers nest on one mm (mm_tlb_flush_nested)", () => {
    const { pt } = setup();
    const a = new MmuGather(pt);
    const b = new MmuGather(pt);
    a.tlbGatherMmu(BASE, BASE + MiB);
    b.tlbGatherMmu(BASE + MiB, BASE + 2 * MiB);
    b.tlbFinishMmu(BASE + MiB, BASE + 2 * MiB); // nothing zapped, but nested: flush anyway
    expect(b.stats.tlbFlushes).toBe(1);
    a.tlbFinishMmu(BASE, BASE + MiB); // alone now: nothing to flush
    expect(a.stats.tlbFlushes).toBe(0);
    expect(pt.tlbFlushPending).toBe(0);
  });

  it("frees page-table pages in batches of 509 and counts them at finish", () => {
    const { phys, pt } = setup(256 * MiB);
    // 600 PTE tables, one page each, 2 MiB apart
    for (let i = 0; i < 600; i++) pt.mapAnonPage(BASE + i * 2 * MiB, true);
    const end = BASE + 600 * 2 * MiB;
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, end);
    unmapPageRange(tlb, BASE, end);
    freePgtables(tlb, [{ vmStart: BASE, vmEnd: end }], 0, 0);
    expect(tlb.stats.tablesQueued).toBe(600 + 2 + 1);
    expect(tlb.stats.pagetablePagesFreed).toBe(509); // one table batch went to RCU
    tlb.tlbFinishMmu(BASE, end);
    expect(tlb.stats.pagetablePagesFreed).toBe(603);
    checkFrames(phys, [pt]);
  });

  it("refuses to work outside gather/finish", () => {
    const { pt } = setup();
    const tlb = new MmuGather(pt);
    expect(() => unmapPageRange(tlb, BASE, BASE + 4096)).toThrow(/outside tlbGatherMmu/);
    expect(() => tlb.tlbFinishMmu(BASE, BASE + 4096)).toThrow(/outside/);
  });
});

describe("ZapCursor: one step per cond_resched() of zap_pmd_range", () => {
  it("steps once per PMD entry, skipping empty PUDs without a step, and matches unmapPageRange", () => {
    const run = (useCursor: boolean) => {
      const { phys, pt } = setup(64 * MiB);
      pt.populateRange(BASE + 0x1000, BASE + 0x201000, RW); // 511 + 1 pages over 2 PMD entries
      pt.populateRange(BASE + 0x600000, BASE + 0x600000 + 3 * 4096, RW); // 3 pages in a third
      pt.populateRange(BASE + 2 ** 31, BASE + 2 ** 31 + 4096, RW); // 2 GiB up: another PUD entry
      const start = BASE;
      const end = BASE + 2 ** 31 + 2 * MiB;
      const tlb = new MmuGather(pt);
      tlb.tlbGatherMmu(start, end);
      const steps: number[] = [];
      const addrs: number[] = [];
      if (useCursor) {
        const cur = new ZapCursor(tlb, start, end);
        for (let n = cur.step(); n >= 0; n = cur.step()) {
          steps.push(n);
          addrs.push(cur.addr);
        }
        expect(cur.step()).toBe(-1);
      } else steps.push(unmapPageRange(tlb, start, end));
      tlb.tlbFinishMmu(start, end);
      pt.validate();
      return { steps, addrs, stats: tlb.stats, free: phys.freeFrames };
    };
    const c = run(true);
    const u = run(false);
    // PUD entry 0 (1 GiB): 512 PMD entries, one step each; PUD entry 1 is none (no step);
    // PUD entry 2: one PMD entry (the range ends 2 MiB into it)
    expect(c.steps.length).toBe(512 + 1);
    expect(c.steps.slice(0, 4)).toEqual([511, 1, 0, 3]);
    expect(c.steps[512]).toBe(1);
    expect(c.addrs[0]).toBe(BASE + 2 * MiB);
    expect(c.addrs[511]).toBe(BASE + 2 ** 30);
    expect(c.steps.reduce((a, b) => a + b, 0)).toBe(u.steps[0]);
    expect(c.stats).toEqual(u.stats);
    expect(c.free).toBe(u.free);
  });

  it("never touches a table freed between two steps", () => {
    const { pt } = setup();
    pt.populateRange(BASE, BASE + 4 * MiB, RW);
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, BASE + 4 * MiB);
    const cur = new ZapCursor(tlb, BASE, BASE + 4 * MiB);
    expect(cur.step()).toBe(512);
    // meanwhile: the first table is freed (as a racing free_pgtables would)
    freePgtables(tlb, [{ vmStart: BASE, vmEnd: BASE + 2 * MiB }], 0, BASE + 2 * MiB);
    expect(cur.step()).toBe(512);
    expect(cur.step()).toBe(-1);
    tlb.tlbFinishMmu(BASE, BASE + 4 * MiB);
    pt.validate();
  });
});
