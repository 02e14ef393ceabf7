import { describe, expect, it } from "vitest";
import { PageTable } from "./page-table.js";
import { PhysMem } from "./phys-mem.js";
import { SlabCache } from "./slab-cache.js";
import { checkFrames, GiB, MiB, RW, unmapRegion } from "./test-utils.js";

const BASE = 0x7f0000000000;

/** Everything a run leaves behind that a user can see: entries, counters, frames. */
function snapshot(pt: PageTable, phys: PhysMem) {
  return {
    ptdump: pt.ptdump(),
    nrPtes: pt.nrPtes,
    nrPmds: pt.nrPmds,
    rss: { ...pt.rss },
    counts: phys.counts(),
    pte: pt.pteValue(BASE + 5 * 4096),
    next: phys.allocFrame("anon"),
  };
}

/** Populates 6 MiB, zaps the middle 2 MiB and maps a few single pages. */
function work(pt: PageTable): void {
  expect(pt.populateRange(BASE, BASE + 6 * MiB, RW)).toBe(0);
  unmapRegion(pt, [{ vmStart: BASE + 2 * MiB, vmEnd: BASE + 4 * MiB }], BASE, BASE + 6 * MiB);
  for (let i = 0; i < 3; i++) {
    pt.pteAlloc(BASE + GiB + i * 4096);
    pt.mapAnonPage(BASE + GiB + i * 4096, true);
  }
}

describe("SlabCache, PageTable.dispose() and PhysMem.reset()", () => {
  it("a page table built on recycled slabs and a reset PhysMem behaves as a fresh one", () => {
    const fresh = new PhysMem({ bytes: 64 * MiB });
    const ptFresh = new PageTable(fresh);
    work(ptFresh);
    checkFrames(fresh, [ptFresh]);
    const expected = snapshot(ptFresh, fresh);

    const phys = new PhysMem({ bytes: 64 * MiB });
    const cache = new SlabCache();
    for (let run = 0; run < 3; run++) {
      const pt = new PageTable(phys, { slabCache: cache });
      work(pt);
      checkFrames(phys, [pt]);
      expect(snapshot(pt, phys)).toEqual(expected);
      pt.dispose();
      phys.reset();
      phys.validate();
      expect(phys.counts()).toEqual(new PhysMem({ bytes: 64 * MiB }).counts());
      // every slab came back (one chunk of 64 of each kind), none was added by later runs
      expect(cache.size.entrySlabs).toBe(64);
      expect(cache.size.childSlabs).toBe(64);
    }
  });

  it("gives back only zeroed slabs, even with live tables and entries", () => {
    const phys = new PhysMem({ bytes: 64 * MiB });
    const cache = new SlabCache();
    const pt = new PageTable(phys, { slabCache: cache });
    expect(pt.populateRange(BASE, BASE + 4 * MiB, RW)).toBe(0);
    const slabs = [...pt.ptes.slabs, ...pt.dirs.slabs, ...pt.dirs.childSlabs];
    pt.dispose();
    for (const s of slabs) expect(s.every((w) => w === 0)).toBe(true);
    expect(cache.size.bytes).toBe(64 * MiB + 64 * 512 * 1024);
  });

  it("refuses a table after dispose()", () => {
    const phys = new PhysMem({ bytes: 64 * MiB });
    const pt = new PageTable(phys, { slabCache: new SlabCache() });
    pt.dispose();
    expect(() => pt.allocTable(1, 0)).toThrow(/after dispose/);
  });

  it("reset() zeroes compound pages, overflow counts and free runs", () => {
    const phys = new PhysMem({ bytes: 8 * MiB });
    const p = phys.allocFrame("anon");
    for (let i = 0; i < 300; i++) phys.getPage(p);
    phys.addMapcount(p, 300);
    const q = phys.allocFrame("file");
    phys.allocFrame("anon");
    phys.freeFrame(q);
    expect(phys.allocCompound(1, 512)).toBeGreaterThan(0);
    phys.reset();
    phys.validate();
    expect(phys.refcount(p)).toBe(0);
    expect(phys.mapcount(p)).toBe(0);
    expect(phys.allocFrame("anon")).toBe(1);
    expect(phys.counts()).toEqual({
      ...new PhysMem({ bytes: 8 * MiB }).counts(),
      free: 2046,
      anon: 1,
    });
  });
});
