import { describe, expect, it } from "vitest";
import { minus1, pnHex16, spanAddrEnd, spanIndex, TOP_PN } from "./address.js";
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SPECIAL,
  _PAGE_TABLE,
  _PAGE_USER,
  MAX_GATHER_PAGES,
  MAX_TABLE_BATCH,
  P4D_SIZE,
  PGDIR_SIZE_5,
  PMD_SIZE,
  PTE_PFN_MASK,
  PUD_SIZE,
  TASK_SIZE_MAX_4,
  TASK_SIZE_MAX_5,
} from "./constants.js";
import { PageTable } from "./page-table.js";
import { PhysMem } from "./phys-mem.js";
import { GiB, MiB, RW, setup } from "./test-utils.js";

describe("constants (arch/x86/include/asm/pgtable_64_types.h, pgtable_types.h)", () => {
  it("has the kernel's sizes, bits and gather limits", () => {
    expect([PMD_SIZE, PUD_SIZE, P4D_SIZE, PGDIR_SIZE_5]).toEqual([
      2 * MiB,
      GiB,
      512 * GiB,
      2 ** 48,
    ]);
    expect(TASK_SIZE_MAX_4).toBe(0x7ffffffff000);
    expect(TASK_SIZE_MAX_5).toBe(0xfffffffffff000);
    expect(_PAGE_TABLE).toBe(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY);
    expect(_PAGE_NX).toBe(0x8000000000000000n);
    expect(_PAGE_PSE).toBe(0x80n);
    expect(_PAGE_SPECIAL).toBe(0x200n);
    expect(PTE_PFN_MASK).toBe(0x000ffffffffff000n);
    expect(MAX_GATHER_PAGES).toBe(9698);
    expect(MAX_TABLE_BATCH).toBe(509);
  });
});

describe("page-number arithmetic", () => {
  it("decomposes an address into the five indices as (a >> shift) & 511", () => {
    for (const a of [
      0x7f1234567000,
      0x7ffffffff000,
      0x1000,
      2 ** 53 + 2 ** 39 + 4096 * 77,
      2 ** 56 - 4096,
    ]) {
      const pn = a / 4096;
      const idx = (shift: bigint): number => Number((BigInt(a) >> shift) & 511n);
      expect(spanIndex(pn, 2 ** 36)).toBe(idx(48n)); // PGD with LA57
      expect(spanIndex(pn, 2 ** 27)).toBe(idx(39n)); // PGD (4-level) / P4D
      expect(spanIndex(pn, 2 ** 18)).toBe(idx(30n)); // PUD
      expect(spanIndex(pn, 512)).toBe(idx(21n)); // PMD
      expect(pn % 512).toBe(idx(12n)); // PTE
    }
    expect(spanIndex(0x7f1234567000 / 4096, 2 ** 27)).toBe(254);
  });

  it("treats end 0 as the top in pXd_addr_end and minus1", () => {
    expect(minus1(0)).toBe(TOP_PN - 1);
    expect(spanAddrEnd(0, 0, 512)).toBe(512);
    expect(spanAddrEnd(TOP_PN - 512, 0, 512)).toBe(0); // wraps to 0 = end
    expect(spanAddrEnd(100, 300, 512)).toBe(300);
    expect(spanAddrEnd(100, 700, 512)).toBe(512);
  });

  it("prints 64-bit addresses exactly, beyond 2^53", () => {
    expect(pnHex16((2 ** 56 - 4096) / 4096)).toBe("0x00fffffffffff000");
    expect(pnHex16(0)).toBe("0x0000000000000000");
  });
});

