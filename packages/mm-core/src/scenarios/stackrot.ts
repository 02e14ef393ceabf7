/**
 * `stackrot`: StackRot (CVE-2023-3269, Ruihan Li, July 2023). The maple tree is in RCU mode
 * (v6.3), so a write that cannot stay in place builds a new node and frees the old one after a
 * grace period; a page fault still grows the stack under the mmap_lock read lock, and a reader
 * holding that same read lock walks the tree without rcu_read_lock(). Nothing holds the grace
 * period back: the old node is freed while the reader still walks it.
 *
 *   grower  fault below sp -> find_vma -> expand_downwards -> mas_store_prealloc
 *             -> mas_wr_modify: the stack's leaf is full -> mas_wr_bnode (slow path):
 *             a new leaf linked in, the old one -> call_rcu(mt_free_rcu)
 *   reader  cat /proc/PID/maps: find_vma walk ... enters the old leaf ... (grace period ends,
 *             leaf freed) ... reads it: use-after-free
 *
 * Why the leaf must be full: the stack keeps its guard gap, so each growth only moves the
 * boundary between the NULL below the stack and the stack (a portion of one range and all of
 * the next). With room in the leaf that is mas_wr_slot_store(), done in place even in RCU mode
 * (rcu_assign_pointer of the slot and one pivot store), which a reader survives: no node is
 * replaced and nothing is freed. mas_wr_modify() (lib/maple_tree.c, v6.1 - v6.4) takes the
 * slow path when node_size = node_end - offset_end + offset + 2 (+1 in the right-most leaf,
 * whose max is ULONG_MAX) reaches 16: for this growth, when the stack's right-most leaf holds
 * 15 ranges. So the grower first maps FILL_MAPPINGS one-page VMAs, a page apart, below the
 * stack's guard gap: with the 16 spaced mappings further down that leaves exactly 15 ranges in
 * the stack's leaf (the model's split points are deterministic; the scenario's test checks the
 * write path). Ruihan Li's published exploit reaches node replacement another way: two
 * VM_GROWSDOWN mappings a page apart, whose guard gap expand_downwards() does not enforce, so
 * the growth consumes the NULL and mas_wr_node_store() replaces the node; that route is the
 * `stack-guard-gone` scenario's (a growth that consumes the NULL), which also fails under v6.3.
 *
 * v6.1 (no RCU mode): the slow path rewrites the full leaf in place with only a pivot moved
 * (mas_reuse_node), and the reader is fine; v6.5 (8d7071af8907): the growth takes the write lock.
 */
import { sleep } from "@mmlab/sched";
import { type ExploreScenario, registerExploreScenario, type ScenarioContext } from "../explore.js";
import { PAGE_SIZE } from "../layout.js";
import { sysMmap } from "../mmap.js";
import { procPidMapsRead } from "../proc-maps-read.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../uapi.js";
import { mapleOnly } from "./maple-only.js";

/** Pages the stack grows by, one fault each. */
const GROW_PAGES = 6;
/** Mappings below the stack (beyond its guard gap), so that the tree has two levels. */
const OTHER_MAPPINGS = 16;
/** One-page mappings just below the guard gap that fill the stack's leaf (15 ranges). */
const FILL_MAPPINGS = 4;

export const STACKROT_SCENARIO: ExploreScenario = Object.freeze({
  name: "stackrot",
  description:
    "a thread grows its stack under the mmap read lock (maple tree in RCU mode) while another reads /proc/PID/maps under the same read lock, outside rcu_read_lock() (StackRot, CVE-2023-3269)",
  notApplicable: mapleOnly,
  setup(ctx: ScenarioContext): void {
    const proc = ctx.process({ comm: "stackrot", pid: 4000 });
    const mm = proc.mm;
    const stack = mm.vmas().at(-1);
    if (stack === undefined) throw new Error("@mmlab/mm-core: the process has no stack");
    const ready = { v: false };
    const base = stack.vmStart - mm.stackGuardGap - 64 * PAGE_SIZE;
    ctx.spawn(proc, "grower", function* () {
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      for (let i = 0; i < OTHER_MAPPINGS; i++) {
        yield* sysMmap(mm, base - i * 64 * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE, flags);
      }
      // Below the guard gap the stack keeps after GROW_PAGES growths, a page apart.
      const near = stack.vmStart - mm.stackGuardGap - (GROW_PAGES + 1) * PAGE_SIZE;
      for (let i = 0; i < FILL_MAPPINGS; i++) {
        const at = near - (2 * i + 1) * PAGE_SIZE;
        const r = yield* sysMmap(mm, at, PAGE_SIZE, PROT_READ | PROT_WRITE, flags);
        if (r !== at) throw new Error(`@mmlab/mm-core: stackrot: mmap at ${at} failed: ${r}`);
      }
      ready.v = true;
      yield sleep(ctx.jitter(20_000));
      let sp = stack.vmStart;
      for (let i = 0; i < GROW_PAGES; i++) {
        yield sleep(ctx.jitter(5_000));
        sp -= PAGE_SIZE;
        yield* ctx.userWrite(mm, sp);
      }
      return sp;
    });
    ctx.spawn(proc, "reader", function* () {
      while (!ready.v) yield sleep(ctx.jitter(5_000));
      let records = 0;
      for (let k = 0; k < 12; k++) {
        records += yield* procPidMapsRead(mm);
        yield sleep(ctx.jitter(1_000));
      }
      return records;
    });
  },
});

registerExploreScenario(STACKROT_SCENARIO);
