import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PhysMem } from "./phys-mem.js";

describe("PhysMem", () => {
  it("allocates in O(1) from a bump pointer, then from free runs, down to -ENOMEM", () => {
    const phys = new PhysMem({ bytes: 16 * 4096 });
    expect(phys.totalFrames).toBe(16);
    expect(phys.kindOf(phys.zeroPfn)).toBe("zero");
    const got: number[] = [];
    for (let i = 0; i < 15; i++) got.push(phys.allocFrame("anon"));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(phys.allocFrame("anon")).toBe(-12);
    phys.freeFrame(5);
    phys.freeFrame(6);
    phys.freeFrame(9);
    expect(phys.freeFrames).toBe(3);
    expect(phys.counts()).toEqual({ free: 3, anon: 12, file: 0, pagetable: 0, zero: 1, shmem: 0 });
    expect(phys.allocFrame("file")).toBe(9); // LIFO over runs
    expect(phys.allocFrame("pagetable")).toBe(5);
    phys.validate();
    expect(() => phys.freeFrame(7 + 100)).toThrow(RangeError);
    phys.freeFrame(7);
    expect(() => phys.freeFrame(7)).toThrow(/double free/);
    expect(() => phys.freeFrame(phys.zeroPfn)).toThrow(/zero page/);
  });

  it("counts references and mapcounts past the word's 5-bit fields (30) through the overflow path", () => {
    const phys = new PhysMem({ bytes: 64 * 4096 });
    const p = phys.allocFrame("anon");
    for (let i = 0; i < 300; i++) phys.getPage(p);
    expect(phys.refcount(p)).toBe(301);
    for (let i = 0; i < 300; i++) phys.putPage(p);
    expect(phys.refcount(p)).toBe(1);
    phys.addMapcount(p, 400);
    expect(phys.mapcount(p)).toBe(400);
    expect(() => phys.putPage(p)).toThrow(/still mapped/);
    phys.addMapcount(p, -400);
    phys.putPage(p);
    expect(phys.kindOf(p)).toBe("free");
    expect(phys.refcount(p)).toBe(0);
    expect(() => phys.putPage(p)).toThrow(/free pfn/);
    phys.validate();
  });

  it("hands out naturally aligned compound pages and frees them whole", () => {
    const phys = new PhysMem({ bytes: 4 * 1024 * 4096 });
    phys.allocFrame("anon");
    const head = phys.allocCompound(1, 512);
    expect(head).toBe(512);
    expect(phys.refcount(head + 100)).toBe(1);
    expect(() => phys.freeFrame(head + 1)).toThrow(/tail/);
    phys.getPage(head + 3); // a tail reference is the head's
    expect(phys.refcount(head)).toBe(2);
    phys.putPage(head + 3);
    phys.putPage(head);
    expect(phys.freeFrames).toBe(phys.totalFrames - 2);
    phys.validate();
  });

  it("never loses a frame under random alloc/free (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat({ max: 40 })), { maxLength: 200 }),
        (ops) => {
          const phys = new PhysMem({ bytes: 96 * 4096 });
          const held: number[] = [];
          for (const [alloc, pick, n] of ops) {
            if (alloc) {
              const pfn = phys.allocRun(1, n + 1, 0);
              if (pfn < 0) expect(phys.freeFrames).toBe(0);
              else for (let i = 0; i < phys.runGot; i++) held.push(pfn + i);
            } else if (held.length > 0) {
              const [pfn] = held.splice(pick % held.length, 1);
              phys.putPage(pfn as number);
            }
            expect(phys.freeFrames + held.length + 1).toBe(phys.totalFrames);
          }
          phys.validate();
          expect(new Set(held).size).toBe(held.length);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});
