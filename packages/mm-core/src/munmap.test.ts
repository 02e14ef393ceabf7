import {
  VM_LOCKED,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
  Vma,
  vmFlagsHas,
  vmFlagsOf,
} from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { EINVAL, ENOMEM } from "./errno.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMlock } from "./mlock.js";
import { sysMmap } from "./mmap.js";
import { sysMunmap } from "./sys-munmap.js";
import { allocMm, GiB, layout, MiB, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const P = PAGE_SIZE;
/** Where the tests put their mappings: page 0 of the rulers below. */
const A0 = 0x600000000;

const strategies = ["classic", "zapRlock"] as const;
const trees = ["rb", "maple"] as const;
const matrix = strategies.flatMap((s) => trees.map((t) => [s, t] as const));

/** Helper function to map `pages` pages at ruler page `at`, populated, with `prot`. */
function* mapAt(mm: ReturnType<typeof allocMm>["mm"], at: number, pages: number, prot = RW) {
  return yield* sysMmap(mm, A0 + at * P, pages * P, prot, ANON | MAP_FIXED | MAP_POPULATE);
}

describe.each(matrix)("munmap, %s strategy, %s tree", (strategy, tree) => {
  it.each([
    ["an unaligned start", A0 + 1, P],
    ["len 0", A0, 0],
    ["a start above TASK_SIZE", 2 ** 47, P],
    ["a range running past TASK_SIZE", 2 ** 47 - 2 * P, 3 * P],
    ["a negative length", A0, -1],
  ])("rejects %s with -EINVAL and changes nothing", (_name, addr, len) => {
    const { sim, mm } = allocMm({ tree, munmap: strategy });
    runChecked(sim, mm, () => mapAt(mm, 0, 4));
    expect(runChecked(sim, mm, () => sysMunmap(mm, addr, len))).toBe(-EINVAL);
    expect(layout(mm)).toEqual(["600000000-600004000"]);
    expect(mm.pt.rss.anon).toBe(4);
  });

  it("succeeds with nothing mapped in the range, changing nothing", () => {
    const { sim, mm } = allocMm({ tree, munmap: strategy });
    runChecked(sim, mm, () => mapAt(mm, 0, 4));
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 8 * P, 4 * P))).toBe(0);
    expect(layout(mm)).toEqual(["600000000-600004000"]);
  });

  it("punches a hole in one VMA, rounding len up to a page", () => {
    const { sim, mm } = allocMm({ tree, munmap: strategy });
    // 0123456789
    // AAAAAAAAAA
    //    ***        munmap(3, 2.5 pages) -> pages 3,4,5
    runChecked(sim, mm, () => mapAt(mm, 0, 10));
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 3 * P, 2.5 * P))).toBe(0);
    expect(layout(mm)).toEqual(["600000000-600003000", "600006000-60000a000"]);
    const [low, high] = mm.vmas();
    expect(low?.vmPgoff).toBe(A0 / P);
    expect(high?.vmPgoff).toBe(A0 / P + 6);
    expect(mm.mapCount).toBe(2);
    expect(mm.pt.rss.anon).toBe(7);
    expect(mm.totalVm).toBe(7);
  });

  it("trims two VMAs and removes the ones between, across holes", () => {
    const { sim, mm } = allocMm({ tree, munmap: strategy });
    // 0123456789abcdef
    // AAAA BB CC DDDD
    //   **********        munmap(2, 10 pages)
    runChecked(sim, mm, () => mapAt(mm, 0, 4));
    runChecked(sim, mm, () => mapAt(mm, 5, 2, PROT_READ));
    runChecked(sim, mm, () => mapAt(mm, 8, 2));
    runChecked(sim, mm, () => mapAt(mm, 11, 4, PROT_READ));
    expect(mm.mapCount).toBe(4);
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 2 * P, 10 * P))).toBe(0);
    expect(layout(mm)).toEqual(["600000000-600002000", "60000c000-60000f000"]);
    expect(mm.vmas()[1]?.vmPgoff).toBe(A0 / P + 12);
    // A keeps 2 private pages; D is read-only, populated with the zero page, which is no rss.
    expect(mm.pt.rss.anon).toBe(2);
  });

  it("fails a hole punch at max_map_count with -ENOMEM, changing nothing", () => {
    const { sim, mm } = allocMm({ tree, munmap: strategy, maxMapCount: 2 });
    // 0123456789
    // AAAA BBBB
    //  **          would leave three VMAs
    runChecked(sim, mm, () => mapAt(mm, 0, 4));
    runChecked(sim, mm, () => mapAt(mm, 5, 4));
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + P, 2 * P))).toBe(-ENOMEM);
    expect(layout(mm)).toEqual(["600000000-600004000", "600005000-600009000"]);
    // Unmapping a head is fine at the limit: the count does not grow.
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0, 2 * P))).toBe(0);
    expect(layout(mm)).toEqual(["600002000-600004000", "600005000-600009000"]);
  });

  it("gives back locked_vm for mlocked ranges", () => {
    const { sim, mm } = allocMm({ tree, munmap: strategy, capIpcLock: true });
    runChecked(sim, mm, () => mapAt(mm, 0, 8));
    expect(runChecked(sim, mm, () => sysMlock(mm, A0 + 2 * P, 4 * P))).toBe(0);
    expect(mm.lockedVm).toBe(4);
    // 01234567
    // AALLLLAA
    //    ****     unmap the upper half of the locked part and more
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 4 * P, 4 * P))).toBe(0);
    expect(mm.lockedVm).toBe(2);
    expect(
      mm
        .vmas()
        .filter((v) => vmFlagsHas(v.vmFlags, VM_LOCKED))
        .map((v) => v.vmEnd - v.vmStart),
    ).toEqual([2 * P]);
  });

  it("frees the page tables a whole unmapped region owned, and keeps shared ones", () => {
    const { sim, mm } = allocMm({ tree, munmap: strategy, physBytes: 2 * GiB });
    const base = 0x700000000; // 1 GiB aligned
    runChecked(sim, mm, () => sysMmap(mm, base, 64 * MiB, RW, ANON | MAP_FIXED | MAP_POPULATE));
    expect(mm.pt.nrPtes).toBe(32);
    // Unmap the middle 32 MiB: its 16 PTE tables go, the PMD table stays (neighbours share it).
    expect(runChecked(sim, mm, () => sysMunmap(mm, base + 16 * MiB, 32 * MiB))).toBe(0);
    expect(mm.pt.nrPtes).toBe(16);
    expect(mm.pt.nrPmds).toBe(1);
    expect(runChecked(sim, mm, () => sysMunmap(mm, base, 64 * MiB))).toBe(0);
    expect(mm.pt.nrPtes).toBe(0);
    expect(mm.pt.nrPmds).toBe(0);
    expect(mm.pt.rss.anon).toBe(0);
  });
});

describe("special mappings under zapRlock", () => {
  it("VM_PFNMAP falls back to the classic path: no downgrade, everything exclusive", () => {
    const { sim, mm } = allocMm({ munmap: "zapRlock" });
    const pfnmap = new Vma({
      vmStart: A0,
      vmEnd: A0 + 4 * P,
      vmFlags: vmFlagsOf(VM_READ, VM_WRITE, VM_MAYREAD, VM_MAYWRITE, VM_PFNMAP),
      vmPgoff: 0,
    });
    mm.tree.insert(pfnmap);
    mm.totalVm += 4;
    mm.dataVm += 4;
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0, 4 * P))).toBe(0);
    expect(mm.mapCount).toBe(0);
    const holds = mm.mmapSem.history;
    expect(holds.at(-1)?.mode).toBe("write");
    expect(Number.isNaN(holds.at(-1)?.downgradedAt)).toBe(true);
  });
});
