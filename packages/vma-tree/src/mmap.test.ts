/**
 * Split and merge (mm/mmap.c v4.19) in the style of tools/testing/vma: an address ruler per
 * case (one column = one page, 0x1000), setup through the harness helpers, then one block of
 * expectations on vmStart / vmEnd / vmPgoff / mapCount. Run on every VmaTree implementation.
 */
import { describe, expect, it } from "vitest";
import { EINVAL, ENOMEM } from "./errno.js";
import { MapleVmaTree } from "./maple-vma-tree.js";
import {
  __splitVma,
  canVmaMergeAfter,
  canVmaMergeBefore,
  isMergeableAnonVma,
  isMergeableVma,
  splitVma,
  vmaMerge,
} from "./mmap.js";
import { RbVmaTree } from "./rb-vma-tree.js";
import {
  allocAndLinkVma,
  allocAnonVma,
  allocVma,
  cleanupMm,
  createMm,
  rulerOf,
  tryMergeNewVma,
  VM_RW,
  type VmaTreeFactory,
} from "./test-utils.js";
import {
  VM_DONTEXPAND,
  VM_EXEC,
  VM_IO,
  VM_MERGEABLE,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_READ,
  VM_SOFTDIRTY,
  type Vma,
  vmFlagsOf,
} from "./vma.js";

const TREES: Array<[string, VmaTreeFactory]> = [
  ["rb", (opts) => new RbVmaTree(opts)],
  ["maple", (opts) => new MapleVmaTree(opts)],
];
const RO = VM_READ;
const RX = VM_READ | VM_EXEC;

