import { describe, expect, it } from "vitest";
import { checkFrames, MiB, RW, setup, unmapRegion } from "./test-utils.js";

const BASE = 0x7f0000000000;
const P = 4096;

describe("change_protection", () => {
  it("rewrites RW and NX of every mapped entry in the range, and nothing outside it", () => {
    const { phys, pt } = setup();
    expect(pt.populateRange(BASE, BASE + 8 * P, RW)).toBe(0);
    // 01234567
    //   ****     read-only + exec
    expect(pt.changeProtection(BASE + 2 * P, BASE + 6 * P, { write: false, exec: true })).toBe(4);
    expect(pt.pteValue(BASE + P) & 0x8000000000000002n).toBe(0x8000000000000002n); // RW, NX
    expect(pt.pteValue(BASE + 2 * P) & 0x8000000000000003n).toBe(0x1n); // present, not RW, not NX
    expect(pt.pteValue(BASE + 6 * P) & 0x2n).toBe(0x2n);
    pt.validate();
    checkFrames(phys, [pt]);
  });

  it("PROT_NONE entries keep their page (pte_present) but lose _PAGE_PRESENT, and zap like any other", () => {
    const { phys, pt } = setup();
    pt.populateRange(BASE, BASE + 4 * P, RW);
    expect(pt.changeProtection(BASE, BASE + 4 * P, { write: false, exec: false, none: true })).toBe(
      4,
    );
    const v = pt.pteValue(BASE);
    expect(v & 0x1n).toBe(0n); // not present for the MMU
    expect(v & 0x100n).toBe(0x100n); // _PAGE_PROTNONE
    expect(pt.followPage(BASE)).toBeGreaterThanOrEqual(0);
    pt.validate();
    // Back to read-write: present again.
    pt.changeProtection(BASE, BASE + 4 * P, { write: true, exec: false });
    expect(pt.pteValue(BASE) & 0x103n).toBe(0x3n);
    pt.changeProtection(BASE, BASE + 4 * P, { write: false, exec: false, none: true });
    unmapRegion(pt, [{ vmStart: BASE, vmEnd: BASE + 4 * P }], 0, 0);
    expect(pt.rss.anon).toBe(0);
    checkFrames(phys, [pt]);
  });

  it("rewrites a huge PMD leaf as one entry", () => {
    const { phys, pt } = setup(16 * MiB);
    expect(pt.mapHugePmd(BASE, RW)).toBe(0);
    expect(pt.changeProtection(BASE, BASE + 2 * MiB, { write: false, exec: false })).toBe(1);
    expect(pt.pteValue(BASE) & 0x82n).toBe(0x80n); // PSE, not RW
    pt.validate();
    checkFrames(phys, [pt]);
  });
});

describe("do_wp_page", () => {
  it("reuses an anonymous page mapped only here: writable and dirty in place", () => {
    const { phys, pt } = setup();
    pt.populateRange(BASE, BASE + P, RW);
    pt.changeProtection(BASE, BASE + P, { write: false, exec: false });
    const pfn = pt.followPage(BASE);
    expect(pt.doWpPage(BASE)).toBe(0);
    expect(pt.followPage(BASE)).toBe(pfn);
    expect(pt.pteValue(BASE) & 0x42n).toBe(0x42n);
    expect(pt.rss.anon).toBe(1);
    checkFrames(phys, [pt]);
  });

  it("copies the zero page into a new anonymous page, which then counts in MM_ANONPAGES", () => {
    const { phys, pt } = setup();
    expect(pt.mapZeroPage(BASE)).toBe(0);
    expect(pt.rss.anon).toBe(0);
    expect(pt.doWpPage(BASE)).toBe(0);
    expect(pt.followPage(BASE)).not.toBe(phys.zeroPfn);
    expect(pt.pteValue(BASE) & 0x242n).toBe(0x42n); // RW + dirty, no longer _PAGE_SPECIAL
    expect(pt.rss.anon).toBe(1);
    pt.validate();
    checkFrames(phys, [pt]);
  });

  it("fails with -EFAULT where nothing is mapped", () => {
    const { pt } = setup();
    expect(pt.doWpPage(BASE)).toBe(-14);
  });
});

describe("shmem pages", () => {
  it("count in MM_SHMEMPAGES while mapped and go back to the allocator when zapped", () => {
    const { phys, pt } = setup();
    expect(pt.pteAlloc(BASE)).toBe(0);
    const pfn = phys.allocFrame("shmem");
    pt.setPte(BASE, pfn, RW);
    expect(pt.rss.shmem).toBe(1);
    expect(phys.counts().shmem).toBe(1);
    pt.validate();
    unmapRegion(pt, [{ vmStart: BASE, vmEnd: BASE + P }], 0, 0);
    expect(pt.rss.shmem).toBe(0);
    expect(phys.counts().shmem).toBe(0);
    checkFrames(phys, [pt]);
  });
});
