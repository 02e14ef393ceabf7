/**
 * free_pgtables() floor/ceiling scenarios (kernel-semantics 3.3). Rulers: one column per
 * 4 KiB page unless marked; `#` mapped and kept, `x` unmapped now, `.` empty.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freePgdRange, unmapPageRange } from "./memory.js";
import { checkFrames, GiB, MiB, RW, setup, unmapRegion } from "./test-utils.js";
import { MmuGather } from "./tlb.js";

const PAGE = 4096;

describe("free_pgd_range: floor and ceiling", () => {
  it("keeps a PTE table shared with the VMA below (floor inside the table)", () => {
    //  0x400000                         0x600000 (one PTE table)
    //  |#|.|x|..........................|
    //   A    B            floor = A.vmEnd = 0x401000, ceiling = 0 (top)
    const { phys, pt } = setup();
    pt.populateRange(0x400000, 0x401000, RW);
    pt.populateRange(0x402000, 0x403000, RW);
    const tlb = unmapRegion(pt, [{ vmStart: 0x402000, vmEnd: 0x403000 }], 0x401000, 0);
    expect(pt.followPage(0x400000)).toBeGreaterThan(0);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([1, 1, 1]);
    expect(tlb.stats.pagetablePagesFreed).toBe(0);
    expect(tlb.stats.pagesFreed).toBe(1);
    checkFrames(phys, [pt]);
  });

  it("keeps a PTE table shared with the VMA above (ceiling inside the table)", () => {
    //  0x400000                         0x600000
    //  |x|.|#|..........................|
    //   B    C            floor = 0, ceiling = C.vmStart = 0x402000
    const { phys, pt } = setup();
    pt.populateRange(0x400000, 0x401000, RW);
    pt.populateRange(0x402000, 0x403000, RW);
    unmapRegion(pt, [{ vmStart: 0x400000, vmEnd: 0x401000 }], 0, 0x402000);
    expect(pt.followPage(0x402000)).toBeGreaterThan(0);
    expect(pt.nrPtes).toBe(1);
    checkFrames(phys, [pt]);
  });

  it("worked example A: one page between neighbours frees nothing", () => {
    //  0x7f0000000000    0x7f0000200000
    //  |#|x|#|...........|     floor = 0x7f0000001000, ceiling = 0x7f0000002000
    // addr -> 0x7f0000200000 (rounded down below floor, so + PMD_SIZE);
    // end  -> 0x7effffe02000 (end - 1 > ceiling - 1, so - PMD_SIZE); addr > end - 1: return.
    const { phys, pt } = setup();
    pt.populateRange(0x7f0000000000, 0x7f0000003000, RW);
    const tlb = unmapRegion(
      pt,
      [{ vmStart: 0x7f0000001000, vmEnd: 0x7f0000002000 }],
      0x7f0000001000,
      0x7f0000002000,
    );
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([1, 1, 1]);
    expect(tlb.stats.pagetablePagesFreed).toBe(0);
    expect(tlb.stats.tablesQueued).toBe(0);
    expect(pt.followPage(0x7f0000001000)).toBe(-1);
    expect(pt.followPage(0x7f0000002000)).toBeGreaterThan(0);
    checkFrames(phys, [pt]);
  });

  it("frees a PTE table but keeps the PMD table shared with a neighbour 2 MiB away", () => {
    //  0x400000   0x600000   0x800000   0xa00000           (columns: 2 MiB)
    //  |#.........|..........|x.........|...  one PMD table [0, 1 GiB)
    //   A                     B          floor = A.vmEnd, ceiling = 0
    const { phys, pt } = setup();
    pt.populateRange(0x400000, 0x401000, RW);
    pt.populateRange(0x800000, 0x801000, RW);
    expect(pt.nrPtes).toBe(2);
    const tlb = unmapRegion(pt, [{ vmStart: 0x800000, vmEnd: 0x801000 }], 0x401000, 0);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([1, 1, 1]);
    expect(tlb.stats.pagetablePagesFreed).toBe(1);
    expect(pt.tableRef(0x800000, "pte")).toBe(-1);
    checkFrames(phys, [pt]);
  });

  it("frees PTE and PMD tables but keeps the PUD table shared with a neighbour 1 GiB away", () => {
    //  0          1 GiB      2 GiB                          (columns: 1 GiB)
    //  |#.........|x.........|.... one PUD table [0, 512 GiB)
    //   A          B          floor = A.vmEnd, ceiling = 0
    const { phys, pt } = setup();
    pt.populateRange(0x10000, 0x11000, RW);
    pt.populateRange(GiB, GiB + PAGE, RW);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([2, 2, 1]);
    const tlb = unmapRegion(pt, [{ vmStart: GiB, vmEnd: GiB + PAGE }], 0x11000, 0);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([1, 1, 1]);
    expect(tlb.stats.pagetablePagesFreed).toBe(2);
    checkFrames(phys, [pt]);
  });

  it("frees everything down to the PUD table when the neighbour is in another 512 GiB", () => {
    //  0          512 GiB    1 TiB                          (columns: 512 GiB)
    //  |#.........|x.........|....
    const { phys, pt } = setup();
    pt.populateRange(0x10000, 0x11000, RW);
    pt.populateRange(512 * GiB, 512 * GiB + PAGE, RW);
    unmapRegion(pt, [{ vmStart: 512 * GiB, vmEnd: 512 * GiB + PAGE }], 0x11000, 0);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([1, 1, 1]);
    expect(pt.pgtablesBytes).toBe(3 * PAGE);
    // and the last VMA with floor 0, ceiling 0 (exit-like): nothing but the pgd is left
    unmapRegion(pt, [{ vmStart: 0x10000, vmEnd: 0x11000 }], 0, 0);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds, pt.tablePages]).toEqual([0, 0, 0, 1]);
    checkFrames(phys, [pt]);
  });

  it("with LA57 frees the P4D table too when its 256 TiB hold nothing else", () => {
    //  0            256 TiB        512 TiB                  (columns: 256 TiB)
    //  |#...........|x.............|...
    const { phys, pt } = setup(64 * MiB, 5);
    pt.populateRange(0x10000, 0x11000, RW);
    pt.populateRange(2 ** 48, 2 ** 48 + PAGE, RW);
    expect(pt.nrP4ds).toBe(2);
    const tlb = unmapRegion(pt, [{ vmStart: 2 ** 48, vmEnd: 2 ** 48 + PAGE }], 0x11000, 0);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds, pt.nrP4ds]).toEqual([1, 1, 1, 1]);
    expect(tlb.stats.pagetablePagesFreed).toBe(4);
    checkFrames(phys, [pt]);
  });

  it("worked example B: a 1 GiB range frees its 512 PTE tables and the PMD table, not the PUD table", () => {
    //  0x7effff000000  0x7f0000000000              0x7f0040000000  0x7f0040200000
    //  floor |.........|xxxxxxxxxxxxxxxxxxxxxxxxxxx|...............| ceiling (next VMA, mapped)
    // PMD level: start 0x7f0000000000 >= floor; ceiling & PUD_MASK = 0x7f0040000000,
    //            end - 1 <= ceiling - 1  -> the PMD table goes.
    // PUD level: ceiling & P4D_MASK = 0x7f0000000000, end - 1 > ceiling - 1 -> the PUD table stays.
    const { phys, pt } = setup(2 * GiB);
    pt.populateRange(0x7effff000000 - PAGE, 0x7effff000000, RW); // prev VMA's last page
    pt.populateRange(0x7f0000000000, 0x7f0040000000, RW);
    pt.populateRange(0x7f0040200000, 0x7f0040201000, RW); // next VMA
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([514, 3, 2]);
    const tlb = unmapRegion(
      pt,
      [{ vmStart: 0x7f0000000000, vmEnd: 0x7f0040000000 }],
      0x7effff000000,
      0x7f0040200000,
    );
    expect(tlb.stats.pagetablePagesFreed).toBe(512 + 1);
    expect(tlb.stats.pagesFreed).toBe(262144);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([2, 2, 2]);
    expect(pt.tableRef(0x7f0000000000, "pud")).toBeGreaterThan(0);
    expect(pt.tableRef(0x7f0000000000, "pmd")).toBe(-1);
    checkFrames(phys, [pt]);
  });

  it("gathers VMAs within PMD_SIZE into one call and bounds each call by the next VMA", () => {
    //  0x200000            0x400000           0x800000           (columns: 1 page, then gaps)
    //  |x ... x|           |x|  (2 MiB away)  |x|  (4 MiB away: its own call)
    const { phys, pt } = setup();
    const ranges = [
      { vmStart: 0x200000, vmEnd: 0x201000 },
      { vmStart: 0x3ff000, vmEnd: 0x400000 },
      { vmStart: 0x400000 + 2 * MiB, vmEnd: 0x401000 + 2 * MiB },
      { vmStart: 0xa00000, vmEnd: 0xa01000 },
    ];
    for (const r of ranges) pt.populateRange(r.vmStart, r.vmEnd, RW);
    expect(pt.nrPtes).toBe(3);
    unmapRegion(pt, ranges, 0, 0);
    expect([pt.nrPtes, pt.nrPmds, pt.nrPuds]).toEqual([0, 0, 0]);
    checkFrames(phys, [pt]);
  });

  it("throws (a caller bug) when floor/ceiling would free a table that still maps pages", () => {
    const { pt } = setup();
    pt.populateRange(0x400000, 0x401000, RW);
    pt.populateRange(0x402000, 0x403000, RW);
    expect(() => unmapRegion(pt, [{ vmStart: 0x402000, vmEnd: 0x403000 }], 0, 0)).toThrow(
      /still has 1 entries/,
    );
  });

  it("matches a transliteration of the kernel's unsigned 64-bit arithmetic", () => {
    // Which tables does free_pgd_range free, for random addr/end/floor/ceiling around a few
    // populated pages? The reference below works on BigInt with the kernel's masks.
    const M = (1n << 64n) - 1n;
    const PMD = 1n << 21n;
    const PUD = 1n << 30n;
    const P4D = 1n << 39n;
    const sub1 = (x: bigint): bigint => (x - 1n) & M;
    function freeable(
      start: bigint,
      end: bigint,
      floor: bigint,
      ceiling: bigint,
      size: bigint,
    ): boolean {
      start &= ~(size - 1n) & M;
      if (start < floor) return false;
      if (ceiling !== 0n) {
        ceiling &= ~(size - 1n) & M;
        if (ceiling === 0n) return false;
      }
      return !(sub1(end) > sub1(ceiling));
    }
    /** Spans (level, base) that the kernel would free, given the present tables. */
    function reference(
      addr: bigint,
      end: bigint,
      floor: bigint,
      ceiling: bigint,
      ptes: Set<bigint>,
      pmds: Set<bigint>,
      puds: Set<bigint>,
    ): string[] {
      const out: string[] = [];
      addr &= ~(PMD - 1n);
      if (addr < floor) {
        addr = (addr + PMD) & M;
        if (addr === 0n) return out;
      }
      if (ceiling !== 0n) {
        ceiling &= ~(PMD - 1n);
        if (ceiling === 0n) return out;
      }
      if (sub1(end) > sub1(ceiling)) end = (end - PMD) & M;
      if (addr > sub1(end)) return out;
      const addrEnd = (a: bigint, e: bigint, size: bigint): bigint => {
        const b = (a + size) & ~(size - 1n) & M;
        return sub1(b) < sub1(e) ? b : e;
      };
      let a = addr;
      do {
        const next = addrEnd(a, end, P4D);
        if (puds.has(a & ~(P4D - 1n))) {
          const pudStart = a;
          let b = a;
          do {
            const nb = addrEnd(b, next, PUD);
            if (pmds.has(b & ~(PUD - 1n))) {
              const pmdStart = b;
              let c = b;
              do {
                const nc = addrEnd(c, nb, PMD);
                if (ptes.has(c & ~(PMD - 1n))) out.push(`pte@${(c & ~(PMD - 1n)).toString(16)}`);
                c = nc;
              } while (c !== nb);
              if (freeable(pmdStart, nb, floor, ceiling, PUD))
                out.push(`pmd@${(pmdStart & ~(PUD - 1n)).toString(16)}`);
            }
            b = nb;
          } while (b !== next);
          if (freeable(pudStart, next, floor, ceiling, P4D))
            out.push(`pud@${(pudStart & ~(P4D - 1n)).toString(16)}`);
        }
        a = next;
      } while (a !== end);
      return out.sort();
    }
    // candidate page addresses: around 2 MiB, 1 GiB and 512 GiB boundaries below 2^47
    const anchors = [
      0n,
      2n * PMD,
      PUD - PMD,
      PUD,
      PUD + PMD,
      P4D - PUD,
      P4D,
      P4D + PMD,
      0x7f0000000000n,
    ];
    const pageArb = fc
      .tuple(fc.constantFrom(...anchors), fc.integer({ min: -600, max: 600 }))
      .map(([b, d]) => {
        const v = b + BigInt(d) * 4096n;
        return v < 0n ? 0n : v;
      });
    fc.assert(
      fc.property(
        fc.array(pageArb, { minLength: 1, maxLength: 4 }),
        pageArb,
        pageArb,
        pageArb,
        pageArb,
        (mapped, p, q, f, c) => {
          const [addr, end] = p <= q ? [p, q + 4096n] : [q, p + 4096n];
          const floor = f <= addr ? f : addr;
          const ceiling = c >= end ? c : 0n;
          const { pt } = setup(16 * MiB);
          // neighbours lie below floor or at/above ceiling, as prev/next VMAs do; pages inside
          // [addr, end) were mapped and are zapped first, leaving their tables empty
          const outside = mapped.filter(
            (m) => m + 4096n <= floor || (ceiling !== 0n && m >= ceiling),
          );
          const inside = [addr, ...mapped.filter((m) => m >= addr && m < end)];
          const pages = [...outside, ...inside];
          for (const m of pages) pt.populateRange(Number(m), Number(m) + 4096, RW);
          const ptes = new Set(pages.map((m) => m & ~(PMD - 1n)));
          const pmds = new Set(pages.map((m) => m & ~(PUD - 1n)));
          const puds = new Set(pages.map((m) => m & ~(P4D - 1n)));
          // the kernel frees only tables wholly inside [floor, ceiling), which hold no page here
          const expected = reference(addr, end, floor, ceiling, ptes, pmds, puds);
          const tlb = new MmuGather(pt);
          tlb.tlbGatherMmu(Number(addr), Number(end));
          unmapPageRange(tlb, Number(addr), Number(end));
          const before = snapshot(pt);
          freePgdRange(tlb, Number(addr), Number(end), Number(floor), Number(ceiling));
          tlb.tlbFinishMmu(Number(addr), Number(end));
          const after = snapshot(pt);
          const freed = before.filter((t) => !after.includes(t)).sort();
          expect(freed).toEqual(expected);
          pt.validate();
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});

function snapshot(pt: ReturnType<typeof setup>["pt"]): string[] {
  const out: string[] = [];
  pt.forEachTable((level, start) => out.push(`${level}@${start.toString(16)}`));
  return out;
}
