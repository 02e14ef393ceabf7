/**
 * The generic `random` workload with fixed seeds: it knows no bug, yet under v6.3 it runs into
 * StackRot (a fault grows the stack under the read lock while another thread's find_vma walk
 * is in the leaf, and the leaf is full, so the growth takes mas_wr_modify()'s slow path and
 * replaces it), and replays deterministically.
 */
import { describe, expect, it } from "vitest";
import { explore, exploreScenarios, runSchedule } from "../explore.js";
import { RANDOM_SCENARIO, randomScenario } from "./random.js";

describe("random: a seeded generic workload on c-mm's real layout", () => {
  it("v6.3: StackRot at seed 6, a grown stack's full leaf replaced and freed under a find_vma walk", () => {
    const r = explore({ scenario: RANDOM_SCENARIO, strategy: "v6.3", schedules: 20 });
    expect(r.schedules).toBe(6);
    expect(r.failure?.kind).toBe("maple-node-use-after-free");
    expect(r.failure?.message).toMatch(
      /^@mmlab\/vma-tree: maple leaf \d+ use-after-free: t\d:400\d in do_user_addr_fault\(\) -> find_vma\(\) read it after it was freed \(it was replaced by leaf \d+ in a write by t\d:400\d in expand_downwards\(\) \(mm\/mmap.c\) -> mas_store_prealloc\(\) -> mas_wr_bnode\(\)/,
    );
  }, 60_000);

  it("is deterministic and keeps every invariant under v6.5 (seeds 1-2)", () => {
    const spec = {
      scenario: "random",
      strategy: "v6.5",
      seed: 1,
      jitter: 0.5,
      shuffleTies: true,
      cost: "e5-2680-v4.18",
    };
    const a = runSchedule(spec, true);
    expect(a.failure).toBeNull();
    expect(a.trace).toEqual(runSchedule(spec, true).trace);
    expect(a.trace.some((l) => / t\d:400\d +mmap_sem: acquired write/.test(l))).toBe(true);
    expect(runSchedule({ ...spec, seed: 2 }).failure).toBeNull();
  }, 60_000);

  it("is opt-in, and its factory checks its counts", () => {
    expect(exploreScenarios().find((s) => s.name === "random")?.optIn).toBe(true);
    expect(randomScenario({ name: "random-2x3", threads: 2, ops: 3 }).description).toMatch(
      /^2 threads, 3 seeded operations each/,
    );
    expect(() => randomScenario({ threads: 0 })).toThrow(RangeError);
    expect(() => randomScenario({ ops: 1.5 })).toThrow(RangeError);
  });
});
