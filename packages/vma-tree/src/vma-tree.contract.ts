/**
 * The VmaTree contract: one suite that every implementation must pass. Run it from a test file:
 *
 *   vmaTreeContract("rb", (opts) => new RbVmaTree(opts));
 *
 * It covers every interface method, vm_unmapped_area in both directions (alignment, limits,
 * the stack_guard_gap rule below VM_GROWSDOWN VMAs), 5-level addresses above 2^53, and a seeded
 * fast-check differential test against a sorted-array reference with validate() after every
 * mutation. Gap searches are compared with a linear scan over the reference only for trees
 * without VM_GROWSDOWN VMAs: there 4.19's rb descent and 6.x's maple search agree exactly.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENOMEM } from "./errno.js";
import { and53, PAGE_SIZE } from "./page.js";
import type { VmaTreeFactory } from "./test-utils.js";
import { DEFAULT_STACK_GUARD_GAP, VM_GROWSDOWN, VM_READ, VM_WRITE, Vma } from "./vma.js";
import type { VmaTree, VmUnmappedAreaInfo } from "./vma-tree.js";

const P = PAGE_SIZE;
const RW = VM_READ | VM_WRITE;

function vmaAt(startPage: number, endPage: number, flags = RW, base = 0): Vma {
  return new Vma({ vmStart: base + startPage * P, vmEnd: base + endPage * P, vmFlags: flags });
}

/** Three VMAs with holes: [2,4) [6,7) [10,14) (pages). */
function threeVmas(tree: VmaTree): [Vma, Vma, Vma] {
  const a = vmaAt(2, 4);
  const b = vmaAt(6, 7);
  const c = vmaAt(10, 14);
  tree.insert(b);
  tree.insert(c);
  tree.insert(a);
  tree.validate();
  return [a, b, c];
}

function info(
  length: number,
  lowLimit: number,
  highLimit: number,
  alignMask = 0,
  alignOffset = 0,
): VmUnmappedAreaInfo {
  return { length, lowLimit, highLimit, alignMask, alignOffset };
}

// ---- the reference: a sorted array of [startPage, endPage) and a linear gap scan

interface Ref {
  starts: number[];
  ends: number[];
  vmas: Vma[];
}

function refFind(ref: Ref, pg: number): number {
  for (let i = 0; i < ref.ends.length; i++) if ((ref.ends[i] as number) > pg) return i;
  return -1;
}

/** Lowest/highest start of [addr, addr+len) inside [low, high] and inside one hole, aligned. */
function refUnmapped(ref: Ref, inf: VmUnmappedAreaInfo, topdown: boolean): number {
  const len = inf.length / P;
  const mask = inf.alignMask / P;
  const off = inf.alignOffset / P;
  const lo = inf.lowLimit / P;
  const hi = inf.highLimit / P;
  const holes: Array<[number, number]> = [];
  let prevEnd = 0;
  for (let i = 0; i < ref.starts.length; i++) {
    holes.push([prevEnd, ref.starts[i] as number]);
    prevEnd = ref.ends[i] as number;
  }
  holes.push([prevEnd, Number.POSITIVE_INFINITY]);
  if (hi - lo < len + mask) return -ENOMEM;
  const order = topdown ? holes.slice().reverse() : holes;
  for (const [gs, ge] of order) {
    const from = Math.max(gs, lo);
    const to = Math.min(ge, hi);
    if (to - from < len + mask) continue;
    if (topdown) {
      let addr = to - len;
      addr -= and53(addr - off, mask);
      return addr * P;
    }
    let addr = from;
    addr += and53(off - addr, mask);
    return addr * P;
  }
  return -ENOMEM;
}

