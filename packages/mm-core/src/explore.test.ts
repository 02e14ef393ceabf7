/**
 * The schedule explorer on the 246c320a8cfe scenario: it finds the stack-expansion race under
 * the strategies that downgrade next to a growing stack (zapRlock, v4.20) and nothing under
 * those that do not (classic, v5.8, perVmaLock), with fixed seeds.
 */
import { describe, expect, it } from "vitest";
import {
  type ExploreScenario,
  explore,
  exploreScenario,
  formatExploreResult,
  registerExploreScenario,
  replay,
  replayCommand,
  runSchedule,
} from "./explore.js";
import { sysMmap } from "./mmap.js";
import { sysMunmap } from "./sys-munmap.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./uapi.js";

describe("explore: stack expansion into a range being unmapped (246c320a8cfe)", () => {
  for (const strategy of ["zapRlock", "v4.20"]) {
    it(`${strategy}: finds the lost stack page at seed 20 and replays it`, () => {
      const r = explore({ scenario: "stack-expansion", strategy, schedules: 1000 });
      const f = r.failure;
      expect(f).not.toBeNull();
      if (f === null) return;
      expect(r.schedules).toBe(20);
      expect(f.replay).toEqual({
        scenario: "stack-expansion",
        strategy,
        seed: 20,
        jitter: 0.5,
        shuffleTies: true,
        cost: "e5-2680-v4.18",
      });
      expect(f.kind).toBe("lost-page");
      expect(f.message).toMatch(
        /^worker:4001 wrote frame 0x[0-9a-f]+ at 0x7ffffffdc000 through the live VMA \[0x7ffffffdc000, 0x7ffffffff000\), which now has no page any more/,
      );
      // The interleaving, in order: detach, downgrade, the fault expands the stack into the
      // detached range and maps a page, then the zap under the read lock clears it.
      const order = [
        "main:4000      mmap_sem: acquired write",
        "main:4000      VMA #",
        "main:4000      mmap_sem: downgrade_write()",
        "main:4000      enter unmap_region",
        "worker:4001    mmap_sem: acquired read",
        "worker:4001    VMA #",
        "worker:4001    write 0x7ffffffdc000 (fault, stack below vm_start)",
        "main:4000      PTE 0x7ffffffdc000: frame",
      ];
      let at = -1;
      for (const want of order) {
        const i = f.trace.findIndex((l, j) => j > at && l.includes(want));
        expect(i, `trace line "${want}" after line ${at}:\n${f.trace.join("\n")}`).toBeGreaterThan(
          at,
        );
        at = i;
      }
      expect(f.trace[0]).toContain("mmap_sem: acquired write");
      // Replaying the seed gives the same failure at the same virtual time.
      const again = replay(f.replay);
      expect(again.failure?.message).toBe(f.message);
      expect(again.failure?.time).toBe(f.time);
      expect(replayCommand(f.replay)).toBe(
        `mmlab-bench explore --scenario stack-expansion --strategy ${strategy} --seed 20 --schedules 1 --jitter 0.5 --cost e5-2680-v4.18`,
      );
      expect(formatExploreResult(r)).toContain("FAILED at schedule seed 20");
    });
  }

  for (const strategy of ["classic", "v5.8", "perVmaLock"]) {
    it(`${strategy}: nothing in 300 schedules`, () => {
      const r = explore({ scenario: "stack-expansion", strategy, schedules: 300 });
      expect(r.failure).toBeNull();
      expect(r.schedules).toBe(300);
      expect(r.steps).toBeGreaterThan(300 * 30);
      expect(formatExploreResult(r)).toMatch(/300 schedule\(s\), \d+ steps checked: no violation/);
    });
  }

  it("a schedule is a pure function of its spec", () => {
    const spec = {
      scenario: "stack-expansion",
      strategy: "classic",
      seed: 7,
      jitter: 0.5,
      shuffleTies: true,
      cost: "e5-2680-v4.18",
    };
    const a = runSchedule(spec, true);
    const b = runSchedule(spec, true);
    expect(a.failure).toBeNull();
    expect(a.trace).toEqual(b.trace);
    expect(a.trace.length).toBeGreaterThan(20);
  });
});

describe("explore: other outcomes and misuse", () => {
  it("reports a deadlock (a task that never finishes) and an invariant break", () => {
    const stuck: ExploreScenario = {
      name: "test-deadlock",
      description: "a thread takes mmap_sem for write and never releases it",
      setup(ctx) {
        const proc = ctx.process({ comm: "p" });
        ctx.spawn(proc, "holder", function* () {
          yield* proc.mm.mmapSem.downWrite();
        });
        ctx.spawn(proc, "reader", function* () {
          yield* proc.mm.mmapSem.downRead();
          proc.mm.mmapSem.upRead();
        });
      },
    };
    const r = explore({ scenario: stuck, strategy: "classic", schedules: 3 });
    expect(r.failure?.kind).toBe("deadlock");
    expect(r.failure?.message).toMatch(/holder:\d+, reader:\d+ never finished|reader:\d+ never/);
    expect(exploreScenario("test-deadlock")).toBe(stuck);
    expect(() => registerExploreScenario(stuck)).toThrow(/already exists/);

    const broken: ExploreScenario = {
      name: "test-invariant",
      description: "total_vm goes wrong behind the model's back",
      setup(ctx) {
        const proc = ctx.process({ comm: "p" });
        ctx.spawn(proc, "t", function* () {
          const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
          yield* sysMmap(proc.mm, 0x10000000, 8192, PROT_READ | PROT_WRITE, flags);
          proc.mm.totalVm += 1;
          yield* sysMunmap(proc.mm, 0x10000000, 4096);
        });
      },
    };
    const b = explore({ scenario: broken, strategy: "v4.20", schedules: 2 });
    expect(b.failure?.kind).toBe("invariant");
    expect(b.failure?.message).toContain("total_vm");
    expect(b.schedules).toBe(1);
  });

  it("rejects bad options", () => {
    expect(() => explore({ scenario: "nope", strategy: "classic" })).toThrow(
      /unknown explore scenario "nope"/,
    );
    expect(() => explore({ scenario: "stack-expansion", strategy: "nope" })).toThrow(RangeError);
    expect(() =>
      explore({ scenario: "stack-expansion", strategy: "classic", schedules: 0 }),
    ).toThrow(/positive integer/);
    expect(() =>
      explore({ scenario: "stack-expansion", strategy: "classic", schedules: 1, jitter: 2 }),
    ).toThrow(/jitter/);
  });
});
