/**
 * The fork-fault scenario under fixed seeds: 6.4.0's per-VMA-lock faults break the fork's
 * snapshot and lose a parent write into the child's page; the fix (fb49c455323f, `v6.4.y`)
 * and 4.19 (`classic`) keep both processes' contents intact. The 10,000-schedule runs are in
 * the README.
 */
import { describe, expect, it } from "vitest";
import { explore, formatExploreResult, replay } from "../explore.js";
import { FORK_FAULT_SCENARIO } from "./fork-fault.js";

const spec = (strategy: string, seed: number) => ({
  scenario: FORK_FAULT_SCENARIO.name,
  strategy,
  seed,
  jitter: 0.5,
  shuffleTies: true,
  cost: "e5-2680-v4.18",
});

describe("explore: fork-fault (the 6.4 fork race, fb49c455323f)", () => {
  it("perVmaLock (6.4.0): the first schedule already breaks the fork's snapshot", () => {
    const r = explore({ scenario: "fork-fault", strategy: "perVmaLock", schedules: 100 });
    expect(r.schedules).toBe(1);
    expect(r.failure?.kind).toBe("lost-write");
    expect(r.failure?.message).toMatch(
      /^when fork returned, the child read \d+ at 0x600001000 word 1 but the parent read \d+$/,
    );
    // writer-b's fault ran under the VMA lock while mmap_sem was held for write by the fork.
    const text = formatExploreResult(r);
    expect(text).toContain("writer-b:5002  vma_lock_fault");
    expect(text).toContain(
      "replay: mmlab-bench explore --scenario fork-fault --strategy perVmaLock --seed 1",
    );
  });

  it("perVmaLock, seed 2: a stale writable TLB entry writes the old page during wp_page_copy; the parent loses the write, the child gets it", () => {
    const out = replay(spec("perVmaLock", 2));
    expect(out.failure?.kind).toBe("lost-write");
    expect(out.failure?.message).toMatch(
      /^writer-a stored 57 at 0x600000000 word 0, but the parent now reads 55 there; the store went to frame 0x[0-9a-f]+, which the parent no longer maps but the child does \(mapcount 1\)$/,
    );
    // The fault that replaced the page ran under the VMA lock while fork held mmap_sem for
    // write (both the parent's and, nested, the child's: no release since).
    const sem = out.trace.filter((l) => l.includes("mmap_sem"));
    expect(sem.slice(-2).map((l) => l.slice(15))).toEqual([
      "main:5000      mmap_sem: acquired write",
      "main:5000      mmap_sem: acquired write",
    ]);
    expect(out.trace.at(-1)).toMatch(/writer-b:5002 {2}vma_lock_fault$/);
  });

  for (const strategy of ["v6.4.y", "classic"]) {
    it(`${strategy}: nothing in 40 schedules`, () => {
      const r = explore({ scenario: "fork-fault", strategy, schedules: 40 });
      expect(formatExploreResult(r)).toMatch(/: no violation found$/);
      expect(r.schedules).toBe(40);
    }, 120_000);
  }
});