export function vmaTreeContract(name: string, factory: VmaTreeFactory): void {
  describe(`VmaTree contract: ${name}`, () => {
    describe("an empty tree", () => {
      it("has nothing to find and the whole window free", () => {
        const t = factory();
        t.validate();
        expect(t.mapCount).toBe(0);
        expect(t.findVma(0)).toBeNull();
        expect(t.findVmaPrev(0x5000)).toEqual({ vma: null, prev: null });
        expect(t.findVmaIntersection(0, 0x10000)).toBeNull();
        expect(t.vmaLookup(0x1000)).toBeNull();
        expect(t.first()).toBeNull();
        expect(t.last()).toBeNull();
        expect([...t]).toEqual([]);
        expect([...t.range(0, 2 ** 47)]).toEqual([]);
        expect(t.highestVmEnd).toBe(0);
        expect(t.unmappedArea(info(4 * P, P, 100 * P))).toBe(P);
        expect(t.unmappedAreaTopdown(info(4 * P, P, 100 * P))).toBe(96 * P);
      });
    });

    describe("lookups", () => {
      it("findVma returns the first VMA ending above addr", () => {
        const t = factory();
        const [a, b, c] = threeVmas(t);
        expect(t.findVma(0)).toBe(a);
        expect(t.findVma(2 * P)).toBe(a);
        expect(t.findVma(4 * P - 1)).toBe(a);
        expect(t.findVma(4 * P)).toBe(b); // vm_end is exclusive
        expect(t.findVma(5 * P + 123)).toBe(b); // in a hole: the next VMA
        expect(t.findVma(13 * P + 4095)).toBe(c);
        expect(t.findVma(14 * P)).toBeNull();
        expect(t.findVma(2 ** 47)).toBeNull();
      });

      it("findVmaPrev pairs the found VMA with its predecessor, or the last VMA", () => {
        const t = factory();
        const [a, b, c] = threeVmas(t);
        expect(t.findVmaPrev(0)).toEqual({ vma: a, prev: null });
        expect(t.findVmaPrev(5 * P)).toEqual({ vma: b, prev: a });
        expect(t.findVmaPrev(11 * P)).toEqual({ vma: c, prev: b });
        expect(t.findVmaPrev(20 * P)).toEqual({ vma: null, prev: c });
      });

      it("findVmaIntersection and vmaLookup treat ranges as half-open", () => {
        const t = factory();
        const [a, b, c] = threeVmas(t);
        expect(t.findVmaIntersection(0, 2 * P)).toBeNull();
        expect(t.findVmaIntersection(0, 2 * P + 1)).toBe(a);
        expect(t.findVmaIntersection(4 * P, 6 * P)).toBeNull();
        expect(t.findVmaIntersection(4 * P, 11 * P)).toBe(b);
        expect(t.findVmaIntersection(7 * P, 10 * P)).toBeNull();
        expect(t.findVmaIntersection(13 * P, 100 * P)).toBe(c);
        expect(t.vmaLookup(2 * P)).toBe(a);
        expect(t.vmaLookup(6 * P + 10)).toBe(b);
        expect(t.vmaLookup(7 * P)).toBeNull();
        expect(t.vmaLookup(1 * P)).toBeNull();
        expect(t.vmaLookup(14 * P)).toBeNull();
      });

      it("steps with vmaNext/vmaPrev, first/last, iterates and ranges in order", () => {
        const t = factory();
        const [a, b, c] = threeVmas(t);
        expect(t.first()).toBe(a);
        expect(t.last()).toBe(c);
        expect(t.vmaNext(a)).toBe(b);
        expect(t.vmaNext(b)).toBe(c);
        expect(t.vmaNext(c)).toBeNull();
        expect(t.vmaPrev(c)).toBe(b);
        expect(t.vmaPrev(a)).toBeNull();
        expect([...t]).toEqual([a, b, c]);
        expect([...t.range(0, 100 * P)]).toEqual([a, b, c]);
        expect([...t.range(3 * P, 6 * P)]).toEqual([a]);
        expect([...t.range(3 * P, 6 * P + 1)]).toEqual([a, b]);
        expect([...t.range(4 * P, 10 * P)]).toEqual([b]);
        expect([...t.range(7 * P, 10 * P)]).toEqual([]);
        expect(t.mapCount).toBe(3);
        expect(t.highestVmEnd).toBe(14 * P);
      });
    });

    describe("mutations", () => {
      it("insert rejects overlaps and double links, changing nothing", () => {
        const t = factory();
        const [a, , c] = threeVmas(t);
        expect(() => t.insert(vmaAt(3, 5))).toThrow(Error);
        expect(() => t.insert(vmaAt(0, 3))).toThrow(Error);
        expect(() => t.insert(vmaAt(5, 11))).toThrow(Error);
        expect(() => t.insert(vmaAt(0, 100))).toThrow(Error);
        expect(() => t.insert(a)).toThrow(Error);
        t.validate();
        expect(t.mapCount).toBe(3);
        const d = vmaAt(4, 6); // exactly fills a hole: adjacency is not overlap
        t.insert(d);
        t.validate();
        expect(t.vmaNext(a)).toBe(d);
        expect(t.last()).toBe(c);
      });

      it("erase unlinks and throws for a VMA that is not linked", () => {
        const t = factory();
        const [a, b, c] = threeVmas(t);
        t.erase(b);
        t.validate();
        expect(t.mapCount).toBe(2);
        expect(t.findVma(5 * P)).toBe(c);
        expect(t.vmaNext(a)).toBe(c);
        expect(() => t.erase(b)).toThrow(Error);
        expect(() => t.erase(vmaAt(2, 4))).toThrow(Error); // same range, other object
        t.erase(c);
        t.validate();
        expect(t.highestVmEnd).toBe(4 * P);
        t.erase(a);
        t.validate();
        expect(t.mapCount).toBe(0);
        expect(t.highestVmEnd).toBe(0);
      });

      it("adjust moves bounds within the neighbours and refuses overlaps", () => {
        const t = factory();
        const [a, b, c] = threeVmas(t);
        t.adjust(b, 4 * P, 10 * P, 77);
        t.validate();
        expect([b.vmStart, b.vmEnd, b.vmPgoff]).toEqual([4 * P, 10 * P, 77]);
        expect(t.findVma(4 * P)).toBe(b);
        expect(t.vmaLookup(9 * P)).toBe(b);
        expect(() => t.adjust(b, 3 * P, 10 * P, 0)).toThrow(Error);
        expect(() => t.adjust(b, 4 * P, 11 * P, 0)).toThrow(Error);
        expect([b.vmStart, b.vmEnd, b.vmPgoff]).toEqual([4 * P, 10 * P, 77]);
        t.adjust(c, 12 * P, 20 * P, 0);
        t.validate();
        expect(t.highestVmEnd).toBe(20 * P);
        expect(t.findVma(10 * P)).toBe(c);
        t.adjust(a, 3 * P, 4 * P, 3);
        t.validate();
        expect(t.findVma(0)).toBe(a);
        expect(() => t.adjust(vmaAt(30, 31), 30 * P, 31 * P, 0)).toThrow(Error);
      });

      it("keeps 5-level addresses above 2^53 exact (keys are page indices)", () => {
        const t = factory();
        const base = 2 ** 56 - 64 * P; // top of a 56-bit user space
        const x = vmaAt(0, 8, RW, base);
        const y = vmaAt(9, 10, RW, base);
        t.insert(y);
        t.insert(x);
        t.validate();
        expect(t.findVma(base + 8 * P - P)).toBe(x);
        expect(t.findVma(base + 8 * P)).toBe(y);
        expect(t.vmaLookup(base + 8 * P)).toBeNull();
        expect(t.highestVmEnd).toBe(base + 10 * P);
        const addr = t.unmappedAreaTopdown(info(P, P, 2 ** 56));
        expect(addr).toBe(2 ** 56 - P);
        expect(t.unmappedAreaTopdown(info(2 * P, base, base + 10 * P))).toBe(-ENOMEM);
        expect(t.unmappedAreaTopdown(info(P, base, base + 10 * P))).toBe(base + 8 * P);
      });
    });

    describe("vm_unmapped_area", () => {
      it("finds the lowest and highest holes that fit", () => {
        const t = factory();
        threeVmas(t); // holes: [0,2) [4,6) [7,10) [14,...)
        expect(t.unmappedArea(info(P, 0, 100 * P))).toBe(0);
        expect(t.unmappedArea(info(2 * P, P, 100 * P))).toBe(4 * P);
        expect(t.unmappedArea(info(3 * P, 0, 100 * P))).toBe(7 * P);
        expect(t.unmappedArea(info(4 * P, 0, 100 * P))).toBe(14 * P);
        expect(t.unmappedAreaTopdown(info(P, 0, 14 * P))).toBe(9 * P);
        expect(t.unmappedAreaTopdown(info(3 * P, 0, 14 * P))).toBe(7 * P);
        expect(t.unmappedAreaTopdown(info(2 * P, 0, 7 * P))).toBe(4 * P);
        expect(t.unmappedAreaTopdown(info(2 * P, 0, 100 * P))).toBe(98 * P);
      });

      it("respects the limits, clips the hole, and fails with -ENOMEM", () => {
        const t = factory();
        threeVmas(t);
        expect(t.unmappedArea(info(2 * P, 8 * P, 100 * P))).toBe(8 * P); // clipped up
        expect(t.unmappedAreaTopdown(info(P, 0, 8 * P))).toBe(7 * P); // clipped down
        expect(t.unmappedArea(info(4 * P, 0, 13 * P))).toBe(-ENOMEM);
        expect(t.unmappedAreaTopdown(info(4 * P, 0, 14 * P))).toBe(-ENOMEM);
        expect(t.unmappedAreaTopdown(info(3 * P, 8 * P, 14 * P))).toBe(-ENOMEM);
        expect(t.unmappedArea(info(5 * P, 10 * P, 14 * P))).toBe(-ENOMEM); // window too small
        expect(t.unmappedAreaTopdown(info(2 * P, 4 * P, 6 * P))).toBe(4 * P); // exact fit
        expect(t.unmappedArea(info(2 * P, 4 * P, 6 * P))).toBe(4 * P);
      });

      it("aligns with alignMask/alignOffset as the kernel does", () => {
        const t = factory();
        t.insert(vmaAt(0x200, 0x210)); // 2 MiB-aligned VMA
        t.validate();
        const mask = 0x1ff000; // 2 MiB hugepage alignment
        expect(t.unmappedArea(info(0x200000, P, 2 ** 40, mask, 0))).toBe(0x400000);
        expect(t.unmappedArea(info(0x200000, P, 2 ** 40, mask, 0x3000))).toBe(0x403000);
        expect(t.unmappedAreaTopdown(info(0x200000, P, 0x1000000, mask, 0))).toBe(0xe00000);
        expect(t.unmappedAreaTopdown(info(0x200000, P, 0x1000000, mask, 0x5000))).toBe(0xc05000);
      });

      it("keeps stack_guard_gap below a VM_GROWSDOWN VMA", () => {
        const t = factory();
        const stackStart = 0x7fff00000000;
        t.insert(
          new Vma({ vmStart: stackStart, vmEnd: stackStart + 33 * P, vmFlags: RW | VM_GROWSDOWN }),
        );
        t.validate();
        const high = stackStart + 33 * P + 0x100000;
        // Top-down: the highest 4 KiB page below the stack must end a guard gap below it.
        expect(t.unmappedAreaTopdown(info(P, P, stackStart))).toBe(
          stackStart - DEFAULT_STACK_GUARD_GAP - P,
        );
        expect(t.unmappedAreaTopdown(info(P, P, high))).toBe(high - P); // above it: no guard
        // Bottom-up over a window that only reaches into the guard region: nothing fits.
        const low = stackStart - DEFAULT_STACK_GUARD_GAP;
        expect(t.unmappedArea(info(P, low, stackStart))).toBe(-ENOMEM);
        expect(t.unmappedArea(info(P, low - P, stackStart))).toBe(low - P);
        // An ordinary VMA gets no guard.
        const u = factory();
        u.insert(new Vma({ vmStart: stackStart, vmEnd: stackStart + P, vmFlags: RW }));
        expect(u.unmappedAreaTopdown(info(P, P, stackStart))).toBe(stackStart - P);
      });

      it("uses the tree's stackGuardGap option", () => {
        const t = factory({ stackGuardGap: 16 * P });
        t.insert(new Vma({ vmStart: 100 * P, vmEnd: 110 * P, vmFlags: RW | VM_GROWSDOWN }));
        t.validate();
        expect(t.unmappedAreaTopdown(info(P, P, 100 * P))).toBe(83 * P);
        expect(t.unmappedArea(info(20 * P, 70 * P, 200 * P))).toBe(110 * P);
        expect(t.unmappedArea(info(14 * P, 70 * P, 200 * P))).toBe(70 * P);
      });

      it("searches the gap by descending the tree (a hole deep inside 4096 VMAs)", () => {
        const t = factory();
        // 4096 VMAs of 1 page with 1-page holes, and one 64-page hole in the middle.
        let pg = 16;
        for (let i = 0; i < 4096; i++) {
          if (i === 2048) pg += 64;
          t.insert(vmaAt(pg, pg + 1));
          pg += 2;
        }
        t.validate();
        const holeStart = 16 + 2 * 2048 - 1;
        expect(t.unmappedArea(info(32 * P, 16 * P, 2 ** 40))).toBe(holeStart * P);
        expect(t.unmappedAreaTopdown(info(32 * P, 16 * P, pg * P - P))).toBe(
          (holeStart + 65 - 32) * P,
        );
      });
    });

    describe("differential against a sorted-array reference (fast-check)", () => {
      type Op =
        | { kind: "insert"; start: number; len: number }
        | { kind: "erase"; pick: number }
        | { kind: "adjust"; pick: number; dStart: number; dEnd: number }
        | { kind: "query"; at: number; len: number; topdown: boolean; lowPick: number };
      const SPACE = 192; // pages: small, so that overlaps, adjacency and fills are frequent
      const opArb: fc.Arbitrary<Op> = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant("insert" as const),
            start: fc.nat(SPACE),
            len: fc.integer({ min: 1, max: 12 }),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ kind: fc.constant("erase" as const), pick: fc.nat(1000) }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant("adjust" as const),
            pick: fc.nat(1000),
            dStart: fc.integer({ min: -3, max: 3 }),
            dEnd: fc.integer({ min: -3, max: 3 }),
          }),
        },
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant("query" as const),
            at: fc.nat(SPACE + 16),
            len: fc.integer({ min: 1, max: 24 }),
            topdown: fc.boolean(),
            lowPick: fc.nat(SPACE),
          }),
        },
      );

      const runOps = (ops: Op[], basePage: number): void => {
        const t = factory();
        const base = basePage * P;
        const ref: Ref = { starts: [], ends: [], vmas: [] };
        for (const op of ops) {
          if (op.kind === "insert") {
            const s = basePage + op.start;
            const e = s + op.len;
            const vma = vmaAt(op.start, op.start + op.len, RW, base);
            let i = 0;
            while (i < ref.starts.length && (ref.starts[i] as number) < s) i++;
            const overlaps =
              (i > 0 && (ref.ends[i - 1] as number) > s) ||
              (i < ref.starts.length && (ref.starts[i] as number) < e);
            if (overlaps) {
              expect(() => t.insert(vma)).toThrow(Error);
            } else {
              t.insert(vma);
              ref.starts.splice(i, 0, s);
              ref.ends.splice(i, 0, e);
              ref.vmas.splice(i, 0, vma);
            }
            t.validate();
          } else if (op.kind === "erase") {
            if (ref.vmas.length === 0) continue;
            const i = op.pick % ref.vmas.length;
            t.erase(ref.vmas[i] as Vma);
            ref.starts.splice(i, 1);
            ref.ends.splice(i, 1);
            ref.vmas.splice(i, 1);
            t.validate();
          } else if (op.kind === "adjust") {
            if (ref.vmas.length === 0) continue;
            const i = op.pick % ref.vmas.length;
            const s = (ref.starts[i] as number) + op.dStart;
            const e = (ref.ends[i] as number) + op.dEnd;
            const lo = i > 0 ? (ref.ends[i - 1] as number) : basePage;
            const hi =
              i + 1 < ref.starts.length ? (ref.starts[i + 1] as number) : Number.POSITIVE_INFINITY;
            if (s >= e || s < basePage) continue;
            const vma = ref.vmas[i] as Vma;
            if (s < lo || e > hi) {
              expect(() => t.adjust(vma, s * P, e * P, 0)).toThrow(Error);
            } else {
              t.adjust(vma, s * P, e * P, s);
              ref.starts[i] = s;
              ref.ends[i] = e;
            }
            t.validate();
          } else {
            const pg = basePage + op.at;
            const addr = pg * P + (op.at % 3) * 1000; // also unaligned addresses
            const i = refFind(ref, pg);
            const want = i < 0 ? null : (ref.vmas[i] as Vma);
            expect(t.findVma(addr)).toBe(want);
            const fp = t.findVmaPrev(addr);
            expect(fp.vma).toBe(want);
            expect(fp.prev).toBe(
              i < 0 ? (ref.vmas[ref.vmas.length - 1] ?? null) : i > 0 ? ref.vmas[i - 1] : null,
            );
            const end = addr + op.len * P;
            expect(t.findVmaIntersection(addr, end)).toBe(
              want !== null && want.vmStart < end ? want : null,
            );
            expect(t.vmaLookup(addr)).toBe(want !== null && want.vmStart <= addr ? want : null);
            expect([...t.range(addr, end)]).toEqual(
              ref.vmas.filter((v) => v.vmEnd > addr && v.vmStart < end),
            );
            if (want !== null) {
              expect(t.vmaNext(want)).toBe(ref.vmas[(i as number) + 1] ?? null);
              expect(t.vmaPrev(want)).toBe(i > 0 ? ref.vmas[i - 1] : null);
            }
            const low = base + op.lowPick * P;
            const inf = info(
              op.len * P,
              low,
              base + (SPACE + 24) * P,
              op.len % 4 === 0 ? 3 * P : 0,
              op.at * P,
            );
            const rel: Ref = { starts: ref.starts, ends: ref.ends, vmas: ref.vmas };
            const got = op.topdown ? t.unmappedAreaTopdown(inf) : t.unmappedArea(inf);
            expect(got).toBe(refUnmapped(rel, inf, op.topdown));
          }
          expect(t.mapCount).toBe(ref.vmas.length);
        }
        expect([...t]).toEqual(ref.vmas);
        expect(t.first()).toBe(ref.vmas[0] ?? null);
        expect(t.last()).toBe(ref.vmas[ref.vmas.length - 1] ?? null);
        expect(t.highestVmEnd).toBe(
          ref.vmas.length === 0 ? 0 : (ref.vmas[ref.vmas.length - 1] as Vma).vmEnd,
        );
      };

      it("matches the reference on random insert/erase/adjust/query sequences", () => {
        fc.assert(
          fc.property(fc.array(opArb, { minLength: 1, maxLength: 160 }), (ops) => runOps(ops, 0)),
          { seed: 42, numRuns: 250 },
        );
      });

      it("matches the reference with 5-level addresses (base page 2^43)", () => {
        fc.assert(
          fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) =>
            runOps(ops, 2 ** 43),
          ),
          { seed: 7, numRuns: 80 },
        );
      });
    });
  });
}
