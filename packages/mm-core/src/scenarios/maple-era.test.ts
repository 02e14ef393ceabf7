/**
 * The maple-tree era under the explorer, with fixed seeds: the 6.1 stack/maple inconsistency
 * (stack-guard-gone) and StackRot (stackrot) are found where the kernels had them and not
 * after 8d7071af8907 (v6.5); the rb-tree strategies say the scenarios do not apply.
 */
import { Sim } from "@mmlab/sched";
import { MapleVmaTree } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { explore, formatExploreResult, replay, runSchedule } from "../explore.js";
import { lockMmAndFindVma } from "../fault.js";
import { PAGE_SIZE } from "../layout.js";
import { simRcu } from "../maple-hooks.js";
import { Process } from "../process.js";
import { validateMm } from "../validate.js";
import { STACK_GUARD_GONE_SCENARIO } from "./stack-guard-gone.js";
import { STACKROT_SCENARIO } from "./stackrot.js";

const NONE_IN = 20; // schedules of the "not found" checks (the bench runs 10,000)

describe("stack-guard-gone (syzbot, fixed by 3dd4432549415f)", () => {
  it("v6.1: a reader's leaf is rewritten in place under it (seed 15)", () => {
    const r = explore({ scenario: STACK_GUARD_GONE_SCENARIO, strategy: "v6.1", schedules: 100 });
    expect(r.schedules).toBe(15);
    expect(r.failure?.kind).toBe("maple-node-rewritten");
    expect(r.failure?.message).toMatch(
      /^@mmlab\/vma-tree: maple leaf 1 rewritten under a walker: reader1:4002 in m_next\(\) -> find_vma\(\) entered it, then read it after it was rewritten in place by grower:4000 in expand_downwards\(\) \(mm\/mmap.c\) -> mas_store_prealloc\(\)/,
    );
    const trace = r.failure?.trace ?? [];
    expect(trace[0]).toMatch(/reader1:4002 +find_vma\(0x[0-9a-f]+\) from m_next\(\): walk enters/);
    expect(trace.some((l) => /grower:4000 +maple leaf 1 rewritten in place/.test(l))).toBe(true);
  }, 60_000);

  it("v6.3: RCU mode, but the readers hold no rcu_read_lock: use-after-free (seed 3)", () => {
    const r = explore({ scenario: STACK_GUARD_GONE_SCENARIO, strategy: "v6.3", schedules: 100 });
    expect(r.schedules).toBe(3);
    expect(r.failure?.kind).toBe("maple-node-use-after-free");
    // the growths that leave a NULL below the stack stay in place (mas_wr_slot_store); the
    // last one consumes the NULL: mas_wr_node_store() builds a new leaf
    expect(r.failure?.message).toContain("replaced by leaf");
    expect(r.failure?.message).toContain("mas_store_prealloc() -> mas_wr_node_store()");
    expect(r.failure?.message).toContain("then freed after a grace period (mt_free_rcu)");
  }, 60_000);

  it(`v6.5: nothing in ${NONE_IN} schedules; rb-tree strategies do not apply`, () => {
    const r = explore({
      scenario: STACK_GUARD_GONE_SCENARIO,
      strategy: "v6.5",
      schedules: NONE_IN,
    });
    expect(r.failure).toBeNull();
    expect(r.schedules).toBe(NONE_IN);
    for (const s of ["classic", "zapRlock", "v4.20", "v5.8", "perVmaLock"]) {
      const na = explore({ scenario: STACK_GUARD_GONE_SCENARIO, strategy: s, schedules: 5 });
      expect(na.schedules).toBe(0);
      expect(na.notApplicable).toBe("rb-tree: this strategy has no maple nodes to walk");
      expect(formatExploreResult(na)).toBe(
        `stack-guard-gone under ${s}: does not apply (rb-tree: this strategy has no maple nodes to walk)`,
      );
    }
  }, 60_000);
});