describe.each(TREES)("vma_merge on the %s tree", (_name, factory) => {
  it("case 1: P, hole A, N: P grows over A and N, N removed", () => {
    // 0123456789
    // PPP***NNN
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    allocAndLinkVma(mm, 0x6000, 0x9000, 6, VM_RW);
    const { vma, merged } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW);
    mm.tree.validate();
    expect(merged).toBe(true);
    expect(vma).toBe(p);
    expect(vma.vmStart).toBe(0x0000);
    expect(vma.vmEnd).toBe(0x9000);
    expect(vma.vmPgoff).toBe(0);
    expect(mm.tree.mapCount).toBe(1);
  });

  it("case 2: P, hole A, incompatible N: P grows to end", () => {
    // 0123456789
    // PPP***NNN     (N read-only)
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    const n = allocAndLinkVma(mm, 0x6000, 0x9000, 6, RO);
    const { vma, merged } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW);
    mm.tree.validate();
    expect(merged).toBe(true);
    expect(vma).toBe(p);
    expect(rulerOf(mm.tree, 10, { P: p, N: n })).toBe("PPPPPPNNN");
    expect(vma.vmStart).toBe(0x0000);
    expect(vma.vmEnd).toBe(0x6000);
    expect(vma.vmPgoff).toBe(0);
    expect(mm.tree.mapCount).toBe(2);
  });

  it("case 3: incompatible P, hole A, N: N grows down, N.pgoff -= pglen", () => {
    // 0123456789
    // PPP***NNN     (P read-only)
    const mm = createMm(factory);
    allocAndLinkVma(mm, 0x0000, 0x3000, 0, RO);
    const n = allocAndLinkVma(mm, 0x6000, 0x9000, 6, VM_RW);
    const { vma, merged } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW);
    mm.tree.validate();
    expect(merged).toBe(true);
    expect(vma).toBe(n);
    expect(vma.vmStart).toBe(0x3000);
    expect(vma.vmEnd).toBe(0x9000);
    expect(vma.vmPgoff).toBe(3);
    expect(mm.tree.mapCount).toBe(2);
  });

  it("case 4: A is the tail of P and mergeable with N only: the boundary moves down", () => {
    // 0123456789
    // PPPPPPNNN
    //    AAA        (mprotect to N's flags)
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x6000, 0, VM_RW);
    const n = allocAndLinkVma(mm, 0x6000, 0x9000, 6, RO);
    const vma = vmaMerge(mm, p, 0x3000, 0x6000, RO, null, null, 3, null, null);
    mm.tree.validate();
    expect(vma).toBe(n);
    expect(rulerOf(mm.tree, 10, { P: p, N: n })).toBe("PPPNNNNNN");
    expect(p.vmStart).toBe(0x0000);
    expect(p.vmEnd).toBe(0x3000);
    expect(p.vmPgoff).toBe(0);
    expect(n.vmStart).toBe(0x3000);
    expect(n.vmEnd).toBe(0x9000);
    expect(n.vmPgoff).toBe(3);
    expect(mm.tree.mapCount).toBe(2);
  });

  it("case 5: A is the head of N and mergeable with P only: the boundary moves up", () => {
    // 0123456789
    // PPPNNNNNN
    //    AAA        (mprotect to P's flags)
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    const n = allocAndLinkVma(mm, 0x3000, 0x9000, 3, RO);
    const vma = vmaMerge(mm, p, 0x3000, 0x6000, VM_RW, null, null, 3, null, null);
    mm.tree.validate();
    expect(vma).toBe(p);
    expect(rulerOf(mm.tree, 10, { P: p, N: n })).toBe("PPPPPPNNN");
    expect(p.vmStart).toBe(0x0000);
    expect(p.vmEnd).toBe(0x6000);
    expect(p.vmPgoff).toBe(0);
    expect(n.vmStart).toBe(0x6000);
    expect(n.vmEnd).toBe(0x9000);
    expect(n.vmPgoff).toBe(6);
    expect(mm.tree.mapCount).toBe(2);
  });

  it("case 6: A == N, mergeable with P and X: P grows over N and X", () => {
    // 0123456789
    // PPPNNNXXX
    //    AAA
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    allocAndLinkVma(mm, 0x3000, 0x6000, 3, RO);
    allocAndLinkVma(mm, 0x6000, 0x9000, 6, VM_RW);
    const vma = vmaMerge(mm, p, 0x3000, 0x6000, VM_RW, null, null, 3, null, null);
    mm.tree.validate();
    expect(vma).toBe(p);
    expect(p.vmStart).toBe(0x0000);
    expect(p.vmEnd).toBe(0x9000);
    expect(p.vmPgoff).toBe(0);
    expect(mm.tree.mapCount).toBe(1);
  });

  it("case 7: A == N, mergeable with P only: P grows over N, N removed", () => {
    // 0123456789
    // PPPNNNXXX     (X executable)
    //    AAA
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    allocAndLinkVma(mm, 0x3000, 0x6000, 3, RO);
    const x = allocAndLinkVma(mm, 0x6000, 0x9000, 6, RX);
    const vma = vmaMerge(mm, p, 0x3000, 0x6000, VM_RW, null, null, 3, null, null);
    mm.tree.validate();
    expect(vma).toBe(p);
    expect(rulerOf(mm.tree, 10, { P: p, X: x })).toBe("PPPPPPXXX");
    expect(p.vmStart).toBe(0x0000);
    expect(p.vmEnd).toBe(0x6000);
    expect(x.vmStart).toBe(0x6000);
    expect(x.vmPgoff).toBe(6);
    expect(mm.tree.mapCount).toBe(2);
  });

  it("case 8: A == N, mergeable with X only: X grows down over N, N removed", () => {
    // 0123456789
    // PPPNNNXXX     (P executable)
    //    AAA
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, RX);
    allocAndLinkVma(mm, 0x3000, 0x6000, 3, RO);
    const x = allocAndLinkVma(mm, 0x6000, 0x9000, 6, VM_RW);
    const vma = vmaMerge(mm, p, 0x3000, 0x6000, VM_RW, null, null, 3, null, null);
    mm.tree.validate();
    expect(vma).toBe(x);
    expect(rulerOf(mm.tree, 10, { P: p, X: x })).toBe("PPPXXXXXX");
    expect(x.vmStart).toBe(0x3000);
    expect(x.vmEnd).toBe(0x9000);
    expect(x.vmPgoff).toBe(3);
    expect(p.vmEnd).toBe(0x3000);
    expect(mm.tree.mapCount).toBe(2);
  });

  it("A strictly inside P cannot merge", () => {
    // 0123456789
    // PPPPPPPPP
    //    AAA
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x9000, 0, VM_RW);
    const vma = vmaMerge(mm, p, 0x3000, 0x6000, RO, null, null, 3, null, null);
    mm.tree.validate();
    expect(vma).toBeNull();
    expect(p.vmStart).toBe(0x0000);
    expect(p.vmEnd).toBe(0x9000);
    expect(mm.tree.mapCount).toBe(1);
  });

  it("without a prev: merges in front of the first VMA (case 3 at address 0)", () => {
    // 0123456789
    // ***NNN
    const mm = createMm(factory);
    const n = allocAndLinkVma(mm, 0x3000, 0x6000, 3, VM_RW);
    const vma = vmaMerge(mm, null, 0x0000, 0x3000, VM_RW, null, null, 0, null, null);
    mm.tree.validate();
    expect(vma).toBe(n);
    expect(n.vmStart).toBe(0x0000);
    expect(n.vmEnd).toBe(0x6000);
    expect(n.vmPgoff).toBe(0);
    expect(mm.tree.mapCount).toBe(1);
  });

  it.each([
    ["VM_IO", VM_IO],
    ["VM_DONTEXPAND", VM_DONTEXPAND],
    ["VM_PFNMAP", VM_PFNMAP],
    ["VM_MIXEDMAP", VM_MIXEDMAP],
  ])("VM_SPECIAL (%s) never merges, even with identical neighbours", (_flag, bit) => {
    // 0123456789
    // PPP***NNN     (all three with the special bit)
    const mm = createMm(factory);
    const flags = VM_RW | bit;
    allocAndLinkVma(mm, 0x0000, 0x3000, 0, flags);
    allocAndLinkVma(mm, 0x6000, 0x9000, 6, flags);
    const { merged, vma } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, flags);
    mm.tree.validate();
    expect(merged).toBe(false);
    expect(vma.vmStart).toBe(0x3000);
    expect(vma.vmEnd).toBe(0x6000);
    expect(vma.vmPgoff).toBe(3);
    expect(mm.tree.mapCount).toBe(3);
  });

  // __test_merge_new style: every anon_vma combination of P, the request and N.
  const av1 = allocAnonVma();
  const av2 = allocAnonVma();
  it.each([
    // P anon, request anon, N anon → expected [start, end) of the result and map count
    [null, null, null, 0x0000, 0x9000, 1],
    [av1, null, null, 0x0000, 0x9000, 1],
    [null, null, av1, 0x0000, 0x9000, 1],
    [av1, null, av1, 0x0000, 0x9000, 1],
    [av1, av1, null, 0x0000, 0x6000, 2], // N has no anon_vma and an empty chain: case 2
    [av1, null, av2, 0x0000, 0x6000, 2], // P and N have different anon_vmas: case 2 only
    [av1, av2, av2, 0x3000, 0x9000, 2], // request shares N's anon_vma only: case 3
    [av1, av2, null, 0x3000, 0x6000, 3], // differs from P's, N has an empty chain: nothing
    [av1, av2, av1, 0x3000, 0x6000, 3], // nothing merges
  ] as const)(
    "anon_vma P=%o A=%o N=%o merges to [%i, %i) with map count %i",
    (pAv, aAv, nAv, start, end, count) => {
      // 0123456789
      // PPP***NNN
      const mm = createMm(factory);
      allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW, { anonVma: pAv });
      allocAndLinkVma(mm, 0x6000, 0x9000, 6, VM_RW, { anonVma: nAv });
      const { vma } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW, { anonVma: aAv });
      mm.tree.validate();
      expect(vma.vmStart).toBe(start);
      expect(vma.vmEnd).toBe(end);
      expect(vma.vmPgoff).toBe(start / 0x1000);
      expect(mm.tree.mapCount).toBe(count);
    },
  );

  it("case 1 hands N's anon_vma to P when P has none (__vma_adjust importer/exporter)", () => {
    // 0123456789
    // PPP***NNN     (only N has an anon_vma)
    const mm = createMm(factory);
    const av = allocAnonVma();
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    allocAndLinkVma(mm, 0x6000, 0x9000, 6, VM_RW, { anonVma: av });
    const { vma } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW);
    mm.tree.validate();
    expect(vma).toBe(p);
    expect(p.anonVma).toBe(av);
    expect(p.anonVmaChainLength).toBe(1);
    expect(p.vmEnd).toBe(0x9000);
    expect(mm.tree.mapCount).toBe(1);
  });

  it("a forked VMA (anon_vma_chain longer than 1) does not take a request without anon_vma", () => {
    // 0123456789
    // PPP***        (P inherited by fork: chain of 2)
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW, {
      anonVma: allocAnonVma(),
      anonVmaChainLength: 2,
    });
    const { vma, merged } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW);
    mm.tree.validate();
    expect(merged).toBe(false);
    expect(p.vmEnd).toBe(0x3000);
    expect(vma.vmStart).toBe(0x3000);
    expect(vma.vmEnd).toBe(0x6000);
    expect(mm.tree.mapCount).toBe(2);
  });

  it.each([
    ["pgoff discontinuity", { pgoff: 4 }],
    ["different policy", { policy: {} }],
    ["different userfaultfd ctx", { uffdCtx: {} }],
    ["VM_MERGEABLE (2^31) differs", { flags: (VM_RW | VM_MERGEABLE) >>> 0 }],
  ])(
    "no merge on %s",
    (_what, change: { pgoff?: number; policy?: object; uffdCtx?: object; flags?: number }) => {
      // 0123456789
      // PPP***
      const mm = createMm(factory);
      const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
      const { vma, merged } = tryMergeNewVma(
        mm,
        0x3000,
        0x6000,
        change.pgoff ?? 3,
        change.flags ?? VM_RW,
        {
          policy: change.policy ?? null,
          uffdCtx: change.uffdCtx ?? null,
        },
      );
      mm.tree.validate();
      expect(merged).toBe(false);
      expect(p.vmEnd).toBe(0x3000);
      expect(vma.vmStart).toBe(0x3000);
      expect(vma.vmEnd).toBe(0x6000);
      expect(mm.tree.mapCount).toBe(2);
    },
  );

  it("VM_SOFTDIRTY is ignored when comparing flags", () => {
    // 0123456789
    // PPP***
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW | VM_SOFTDIRTY);
    const { vma, merged } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW);
    mm.tree.validate();
    expect(merged).toBe(true);
    expect(vma).toBe(p);
    expect(p.vmEnd).toBe(0x6000);
    expect(mm.tree.mapCount).toBe(1);
  });

  it("a VMA with vm_ops->close is never merged nor removed", () => {
    // 0123456789
    // PPP***NNN     (N has a close hook)
    const mm = createMm(factory);
    const closes: Vma[] = [];
    const ops = { name: "drv", close: (v: Vma) => closes.push(v) };
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    const n = allocAndLinkVma(mm, 0x6000, 0x9000, 6, VM_RW, { vmOps: ops });
    const { vma } = tryMergeNewVma(mm, 0x3000, 0x6000, 3, VM_RW);
    mm.tree.validate();
    expect(vma).toBe(p); // case 2, not case 1
    expect(p.vmEnd).toBe(0x6000);
    expect(n.vmStart).toBe(0x6000);
    expect(mm.tree.mapCount).toBe(2);
    expect(closes).toEqual([]);
  });

  it.each([
    ["case 7", RX],
    ["case 6", VM_RW],
  ])("%s refuses to remove an overlapped VMA that has a close hook", (_case, xFlags) => {
    // 0123456789
    // PPPNNNXXX     (N has a close hook)
    //    AAA
    const mm = createMm(factory);
    const p = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    const n = allocAndLinkVma(mm, 0x3000, 0x6000, 3, RO, { vmOps: { close: () => {} } });
    allocAndLinkVma(mm, 0x6000, 0x9000, 6, xFlags);
    const vma = vmaMerge(mm, p, 0x3000, 0x6000, VM_RW, null, null, 3, null, null);
    mm.tree.validate();
    expect(vma).toBeNull();
    expect(p.vmEnd).toBe(0x3000);
    expect(n.vmStart).toBe(0x3000);
    expect(n.vmEnd).toBe(0x6000);
    expect(mm.tree.mapCount).toBe(3);
  });

  it("merges back-to-back top-down mmaps into one VMA (mmap_region pattern)", () => {
    // 0123456789abcdef
    //             ****  then ****, then ****: one VMA
    const mm = createMm(factory);
    const base = 0x10000;
    for (let i = 0; i < 4; i++) {
      const start = base - (i + 1) * 0x4000;
      tryMergeNewVma(mm, start, start + 0x4000, start / 0x1000, VM_RW);
      mm.tree.validate();
    }
    const only = mm.tree.first() as Vma;
    expect(only.vmStart).toBe(0x0000);
    expect(only.vmEnd).toBe(0x10000);
    expect(only.vmPgoff).toBe(0);
    expect(mm.tree.mapCount).toBe(1);
    expect(cleanupMm(mm)).toBe(1);
  });
});

