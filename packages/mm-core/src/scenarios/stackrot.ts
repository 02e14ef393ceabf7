/**
 * `stackrot`: StackRot (CVE-2023-3269, Ruihan Li, July 2023). The maple tree is in RCU mode
 * (v6.3), so a write replaces a node and frees the old one after a grace period; a page fault
 * still grows the stack under the mmap_lock read lock, and a reader holding that same read
 * lock walks the tree without rcu_read_lock(). Nothing holds the grace period back: the old
 * node is freed while the reader still walks it.
 *
 *   grower  fault below sp -> find_vma -> expand_downwards -> mas_store_prealloc
 *             (RCU mode: new leaf linked in, old leaf -> call_rcu(mt_free_rcu))
 *   reader  cat /proc/PID/maps: find_vma walk ... enters the old leaf ... (grace period ends,
 *             leaf freed) ... reads it: use-after-free
 *
 * The stack keeps its guard gap (an ordinary stack): under v6.1 the growth only moves a pivot
 * in place and the reader is fine; under v6.5 (8d7071af8907) the growth takes the write lock.
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
