import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENOMEM } from "./errno.js";
import { PAGE_SIZE } from "./page.js";
import { RbVmaTree } from "./rb-vma-tree.js";
import { VM_GROWSDOWN, VM_READ, VM_WRITE, Vma } from "./vma.js";
import { vmaTreeContract } from "./vma-tree.contract.js";

const P = PAGE_SIZE;
const RW = VM_READ | VM_WRITE;

vmaTreeContract("rb", (opts) => new RbVmaTree(opts));

describe("RbVmaTree specifics", () => {
  it("stays balanced: ascending, descending and interleaved inserts and erases", () => {
    const t = new RbVmaTree();
    const vmas: Vma[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = new Vma({ vmStart: (2 * i + 1) * P, vmEnd: (2 * i + 2) * P, vmFlags: RW });
      vmas.push(v);
      t.insert(v);
    }
    t.validate();
    for (let i = 1999; i >= 0; i -= 2) t.erase(vmas[i] as Vma);
    t.validate();
    for (let i = 1999; i >= 0; i -= 2) t.insert(vmas[i] as Vma);
    t.validate();
    for (let i = 0; i < 2000; i += 3) t.erase(vmas[i] as Vma);
    t.validate();
    expect(t.mapCount).toBe(2000 - 667);
    expect(t.first()).toBe(vmas[1]);
    expect(t.last()).toBe(vmas[1999]);
  });

  it("rejects an info.stackGuardGap different from the tree's (rb_subtree_gap is precomputed)", () => {
    const t = new RbVmaTree({ stackGuardGap: 16 * P });
    expect(t.stackGuardGap).toBe(16 * P);
    const inf = { length: P, lowLimit: 0, highLimit: 100 * P, alignMask: 0, alignOffset: 0 };
    expect(t.unmappedArea({ ...inf, stackGuardGap: 16 * P })).toBe(0);
    expect(() => t.unmappedArea({ ...inf, stackGuardGap: 32 * P })).toThrow(RangeError);
    expect(() => t.unmappedAreaTopdown({ ...inf, length: 100 })).toThrow(RangeError);
    expect(() => new RbVmaTree({ stackGuardGap: 100 })).toThrow(RangeError);
  });

  it("detects a VMA resized behind its back", () => {
    const t = new RbVmaTree();
    const v = new Vma({ vmStart: P, vmEnd: 4 * P, vmFlags: RW });
    t.insert(v);
    v.vmEnd = 8 * P;
    expect(() => t.validate()).toThrow(/resized without adjust/);
    v.vmStart = 2 * P;
    expect(() => t.erase(v)).toThrow(/not linked/);
  });

  it("gap search with VM_GROWSDOWN VMAs returns a valid, guard-respecting placement (fast-check)", () => {
    const guard = 8; // pages
    const vmaArb = fc.record({
      start: fc.nat(400),
      len: fc.integer({ min: 1, max: 10 }),
      down: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(vmaArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.nat(420),
        fc.boolean(),
        (specs, len, low, topdown) => {
          const t = new RbVmaTree({ stackGuardGap: guard * P });
          const placed: Vma[] = [];
          for (const s of specs) {
            const v = new Vma({
              vmStart: s.start * P,
              vmEnd: (s.start + s.len) * P,
              vmFlags: s.down ? RW | VM_GROWSDOWN : RW,
            });
            if (placed.some((p) => p.vmStart < v.vmEnd && v.vmStart < p.vmEnd)) continue;
            t.insert(v);
            placed.push(v);
          }
          t.validate();
          const inf = {
            length: len * P,
            lowLimit: low * P,
            highLimit: 440 * P,
            alignMask: 0,
            alignOffset: 0,
          };
          const got = topdown ? t.unmappedAreaTopdown(inf) : t.unmappedArea(inf);
          // Fits somewhere, ignoring guards, iff some hole is long enough: a placement implies that.
          if (got === -ENOMEM) return;
          expect(got % P).toBe(0);
          expect(got).toBeGreaterThanOrEqual(inf.lowLimit);
          expect(got + inf.length).toBeLessThanOrEqual(inf.highLimit);
          for (const p of placed) {
            const guardStart =
              (p.vmFlags & VM_GROWSDOWN) !== 0 ? Math.max(0, p.vmStart - guard * P) : p.vmStart;
            expect(got + inf.length <= guardStart || got >= p.vmEnd).toBe(true);
          }
        },
      ),
      { seed: 42, numRuns: 400 },
    );
  });
});