describe.each(TREES)("__split_vma / split_vma on the %s tree", (_name, factory) => {
  it.each([
    // newBelow, original [start, end) pgoff, new [start, end) pgoff
    [false, 0x2000, 0x5000, 0x12, 0x5000, 0x9000, 0x15],
    [true, 0x5000, 0x9000, 0x15, 0x2000, 0x5000, 0x12],
  ] as const)(
    "newBelow=%s: the original keeps [%i, %i) pgoff %i, the new VMA gets [%i, %i) pgoff %i",
    (newBelow, oStart, oEnd, oPgoff, nStart, nEnd, nPgoff) => {
      // 0123456789
      //   VVVVVVV     split at 5
      const mm = createMm(factory);
      const anonVma = allocAnonVma();
      const v = allocAndLinkVma(mm, 0x2000, 0x9000, 0x12, VM_RW, { anonVma });
      const created = __splitVma(mm, v, 0x5000, newBelow) as Vma;
      mm.tree.validate();
      expect(typeof created).toBe("object");
      expect(created).not.toBe(v);
      expect(created.anonVma).toBe(anonVma);
      expect(created.vmFlags).toBe(VM_RW);
      expect(mm.tree.vmaLookup(newBelow ? 0x2000 : 0x8000)).toBe(created);
      expect([v.vmStart, v.vmEnd, v.vmPgoff]).toEqual([oStart, oEnd, oPgoff]);
      expect([created.vmStart, created.vmEnd, created.vmPgoff]).toEqual([nStart, nEnd, nPgoff]);
      expect(mm.tree.mapCount).toBe(2);
    },
  );

  it("split_vma refuses with -ENOMEM at max_map_count; __split_vma does not check", () => {
    // 0123456789
    // AAA BBB       max_map_count = 2
    const mm = createMm(factory, 2);
    const a = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    allocAndLinkVma(mm, 0x4000, 0x7000, 4, VM_RW);
    const refused = splitVma(mm, a, 0x1000, false);
    mm.tree.validate();
    expect(refused).toBe(-ENOMEM);
    expect(a.vmEnd).toBe(0x3000);
    expect(mm.tree.mapCount).toBe(2);
    const forced = __splitVma(mm, a, 0x1000, false) as Vma;
    mm.tree.validate();
    expect(a.vmEnd).toBe(0x1000);
    expect(forced.vmStart).toBe(0x1000);
    expect(forced.vmPgoff).toBe(1);
    expect(mm.tree.mapCount).toBe(3);
  });

  it("split_vma succeeds one below the limit", () => {
    // 0123
    // AAA           max_map_count = 2
    const mm = createMm(factory, 2);
    const a = allocAndLinkVma(mm, 0x0000, 0x3000, 0, VM_RW);
    const b = splitVma(mm, a, 0x2000, true) as Vma;
    mm.tree.validate();
    expect(b.vmStart).toBe(0x0000);
    expect(b.vmEnd).toBe(0x2000);
    expect(a.vmStart).toBe(0x2000);
    expect(a.vmPgoff).toBe(2);
    expect(mm.tree.mapCount).toBe(2);
    expect(splitVma(mm, b, 0x1000, false)).toBe(-ENOMEM);
  });

  it("vm_ops->split can veto; vm_ops->open sees the new VMA", () => {
    // 0123456789
    // VVVVVV
    const mm = createMm(factory);
    const opened: Vma[] = [];
    const veto = {
      split: (_v: Vma, addr: number) => (addr === 0x1000 ? -EINVAL : 0),
      open: (v: Vma) => opened.push(v),
    };
    const v = allocAndLinkVma(mm, 0x0000, 0x6000, 0, VM_RW, { vmOps: veto });
    expect(splitVma(mm, v, 0x1000, false)).toBe(-EINVAL);
    const created = splitVma(mm, v, 0x4000, false) as Vma;
    mm.tree.validate();
    expect(opened).toEqual([created]);
    expect(v.vmEnd).toBe(0x4000);
    expect(created.vmStart).toBe(0x4000);
    expect(created.vmPgoff).toBe(4);
    expect(mm.tree.mapCount).toBe(2);
  });

  it("throws on a split address outside the VMA or unaligned", () => {
    const mm = createMm(factory);
    const v = allocAndLinkVma(mm, 0x1000, 0x3000, 1, VM_RW);
    expect(() => __splitVma(mm, v, 0x1000, false)).toThrow(RangeError);
    expect(() => __splitVma(mm, v, 0x3000, false)).toThrow(RangeError);
    expect(() => __splitVma(mm, v, 0x1800, true)).toThrow(RangeError);
    mm.tree.validate();
    expect(mm.tree.mapCount).toBe(1);
  });

  it("munmap-style hole punch: split twice, erase the middle (4.19 identities)", () => {
    // 0123456789
    // VVVVVVVVV     unmap [3, 6)
    // VVV   VVV
    const mm = createMm(factory);
    const v = allocAndLinkVma(mm, 0x0000, 0x9000, 0, VM_RW);
    const middle = __splitVma(mm, v, 0x3000, false) as Vma; // original keeps [0, 3)
    const tail = __splitVma(mm, middle, 0x6000, true) as Vma; // new part below: [3, 6)
    mm.tree.erase(tail);
    mm.tree.validate();
    expect(rulerOf(mm.tree, 10, { V: v, M: middle })).toBe("VVV   MMM");
    expect([v.vmStart, v.vmEnd, v.vmPgoff]).toEqual([0x0000, 0x3000, 0]);
    expect([middle.vmStart, middle.vmEnd, middle.vmPgoff]).toEqual([0x6000, 0x9000, 6]);
    expect([tail.vmStart, tail.vmEnd, tail.vmPgoff]).toEqual([0x3000, 0x6000, 3]);
    expect(mm.tree.mapCount).toBe(2);
  });
});

