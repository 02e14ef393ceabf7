/**
 * Property test: random map / populate / THP / zap / munmap sequences against a plain Map
 * oracle of page -> frame. After every step: the page table maps exactly the oracle's pages
 * to the oracle's frames, validate() holds, and every frame is accounted for (free, mapped,
 * inside a still-mapped THP, the zero page, or a page-table page of this mm) — none lost.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EEXIST } from "./errno.js";
import { freePgtables, unmapPageRange } from "./memory.js";
import type { PageTable } from "./page-table.js";
import type { PhysMem } from "./phys-mem.js";
import { RW, setup } from "./test-utils.js";
import { MmuGather } from "./tlb.js";

const P = 4096;
const SPAN = 1536; // pages above each anchor where ops start (three PMD entries)
const REACH = SPAN + 1100; // pages above each anchor an op can touch

type Op =
  | { kind: "map"; page: number }
  | { kind: "populate"; page: number; len: number }
  | { kind: "thp"; page: number }
  | { kind: "zap"; page: number; len: number }
  | { kind: "munmap"; page: number; len: number };

function opArb(anchors: readonly number[]): fc.Arbitrary<Op> {
  const page = fc
    .tuple(fc.constantFrom(...anchors), fc.integer({ min: 0, max: SPAN - 1 }))
    .map(([a, o]) => a / P + o);
  const len = fc.integer({ min: 1, max: 1100 });
  return fc.oneof(
    fc.record({ kind: fc.constant("map" as const), page }),
    fc.record({ kind: fc.constant("populate" as const), page, len }),
    fc.record({ kind: fc.constant("thp" as const), page }),
    fc.record({ kind: fc.constant("zap" as const), page, len }),
    fc.record({ kind: fc.constant("munmap" as const), page, len }),
    fc.record({ kind: fc.constant("munmap" as const), page, len }),
  );
}

function mappedPages(pt: PageTable): Map<number, number> {
  const out = new Map<number, number>();
  pt.forEachLeaf((addr, size) => {
    const pfn = pt.followPage(addr);
    for (let i = 0; i < size / P; i++) out.set(addr / P + i, pfn + i);
  });
  return out;
}

function checkAccounting(phys: PhysMem, pt: PageTable, oracle: Map<number, number>): void {
  pt.validate();
  phys.validate();
  const heads = new Set<number>();
  let small = 0;
  for (const pfn of oracle.values()) {
    const head = phys.compoundHead(pfn);
    if (head !== pfn || phys.kindCodeOf(pfn) !== 1) heads.add(head);
    else small++;
  }
  const c = phys.counts();
  expect(c.anon).toBe(small + 512 * heads.size);
  expect(c.pagetable).toBe(pt.tablePages);
  expect(c.free + c.anon + c.file + c.pagetable + c.zero).toBe(phys.totalFrames);
  expect(pt.rss.anon).toBe(oracle.size);
}

function run(levels: 4 | 5, anchors: readonly number[], ops: readonly Op[]): void {
  const { phys, pt } = setup(32 * 1024 * 1024, levels);
  const oracle = new Map<number, number>();
  for (const op of ops) {
    switch (op.kind) {
      case "map": {
        const r = pt.mapAnonPage(op.page * P, true);
        if (oracle.has(op.page)) expect(r).toBe(-EEXIST);
        else {
          expect(r).toBe(0);
          oracle.set(op.page, pt.followPage(op.page * P));
        }
        break;
      }
      case "populate": {
        expect(pt.populateRange(op.page * P, (op.page + op.len) * P, RW)).toBe(0);
        for (let p = op.page; p < op.page + op.len; p++)
          if (!oracle.has(p)) oracle.set(p, pt.followPage(p * P));
        break;
      }
      case "thp": {
        const base = op.page - (op.page % 512);
        const r = pt.mapHugePmd(base * P, RW);
        let busy = false;
        for (let p = base; p < base + 512; p++) busy ||= oracle.has(p);
        if (r === 0) {
          expect(busy).toBe(false);
          const head = pt.followPage(base * P);
          for (let i = 0; i < 512; i++) oracle.set(base + i, head + i);
        } else {
          expect(r).toBe(-EEXIST);
          expect(busy || pt.tableRef(base * P, "pte") > 0).toBe(true);
        }
        break;
      }
      case "zap":
      case "munmap": {
        const s = op.page;
        const e = op.page + op.len;
        const tlb = new MmuGather(pt);
        tlb.tlbGatherMmu(s * P, e * P);
        unmapPageRange(tlb, s * P, e * P);
        for (let p = s; p < e; p++) oracle.delete(p);
        if (op.kind === "munmap") {
          // floor/ceiling as the neighbouring VMAs would give them
          let floor = 0;
          let ceiling = 0;
          for (const p of oracle.keys()) {
            if (p < s && p + 1 > floor) floor = p + 1;
            if (p >= e && (ceiling === 0 || p < ceiling)) ceiling = p;
          }
          freePgtables(tlb, [{ vmStart: s * P, vmEnd: e * P }], floor * P, ceiling * P);
        }
        tlb.tlbFinishMmu(s * P, e * P);
        break;
      }
    }
    expect(mappedPages(pt)).toEqual(oracle);
    checkAccounting(phys, pt, oracle);
  }
  // tear everything down as exit_mmap would: nothing but the pgd survives
  const tlb = new MmuGather(pt);
  tlb.tlbGatherMmu(0, -1);
  for (const a of anchors) unmapPageRange(tlb, a, a + REACH * P);
  freePgtables(
    tlb,
    anchors.map((a) => ({ vmStart: a, vmEnd: a + REACH * P })),
    0,
    0,
  );
  tlb.tlbFinishMmu(0, -1);
  expect(pt.tablePages).toBe(1);
  expect(phys.counts().anon).toBe(0);
  expect(phys.freeFrames).toBe(phys.totalFrames - 2);
}

describe("page table vs a Map oracle (fast-check)", () => {
  // anchors: a PMD boundary, 2 MiB below a 1 GiB boundary, 2 MiB below a 512 GiB boundary,
  // and the mmap area
  const anchors4 = [0x400000, 2 ** 30 - 2 * 2 ** 20, 2 ** 39 - 2 * 2 ** 20, 0x7f0000000000];
  it("4-level", () => {
    fc.assert(
      fc.property(fc.array(opArb(anchors4), { minLength: 1, maxLength: 14 }), (ops) =>
        run(4, anchors4, ops),
      ),
      { seed: 42, numRuns: 250 },
    );
  });

  const anchors5 = [0x400000, 2 ** 48 - 2 * 2 ** 20, 2 ** 53 - 2 * 2 ** 20, 2 ** 56 - 16 * 2 ** 20];
  it("5-level, addresses up to 2^56", () => {
    fc.assert(
      fc.property(fc.array(opArb(anchors5), { minLength: 1, maxLength: 14 }), (ops) =>
        run(5, anchors5, ops),
      ),
      { seed: 42, numRuns: 100 },
    );
  });
});
