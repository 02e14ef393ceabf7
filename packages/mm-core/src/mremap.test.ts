/**
 * mremap(2): shrink (downgraded under v4.20+), grow in place, move with MREMAP_MAYMOVE and
 * MREMAP_FIXED (the frames move with their PTEs), and the errno paths of v4.19.
 * Rulers: one character per page from A = 0x10000000.
 */
import { describe, expect, it } from "vitest";
import { sysMlock } from "./mlock.js";
import { sysMmap } from "./mmap.js";
import { MREMAP_FIXED, MREMAP_MAYMOVE, sysMremap } from "./mremap.js";
import { allocMm, layout, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const P = 4096;
const A = 0x10000000;
const RW = PROT_READ | PROT_WRITE;
const FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const h = (a: number) => a.toString(16);
const EINVAL = -22;
const EFAULT = -14;
const ENOMEM = -12;
const EAGAIN = -11;

function frames(mm: ReturnType<typeof allocMm>["mm"], start: number, pages: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < pages; i++) out.push(mm.pt.followPage(start + i * P));
  return out;
}

describe("mremap", () => {
  it("shrinks: the tail is unmapped; under v4.20 with a downgrade, under classic without", () => {
    for (const [strategy, downgrades] of [
      ["classic", false],
      ["v4.20", true],
    ] as const) {
      const { sim, mm } = allocMm({ munmap: strategy });
      // |########|  ->  |###|
      runChecked(sim, mm, () => sysMmap(mm, A, 8 * P, RW, FIXED | MAP_POPULATE));
      expect(runChecked(sim, mm, () => sysMremap(mm, A, 8 * P, 3 * P, 0))).toBe(A);
      expect(layout(mm)).toEqual([`${h(A)}-${h(A + 3 * P)}`]);
      expect(mm.rss).toBe(3);
      expect(Number.isNaN(mm.mmapSem.history.at(-1)?.downgradedAt)).toBe(!downgrades);
      // old_len == new_len: nothing to do, the address comes back
      expect(runChecked(sim, mm, () => sysMremap(mm, A, 3 * P, 3 * P, 0))).toBe(A);
    }
  });

  it("grows in place when the VMA ends the old range and there is room", () => {
    const { sim, mm } = allocMm();
    // |####|....   ->   |########|
    runChecked(sim, mm, () => sysMmap(mm, A, 4 * P, RW, FIXED | MAP_POPULATE));
    const before = frames(mm, A, 4);
    expect(runChecked(sim, mm, () => sysMremap(mm, A, 4 * P, 8 * P, 0))).toBe(A);
    expect(layout(mm)).toEqual([`${h(A)}-${h(A + 8 * P)}`]);
    expect(frames(mm, A, 4)).toEqual(before);
    expect([mm.totalVm, mm.committedVm]).toEqual([8, 8]);
  });

  it("moves with MREMAP_MAYMOVE when blocked, keeping every frame; -ENOMEM without it", () => {
    const { sim, mm } = allocMm();
    // |####|B|   A grows into B: blocked
    runChecked(sim, mm, () => sysMmap(mm, A, 4 * P, RW, FIXED | MAP_POPULATE));
    runChecked(sim, mm, () => sysMmap(mm, A + 4 * P, P, PROT_READ, FIXED));
    expect(runChecked(sim, mm, () => sysMremap(mm, A, 4 * P, 8 * P, 0))).toBe(ENOMEM);
    const before = frames(mm, A, 4);
    const to = runChecked(sim, mm, () => sysMremap(mm, A, 4 * P, 8 * P, MREMAP_MAYMOVE));
    expect(to).not.toBe(A);
    expect(to % P).toBe(0);
    //   .....|B|  ...  |####....|  at the top-down address
    expect(layout(mm)).toEqual([`${h(A + 4 * P)}-${h(A + 5 * P)}`, `${h(to)}-${h(to + 8 * P)}`]);
    expect(frames(mm, to, 4)).toEqual(before);
    expect(frames(mm, to + 4 * P, 4)).toEqual([-1, -1, -1, -1]);
    expect(frames(mm, A, 4)).toEqual([-1, -1, -1, -1]);
    expect([mm.totalVm, mm.committedVm, mm.rss]).toEqual([9, 8, 4]);
  });

  it("MREMAP_FIXED moves the middle of a VMA onto an existing mapping, which is unmapped first", () => {
    const { sim, mm } = allocMm();
    const D = A + 64 * P;
    // A: |########|        D: |xx|
    runChecked(sim, mm, () => sysMmap(mm, A, 8 * P, RW, FIXED | MAP_POPULATE));
    runChecked(sim, mm, () => sysMmap(mm, D, 2 * P, RW, FIXED | MAP_POPULATE));
    const mid = frames(mm, A + 2 * P, 3);
    const r = runChecked(sim, mm, () =>
      sysMremap(mm, A + 2 * P, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, D),
    );
    expect(r).toBe(D);
    // A: |##...###|        D: |###|
    expect(layout(mm)).toEqual([
      `${h(A)}-${h(A + 2 * P)}`,
      `${h(A + 5 * P)}-${h(A + 8 * P)}`,
      `${h(D)}-${h(D + 3 * P)}`,
    ]);
    expect(frames(mm, D, 3)).toEqual(mid);
    expect([mm.totalVm, mm.committedVm, mm.rss]).toEqual([8, 8, 8]);
  });

  it("keeps VM_LOCKED and its locked_vm across a move", () => {
    const { sim, mm } = allocMm({ capIpcLock: true });
    runChecked(sim, mm, () => sysMmap(mm, A, 4 * P, RW, FIXED | MAP_POPULATE));
    runChecked(sim, mm, () => sysMmap(mm, A + 4 * P, P, PROT_READ, FIXED));
    runChecked(sim, mm, () => sysMlock(mm, A, 4 * P));
    const to = runChecked(sim, mm, () => sysMremap(mm, A, 4 * P, 6 * P, MREMAP_MAYMOVE));
    expect(mm.lockedVm).toBe(6);
    expect(mm.rss).toBe(6); // the grown part was populated after the unlock (mm_populate)
    expect(frames(mm, to, 6).every((f) => f >= 0)).toBe(true);
  });

  it("returns the kernel's errnos and changes nothing", () => {
    const { sim, mm } = allocMm();
    runChecked(sim, mm, () => sysMmap(mm, A, 4 * P, RW, FIXED | MAP_POPULATE));
    runChecked(sim, mm, () =>
      sysMmap(mm, A + 8 * P, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED),
    );
    const cases: Array<[string, () => ReturnType<typeof sysMremap>, number]> = [
      ["unknown flag", () => sysMremap(mm, A, P, 2 * P, 4), EINVAL],
      ["FIXED without MAYMOVE", () => sysMremap(mm, A, P, P, MREMAP_FIXED, A + 64 * P), EINVAL],
      ["unaligned addr", () => sysMremap(mm, A + 1, P, 2 * P, 0), EINVAL],
      ["new_len 0", () => sysMremap(mm, A, P, 0, 0), EINVAL],
      ["no VMA", () => sysMremap(mm, A + 32 * P, P, 2 * P, MREMAP_MAYMOVE), EFAULT],
      ["across the VMA end", () => sysMremap(mm, A + 2 * P, 4 * P, 8 * P, MREMAP_MAYMOVE), EFAULT],
      ["private old_len 0", () => sysMremap(mm, A, 0, P, MREMAP_MAYMOVE), EINVAL],
      [
        "FIXED overlapping",
        () => sysMremap(mm, A, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, A + 2 * P),
        EINVAL,
      ],
      ["FIXED unaligned", () => sysMremap(mm, A, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, 3), EINVAL],
      [
        "FIXED above TASK_SIZE",
        () => sysMremap(mm, A, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, mm.taskSize),
        EINVAL,
      ],
    ];
    const before = layout(mm);
    for (const [what, op, want] of cases) {
      expect([what, runChecked(sim, mm, op)]).toEqual([what, want]);
      expect(layout(mm)).toEqual(before);
    }
    // A shared mapping may be duplicated with old_len 0.
    const dup = runChecked(sim, mm, () => sysMremap(mm, A + 8 * P, 0, P, MREMAP_MAYMOVE));
    expect(dup).toBeGreaterThan(0);
    // old_len -1 (ULONG_MAX) rounds up to 0 in PAGE_ALIGN(): a private mapping can't be
    // duplicated with old_len 0 (vma_to_resize's -EINVAL).
    expect(runChecked(sim, mm, () => sysMremap(mm, A, -1, P, 0))).toBe(EINVAL);
    expect(layout(mm).length).toBe(3);
    expect(() => runChecked(sim, mm, () => sysMremap(mm, A, 1.5, P, 0))).toThrow(RangeError);
  });

  it("-EAGAIN when a locked VMA would outgrow RLIMIT_MEMLOCK", () => {
    const { sim, mm } = allocMm({ rlimits: { memlock: 4 * P } });
    runChecked(sim, mm, () => sysMmap(mm, A, 4 * P, RW, FIXED));
    runChecked(sim, mm, () => sysMlock(mm, A, 4 * P));
    expect(runChecked(sim, mm, () => sysMremap(mm, A, 4 * P, 5 * P, MREMAP_MAYMOVE))).toBe(EAGAIN);
    expect(mm.lockedVm).toBe(4);
  });
});