describe("mergeability predicates", () => {
  it("isMergeableVma compares flags (minus VM_SOFTDIRTY), file, close and uffd ctx", () => {
    const file = { path: "/lib/libc.so.6", ino: 42 };
    const uffd = {};
    const v = allocVma(0x1000, 0x2000, 1, VM_RW, { vmFile: file, vmUserfaultfdCtx: uffd });
    expect(isMergeableVma(v, file, VM_RW, uffd)).toBe(true);
    expect(isMergeableVma(v, file, VM_RW | VM_SOFTDIRTY, uffd)).toBe(true);
    expect(isMergeableVma(v, file, vmFlagsOf(VM_RW, VM_MERGEABLE), uffd)).toBe(false);
    expect(isMergeableVma(v, { path: "/lib/libc.so.6", ino: 42 }, VM_RW, uffd)).toBe(false);
    expect(isMergeableVma(v, file, VM_RW, null)).toBe(false);
    const c = allocVma(0x1000, 0x2000, 1, VM_RW, { vmOps: { close: () => {} } });
    expect(isMergeableVma(c, null, VM_RW, null)).toBe(false);
  });

  it("isMergeableAnonVma follows the list_is_singular rule", () => {
    const a = allocAnonVma();
    const b = allocAnonVma();
    const single = allocVma(0, 0x1000, 0, VM_RW, { anonVma: a });
    const forked = allocVma(0, 0x1000, 0, VM_RW, { anonVma: a, anonVmaChainLength: 3 });
    const bare = allocVma(0, 0x1000, 0, VM_RW);
    expect(single.anonVmaChainLength).toBe(1);
    expect(bare.anonVmaChainLength).toBe(0);
    expect(isMergeableAnonVma(null, a, null)).toBe(true);
    expect(isMergeableAnonVma(null, a, single)).toBe(true);
    expect(isMergeableAnonVma(null, a, forked)).toBe(false);
    expect(isMergeableAnonVma(b, null, bare)).toBe(false); // empty chain is not singular
    expect(isMergeableAnonVma(null, null, bare)).toBe(true); // ... but NULL == NULL
    expect(isMergeableAnonVma(a, a, forked)).toBe(true);
    expect(isMergeableAnonVma(a, b, null)).toBe(false);
  });

  it("canVmaMergeBefore/After check pgoff continuity", () => {
    const v = allocVma(0x4000, 0x6000, 10, VM_RW);
    expect(canVmaMergeAfter(v, VM_RW, null, null, 12, null)).toBe(true);
    expect(canVmaMergeAfter(v, VM_RW, null, null, 11, null)).toBe(false);
    expect(canVmaMergeBefore(v, VM_RW, null, null, 10, null)).toBe(true);
    expect(canVmaMergeBefore(v, VM_RW, null, null, 9, null)).toBe(false);
    expect(canVmaMergeBefore(v, RO, null, null, 10, null)).toBe(false);
  });
});
