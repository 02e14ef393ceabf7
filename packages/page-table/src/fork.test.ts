import { describe, expect, it } from "vitest";
import { copyPteRange, pgdFree, wpPageCopyInstall } from "./fork.js";
import { PageTable } from "./page-table.js";
import { MiB, RW, setup, unmapRegion } from "./test-utils.js";

const A = 0x600000000; // 2 MiB aligned: page 0 of the rulers below
const P = 4096;
const rw = (pt: PageTable, i: number): boolean => (pt.pteValue(A + i * P) & 2n) !== 0n;

describe("copyPteRange (copy_pte_range + copy_one_pte, one PMD extent)", () => {
  it("COW: write-protects both sides, raises mapcount and refcount, counts the child's rss and tables", () => {
    const { phys, pt } = setup(16 * MiB);
    // 01234567
    // AAAA.Z..   A anonymous rw, Z the zero page (read fault)
    expect(pt.populateRange(A, A + 4 * P, RW)).toBe(0);
    expect(pt.mapZeroPage(A + 5 * P)).toBe(0);
    const child = new PageTable(phys);
    expect(copyPteRange(child, pt, A, A + 8 * P, true, false)).toBe(5);
    for (let i = 0; i < 4; i++) {
      const pfn = pt.followPage(A + i * P);
      expect(child.followPage(A + i * P)).toBe(pfn);
      expect([rw(pt, i), rw(child, i)]).toEqual([false, false]);
      expect([phys.mapcount(pfn), phys.refcount(pfn)]).toEqual([2, 2]);
    }
    expect(child.followPage(A + 5 * P)).toBe(phys.zeroPfn);
    expect(child.rss.anon).toBe(4);
    expect([child.nrPtes, child.nrPmds, child.nrPuds]).toEqual([1, 1, 1]);
    // the child's entries are old (pte_mkold), the parent's keep ACCESSED
    expect(child.pteValue(A) & 0x20n).toBe(0n);
    expect(pt.pteValue(A) & 0x20n).toBe(0x20n);
    pt.validate();
    child.validate();
  });

  it("shared (VM_SHARED): entries stay writable, the child's copy is clean", () => {
    const { phys, pt } = setup(16 * MiB);
    expect(pt.populateRange(A, A + 2 * P, RW)).toBe(0);
    const child = new PageTable(phys);
    expect(copyPteRange(child, pt, A, A + 2 * P, false, true)).toBe(2);
    expect([rw(pt, 0), rw(child, 0)]).toEqual([true, true]);
    expect(child.pteValue(A) & 0x40n).toBe(0n); // pte_mkclean
    expect(pt.pteValue(A) & 0x40n).toBe(0x40n);
  });

  it("allocates the child's PTE table for an empty parent table, nothing where the parent has none", () => {
    const { phys, pt } = setup(16 * MiB);
    expect(pt.pteAlloc(A)).toBe(0); // an empty PTE table
    const child = new PageTable(phys);
    expect(copyPteRange(child, pt, A, A + P, true, false)).toBe(0);
    expect(child.nrPtes).toBe(1);
    const none = new PageTable(phys);
    expect(copyPteRange(none, pt, A + 2 * MiB, A + 2 * MiB + P, true, false)).toBe(0);
    expect([none.nrPtes, none.nrPmds, none.nrPuds]).toEqual([0, 1, 1]);
  });

  it("refuses a range crossing a PMD boundary, another PhysMem, and huge leaves", () => {
    const { phys, pt } = setup(16 * MiB);
    const child = new PageTable(phys);
    expect(() => copyPteRange(child, pt, A, A + 2 * MiB + P, true, false)).toThrow(/crosses a PMD/);
    const other = setup(16 * MiB).pt;
    expect(() => copyPteRange(other, pt, A, A + P, true, false)).toThrow(/share one PhysMem/);
    expect(pt.mapHugePmd(A + 2 * MiB, RW)).toBe(0);
    expect(() => copyPteRange(child, pt, A + 2 * MiB, A + 2 * MiB + P, true, false)).toThrow(
      /copy_huge_pmd is not modelled/,
    );
  });

  it("unmapping either side leaves the other's pages and accounting intact", () => {
    const { phys, pt } = setup(16 * MiB);
    expect(pt.populateRange(A, A + 4 * P, RW)).toBe(0);
    const child = new PageTable(phys);
    copyPteRange(child, pt, A, A + 4 * P, true, false);
    const anon = phys.counts().anon;
    unmapRegion(pt, [{ vmStart: A, vmEnd: A + 4 * P }], 0, 0);
    expect(phys.counts().anon).toBe(anon);
    expect(phys.mapcount(child.followPage(A))).toBe(1);
    unmapRegion(child, [{ vmStart: A, vmEnd: A + 4 * P }], 0, 0);
    expect(phys.counts().anon).toBe(0);
    pgdFree(child);
    pgdFree(pt);
    expect(() => pgdFree(pt)).toThrow(/already freed/);
    expect(phys.counts().pagetable).toBe(0);
    phys.validate();
  });

  it("40 children: counts cross the struct page word's 5-bit fields into the overflow maps and back", () => {
    const { phys, pt } = setup(16 * MiB);
    expect(pt.populateRange(A, A + 2 * P, RW)).toBe(0);
    const pfn = pt.followPage(A);
    const children: PageTable[] = [];
    for (let i = 1; i <= 40; i++) {
      const child = new PageTable(phys);
      copyPteRange(child, pt, A, A + 2 * P, true, false);
      children.push(child);
      expect([phys.mapcount(pfn), phys.refcount(pfn)]).toEqual([i + 1, i + 1]);
    }
    // zap the children in turn: the zap's page_remove_rmap and release_pages go back down
    for (const [i, child] of children.entries()) {
      unmapRegion(child, [{ vmStart: A, vmEnd: A + 2 * P }], 0, 0);
      pgdFree(child);
      expect([phys.mapcount(pfn), phys.refcount(pfn)]).toEqual([40 - i, 40 - i]);
    }
    phys.validate();
    unmapRegion(pt, [{ vmStart: A, vmEnd: A + 2 * P }], 0, 0);
    expect(phys.kindOf(pfn)).toBe("free");
    expect(phys.counts().anon).toBe(0);
    phys.validate();
  });
});

describe("wpPageCopyInstall (wp_page_copy under the PTE lock)", () => {
  it("replaces a shared page by the copy, or refuses when the PTE changed (pte_same)", () => {
    const { phys, pt } = setup(16 * MiB);
    expect(pt.populateRange(A, A + P, RW)).toBe(0);
    const child = new PageTable(phys);
    copyPteRange(child, pt, A, A + P, true, false);
    const old = pt.followPage(A);
    const orig = pt.pteValue(A);
    const copy = phys.allocFrame("anon");
    // a stale `orig` (the entry became writable meanwhile): nothing changes
    expect(wpPageCopyInstall(pt, A, orig | 2n, old, copy)).toBe(false);
    expect(pt.followPage(A)).toBe(old);
    expect(wpPageCopyInstall(pt, A, orig, old, copy)).toBe(true);
    expect(pt.followPage(A)).toBe(copy);
    expect(rw(pt, 0)).toBe(true);
    expect([phys.mapcount(old), phys.refcount(old), phys.mapcount(copy)]).toEqual([1, 1, 1]);
    expect(pt.rss.anon).toBe(1);
    pt.validate();
    child.validate();
  });
});