describe("entry bit layout", () => {
  it("stores a 4 KiB anonymous PTE as the kernel would", () => {
    const { phys, pt } = setup();
    expect(pt.mapAnonPage(0x7f0000001000, true)).toBe(0);
    const pfn = pt.followPage(0x7f0000001000);
    const v = pt.pteValue(0x7f0000001000);
    // P|RW|USER|ACCESSED|DIRTY = 0x67, NX, pfn in bits 12-51
    expect(v).toBe(_PAGE_NX | (BigInt(pfn) << 12n) | 0x67n);
    expect(phys.kindOf(pfn)).toBe("anon");
    expect(phys.mapcount(pfn)).toBe(1);
    expect(phys.refcount(pfn)).toBe(1);
    // a read-only fault-in leaves RW and DIRTY clear
    expect(pt.mapAnonPage(0x7f0000002000, false)).toBe(0);
    expect(pt.pteValue(0x7f0000002000) & 0xfffn).toBe(0x25n);
  });

  it("links tables with _PAGE_TABLE and the table's frame", () => {
    const { phys, pt } = setup();
    pt.mapAnonPage(0x7f0000001000, true);
    for (const level of ["pud", "pmd", "pte"] as const) {
      const link = pt.entryValue(
        0x7f0000001000,
        level === "pte" ? "pmd" : level === "pmd" ? "pud" : "p4d",
      );
      expect(link & 0xfffn).toBe(_PAGE_TABLE);
      expect(phys.kindOf(Number((link & PTE_PFN_MASK) >> 12n))).toBe("pagetable");
    }
    expect(pt.nrPuds).toBe(1);
    expect(pt.nrPmds).toBe(1);
    expect(pt.nrPtes).toBe(1);
    expect(pt.pgtablesBytes).toBe(3 * 4096);
  });

  it("maps the zero page special, without rss or mapcount", () => {
    const { phys, pt } = setup();
    expect(pt.mapZeroPage(0x1000)).toBe(0);
    expect(pt.followPage(0x1000)).toBe(phys.zeroPfn);
    expect(pt.pteValue(0x1000) & _PAGE_SPECIAL).toBe(_PAGE_SPECIAL);
    expect(pt.rss.anon).toBe(0);
    expect(phys.mapcount(phys.zeroPfn)).toBe(0);
    pt.validate();
  });

  it("prints like arch/x86/mm/dump_pagetables.c", () => {
    const { pt } = setup(64 * MiB);
    pt.populateRange(0x7f0000000000, 0x7f0000003000, RW);
    expect(pt.mapHugePmd(0x7f0000200000, RW)).toBe(0);
    expect(pt.ptdump(0x7f0000000000, 0x7f0000600000)).toBe(
      [
        "---[ User Space ]---",
        "0x00007f0000000000-0x00007f0000003000          12K USR RW                     NX pte",
        "0x00007f0000003000-0x00007f0000200000        2036K                               pte",
        "0x00007f0000200000-0x00007f0000400000           2M USR RW         PSE         NX pmd",
        "0x00007f0000400000-0x00007f0000600000           2M                               pmd",
        "",
      ].join("\n"),
    );
    // the whole user half of a 4-level mm: none PGD entries print at the pgd level
    const all = pt.ptdump();
    expect(all.split("\n")[1]).toBe(
      "0x0000000000000000-0x00007f0000000000         127T                               pgd",
    );
    expect(all.trimEnd().split("\n").pop()).toBe(
      "0x00007f8000000000-0x0000800000000000         512G                               pgd",
    );
  });
});

describe("5-level (LA57) addresses", () => {
  const high = [
    2 ** 47,
    2 ** 53 - 4096,
    2 ** 53,
    2 ** 53 + 4096 * 513,
    2 ** 55 + 2 ** 39 + 7 * 4096,
    2 ** 56 - 4096,
  ];

  it("maps, follows and zaps pages above 2^47, 2^53 and up to 2^56 - 4096, exactly", () => {
    const { phys, pt } = setup(64 * MiB, 5);
    for (const a of high) expect(pt.mapAnonPage(a, true)).toBe(0);
    for (const a of high) expect(pt.followPage(a)).toBeGreaterThan(0);
    for (const a of [2 ** 47 + 4096, 2 ** 53 - 8192, 2 ** 53 + 4096, 2 ** 56 - 8192])
      expect(pt.followPage(a)).toBe(-1);
    // page-aligned addresses up to 2^56 are exact doubles, so neighbours stay distinct
    expect(2 ** 53 + 4096 - 2 ** 53).toBe(4096);
    expect(pt.nrP4ds).toBe(5); // PGD slots (256 TiB each) 0, 31, 32, 128 and 255
    pt.validate();
    const dump = pt.ptdump(2 ** 53, 2 ** 53 + 8192);
    expect(dump).toContain(
      "0x0020000000000000-0x0020000000001000           4K USR RW                     NX pte",
    );
    expect(pt.mapAnonPage(2 ** 56 - 4096 + 0, true)).toBe(-17);
    expect(() => pt.mapAnonPage(2 ** 56 + 4096, true)).toThrow(RangeError);
    expect(phys.counts().anon).toBe(high.length);
  });

  it("rejects addresses above 2^47 with 4 levels and misaligned ones", () => {
    const { pt } = setup();
    expect(() => pt.mapAnonPage(2 ** 47 + 4096, true)).toThrow(/below 2\^47/);
    expect(() => pt.mapAnonPage(0x1001, true)).toThrow(RangeError);
    expect(pt.mapAnonPage(2 ** 47 - 4096, true)).toBe(0);
  });
});

describe("addresses no C caller could pass", () => {
  it("every address entry point throws: TypeError for a non-number, RangeError for NaN, fractions, ±Infinity, negatives", () => {
    const pt = new PageTable(new PhysMem({ bytes: 1 << 24 }));
    for (const bad of [
      Number.NaN,
      1.5,
      4096.5,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -4096,
    ]) {
      expect(() => pt.followPage(bad)).toThrow(RangeError);
      expect(() => pt.pteAlloc(bad)).toThrow(RangeError);
      expect(() => pt.mapAnonPage(bad, true)).toThrow(RangeError);
    }
    for (const bad of ["4096", undefined, 4096n]) {
      expect(() => pt.followPage(bad as unknown as number)).toThrow(TypeError);
      expect(() => pt.pteAlloc(bad as unknown as number)).toThrow(TypeError);
    }
    expect(pt.nrPtes).toBe(0);
  });
});