describe("stackrot (CVE-2023-3269, fixed by 8d7071af8907)", () => {
  it("v6.3: the full leaf takes the slow path, the old leaf is freed by RCU under the reader (seed 1)", () => {
    const r = explore({ scenario: STACKROT_SCENARIO, strategy: "v6.3", schedules: 100 });
    expect(r.schedules).toBe(1);
    const f = r.failure;
    expect(f?.kind).toBe("maple-node-use-after-free");
    expect(f?.message).toMatch(
      /^@mmlab\/vma-tree: maple leaf 2 use-after-free: reader:4001 in m_next\(\) -> find_vma\(\) read it after it was freed \(it was replaced by leaf \d+ in a write by grower:4000 in expand_downwards\(\) \(mm\/mmap.c\) -> mas_store_prealloc\(\) -> mas_wr_bnode\(\), then freed after a grace period \(mt_free_rcu\)\)/,
    );
    // the trace: the reader enters the leaf, the grower replaces it, RCU frees it
    const t = (f?.trace ?? []).join("\n");
    expect(t).toMatch(/reader:4001 +find_vma\(0x[0-9a-f]+\): walk descends to leaf 2/);
    expect(t).toMatch(
      /grower:4000 +maple leaf 2 replaced by leaf \d+ \(RCU mode, mas_wr_bnode\(\)\)/,
    );
    expect(t).toMatch(/rcu_preempt:\d+ +rcu: mt_free_rcu\(\) frees maple leaf 2/);
  }, 60_000);

  it("the scenario fills the stack's leaf: 15 ranges in the right-most leaf (node_size 16)", () => {
    const r = runSchedule(
      {
        scenario: "stackrot",
        strategy: "v6.3",
        seed: 1,
        jitter: 0.5,
        shuffleTies: true,
        cost: "e5-2680-v4.18",
      },
      true,
    );
    // every growth of the stack is a store the kernel cannot do in place: each one replaces
    const grows = r.trace.filter((l) => /grower:4000 +VMA #1 .* GROWSDOWN now/.test(l)).length;
    const replaced = r.trace.filter((l) =>
      /grower:4000 +maple leaf \d+ replaced by leaf \d+ \(RCU mode, mas_wr_bnode\(\)\)/.test(l),
    ).length;
    expect(grows).toBeGreaterThan(0);
    expect(replaced).toBe(grows);
  }, 60_000);

  it(`v6.1 (a pivot moves in place) and v6.5 (write lock): nothing in ${NONE_IN} schedules`, () => {
    for (const strategy of ["v6.1", "v6.5"]) {
      const r = explore({ scenario: STACKROT_SCENARIO, strategy, schedules: NONE_IN });
      expect(r.failure).toBeNull();
    }
  }, 60_000);

  it("replay is deterministic: the same seed gives the same trace and failure", () => {
    const spec = {
      scenario: "stackrot",
      strategy: "v6.3",
      seed: 1,
      jitter: 0.5,
      shuffleTies: true,
      cost: "e5-2680-v4.18",
    };
    const a = replay(spec);
    const b = replay(spec);
    expect(a.failure?.message).toBe(b.failure?.message);
    expect(a.trace).toEqual(b.trace);
    const quiet = runSchedule({ ...spec, strategy: "v6.5", seed: 3 }, true);
    expect(quiet.failure).toBeNull();
    expect(quiet.trace).toEqual(runSchedule({ ...spec, strategy: "v6.5", seed: 3 }, true).trace);
  }, 60_000);
});

describe("v6.5 lock_mm_and_find_vma() (8d7071af8907)", () => {
  it("grows a stack under the write lock, then downgrades; the old leaf is RCU-freed", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const proc = new Process(sim, { comm: "p", munmap: "v6.5" });
    const mm = proc.mm;
    expect(mm.tree).toBeInstanceOf(MapleVmaTree);
    expect((mm.tree as MapleVmaTree).mt.inRcu).toBe(true);
    const stack = mm.vmas().at(-1);
    if (stack === undefined) throw new Error("no stack");
    const start = stack.vmStart;
    const events: string[] = [];
    sim.subscribe((ev) => {
      if (ev.type === "lock-downgrade") events.push(`${ev.lock} downgrade`);
      else if (ev.type === "lock-acquire" || ev.type === "lock-release")
        events.push(`${ev.lock} ${ev.type} ${ev.mode}`);
    });
    let found: unknown = null;
    proc.spawnThread("t", function* () {
      found = yield* lockMmAndFindVma(mm, start - PAGE_SIZE);
      mm.mmapSem.upRead();
    });
    sim.run();
    expect(found).toBe(stack);
    expect(stack.vmStart).toBe(start - PAGE_SIZE);
    // mmap_lock: read, dropped, write; the VMA's own lock (vma_start_write) while it grows
    expect(events).toEqual([
      "mmap_sem lock-acquire read",
      "mmap_sem lock-release read",
      "mmap_sem lock-acquire write",
      "vm_lock lock-acquire write",
      "vm_lock lock-release write",
      "mmap_sem downgrade",
      "mmap_sem lock-release read",
    ]);
    while (sim.peek() !== Number.POSITIVE_INFINITY) sim.step(); // let RCU free the old leaf
    expect(simRcu(sim).pending).toBe(0);
    expect((mm.tree as MapleVmaTree).mt.retiredCounts()).toEqual({ leaves: 0, internal: 0 });
    validateMm(mm);
  }, 60_000);
});
