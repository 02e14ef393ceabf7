import { VM_LOCKED, vmFlagsHas } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { ENOMEM, EPERM } from "./errno.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMlock, sysMunlock } from "./mlock.js";
import { sysMmap } from "./mmap.js";
import { allocMm, layout, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const P = PAGE_SIZE;
const A0 = 0x600000000;

const locked = (mm: ReturnType<typeof allocMm>["mm"]) =>
  mm.vmas().map((v) => (vmFlagsHas(v.vmFlags, VM_LOCKED) ? "L" : "-"));

describe.each(["rb", "maple"] as const)("mlock and munlock, %s tree", (tree) => {
  it("locks the middle of a VMA: splits it, accounts locked_vm and populates the pages", () => {
    const { sim, mm } = allocMm({ tree, capIpcLock: true });
    // 01234567
    // AAAAAAAA
    //   ***       mlock(2.5, 3 pages) covers pages 2..5 once aligned
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON));
    expect(runChecked(sim, mm, () => sysMlock(mm, A0 + 2.5 * P, 3 * P))).toBe(0);
    expect(layout(mm)).toEqual([
      "600000000-600002000",
      "600002000-600006000",
      "600006000-600008000",
    ]);
    expect(locked(mm)).toEqual(["-", "L", "-"]);
    expect(mm.lockedVm).toBe(4);
    expect(mm.pt.rss.anon).toBe(4);
    // munlock does not merge them back: populating gave the middle VMA its own anon_vma,
    // and is_mergeable_anon_vma() refuses a neighbour whose anon_vma_chain is empty.
    expect(runChecked(sim, mm, () => sysMunlock(mm, A0 + 2 * P, 4 * P))).toBe(0);
    expect(layout(mm)).toHaveLength(3);
    expect(locked(mm)).toEqual(["-", "-", "-"]);
    expect(mm.lockedVm).toBe(0);
  });

  it("munlock merges the pieces back when they share one anon_vma", () => {
    const { sim, mm } = allocMm({ tree, capIpcLock: true });
    // Populated first: one anon_vma for the whole mapping, inherited by both splits.
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
    expect(runChecked(sim, mm, () => sysMlock(mm, A0 + 2 * P, 4 * P))).toBe(0);
    expect(locked(mm)).toEqual(["-", "L", "-"]);
    expect(runChecked(sim, mm, () => sysMunlock(mm, A0 + 2 * P, 4 * P))).toBe(0);
    expect(layout(mm)).toEqual(["600000000-600008000"]);
    expect(mm.lockedVm).toBe(0);
  });

  it("respects RLIMIT_MEMLOCK without CAP_IPC_LOCK", () => {
    const { sim, mm } = allocMm({ tree, rlimits: { memlock: 4 * P } });
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON));
    expect(runChecked(sim, mm, () => sysMlock(mm, A0, 5 * P))).toBe(-ENOMEM);
    expect(mm.lockedVm).toBe(0);
    expect(runChecked(sim, mm, () => sysMlock(mm, A0, 4 * P))).toBe(0);
    // Locking the same pages again does not count them twice.
    expect(runChecked(sim, mm, () => sysMlock(mm, A0, 4 * P))).toBe(0);
    expect(mm.lockedVm).toBe(4);
  });

  it("fails with -EPERM when RLIMIT_MEMLOCK is 0, and -ENOMEM across a hole", () => {
    const { sim, mm } = allocMm({ tree, rlimits: { memlock: 0 } });
    runChecked(sim, mm, () => sysMmap(mm, A0, 2 * P, RW, ANON));
    expect(runChecked(sim, mm, () => sysMlock(mm, A0, P))).toBe(-EPERM);
    const { sim: sim2, mm: mm2 } = allocMm({ tree, capIpcLock: true });
    runChecked(sim2, mm2, () => sysMmap(mm2, A0, 2 * P, RW, ANON));
    runChecked(sim2, mm2, () => sysMmap(mm2, A0 + 3 * P, 2 * P, RW, ANON));
    // The part before the hole is locked, as the kernel leaves it.
    expect(runChecked(sim2, mm2, () => sysMlock(mm2, A0, 5 * P))).toBe(-ENOMEM);
    expect(locked(mm2)).toEqual(["L", "-"]);
    expect(mm2.lockedVm).toBe(2);
  });

  it("a split that would exceed max_map_count fails with -ENOMEM", () => {
    const { sim, mm } = allocMm({ tree, capIpcLock: true, maxMapCount: 1 });
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON));
    expect(runChecked(sim, mm, () => sysMlock(mm, A0 + 2 * P, 2 * P))).toBe(-ENOMEM);
    expect(layout(mm)).toEqual(["600000000-600008000"]);
    expect(mm.lockedVm).toBe(0);
  });
});
