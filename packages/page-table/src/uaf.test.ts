import { describe, expect, it } from "vitest";
import { PageTableUseAfterFree } from "./errors.js";
import { freePgtables, unmapPageRange } from "./memory.js";
import { MiB, RW, setup } from "./test-utils.js";
import { MmuGather } from "./tlb.js";

const BASE = 0x7f0000000000;

describe("use-after-free of page-table pages", () => {
  it("poisons a freed table: a stale ref throws naming level, address and free site", () => {
    const { phys, pt } = setup();
    // a fault walked down and took a reference to the PTE table, then yielded...
    expect(pt.pteAlloc(BASE + 0x5000)).toBe(0);
    const ref = pt.tableRef(BASE + 0x5000, "pte");
    const pmdRef = pt.tableRef(BASE + 0x5000, "pmd");
    pt.checkRef(ref);
    // ...while munmap freed the page tables of that range
    pt.setFreeContext("munmap:1003 free_pgtables");
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, BASE + 2 * MiB);
    unmapPageRange(tlb, BASE, BASE + 2 * MiB);
    freePgtables(tlb, [{ vmStart: BASE, vmEnd: BASE + 2 * MiB }], 0, 0);
    tlb.tlbFinishMmu(BASE, BASE + 2 * MiB);
    let err: unknown;
    try {
      pt.setPteAt(ref, BASE + 0x5000, phys.allocFrame("anon"), RW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PageTableUseAfterFree);
    const uaf = err as PageTableUseAfterFree;
    expect(uaf.level).toBe("pte");
    expect(uaf.address).toBe(BASE);
    expect(uaf.freedBy).toBe("munmap:1003 free_pgtables");
    expect(uaf.message).toMatch(
      /use-after-free of the PTE table for 0x7f0000000000 .*freed by "munmap:1003 free_pgtables"/,
    );
    expect(() => pt.checkRef(pmdRef)).toThrow(/PMD table/);
    expect(pt.followPage(BASE + 0x5000)).toBe(-1);
  });

  it("keeps detecting after the table slot is reused, and accepts a fresh ref", () => {
    const { pt } = setup();
    pt.pteAlloc(BASE);
    const old = pt.tableRef(BASE, "pte");
    pt.setFreeContext("exit_mmap");
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(0, -1);
    freePgtables(tlb, [{ vmStart: BASE, vmEnd: BASE + 4096 }], 0, 0);
    tlb.tlbFinishMmu(0, -1);
    pt.pteAlloc(BASE); // same pool slot, next generation
    const fresh = pt.tableRef(BASE, "pte");
    expect(fresh % 2 ** 26).toBe(old % 2 ** 26);
    expect(() => pt.checkRef(old)).toThrow(PageTableUseAfterFree);
    pt.checkRef(fresh);
    pt.setPteAt(fresh, BASE + 4096, pt.phys.allocFrame("anon"), RW);
    expect(pt.rss.anon).toBe(1);
    pt.validate();
  });

  it("reports the deposited table of a THP freed by zap_huge_pmd", () => {
    const { pt } = setup();
    expect(pt.tableRef(BASE, "pte")).toBe(-1);
    pt.mapHugePmd(BASE, RW);
    const pmd = pt.tableRef(BASE, "pmd");
    pt.setFreeContext("madvise_dontneed");
    const tlb = new MmuGather(pt);
    tlb.tlbGatherMmu(BASE, BASE + 2 * MiB);
    unmapPageRange(tlb, BASE, BASE + 2 * MiB);
    tlb.tlbFinishMmu(BASE, BASE + 2 * MiB);
    pt.checkRef(pmd); // the PMD table stays (no free_pgtables)
    expect(() => pt.checkRef(-5)).toThrow(TypeError);
    expect(() => pt.setPteAt(pmd, BASE, 1, RW)).toThrow(/does not name the PTE table/);
  });
});
