/**
 * `stack-guard-gone`: the syzbot report behind 3dd4432549415f ("mm: enable maple tree RCU mode
 * by default"): with stack_guard_gap=0 a stack grows, one page fault at a time and under the
 * mmap_lock READ lock, until it abuts the VMA below; the NULL range between them disappears
 * and the maple leaf holding both is rewritten while two threads read /proc/PID/maps (find_vma
 * walks under the same read lock).
 *
 *   below        NULL (4 pages)        stack (VM_GROWSDOWN)
 *   [=]..........[ ][ ][ ][ ][=========================)
 *                 ^  ^  ^  ^ the grower's sp goes down a page per fault; the last fault
 *                              consumes the NULL: the leaf's slots move (v6.1: in place)
 *
 * v6.1: a reader inside that leaf reads it again after the rewrite: MapleNodeRewritten (the
 * kernel's readers hit a BUG_ON in mm/mmap.c). v6.3: the write builds a new leaf and RCU-frees
 * the old one, but the readers hold no rcu_read_lock(): the old leaf can be freed under them
 * (StackRot, a use-after-free). v6.5: the stack grows under the write lock, no reader is inside.
 */
import { sleep } from "@mmlab/sched";
import { type ExploreScenario, registerExploreScenario, type ScenarioContext } from "../explore.js";
import { PAGE_SIZE } from "../layout.js";
import { sysMmap } from "../mmap.js";
import { procPidMapsRead } from "../proc-maps-read.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../uapi.js";
import { mapleOnly } from "./maple-only.js";

/** Pages of NULL between the stack and the VMA below it. */
const GAP_PAGES = 4;
/** Other mappings below, spaced apart, so that the tree has two levels. */
const OTHER_MAPPINGS = 16;

export const STACK_GUARD_GONE_SCENARIO: ExploreScenario = Object.freeze({
  name: "stack-guard-gone",
  description:
    "stack_guard_gap=0: a stack grows under the read lock until it abuts the VMA below while two threads read /proc/PID/maps (the 6.1 maple-tree inconsistency, 3dd4432549415f)",
  notApplicable: mapleOnly,
  setup(ctx: ScenarioContext): void {
    const proc = ctx.process({ comm: "syz", pid: 4000, stackGuardGap: 0 });
    const mm = proc.mm;
    const stack = mm.vmas().at(-1);
    if (stack === undefined) throw new Error("@mmlab/mm-core: the process has no stack");
    const below = stack.vmStart - (GAP_PAGES + 1) * PAGE_SIZE;
    const ready = { v: false };
    const rw = PROT_READ | PROT_WRITE;
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    ctx.spawn(proc, "grower", function* () {
      for (let i = 0; i < OTHER_MAPPINGS; i++) {
        yield* sysMmap(mm, below - (i + 1) * 64 * PAGE_SIZE, PAGE_SIZE, rw, flags);
      }
      const r = yield* sysMmap(mm, below, PAGE_SIZE, rw, flags);
      if (r !== below) throw new Error(`@mmlab/mm-core: mmap below the stack failed: ${r}`);
      ready.v = true;
      yield sleep(ctx.jitter(20_000));
      let sp = stack.vmStart;
      for (let i = 0; i < GAP_PAGES; i++) {
        yield sleep(ctx.jitter(5_000));
        sp -= PAGE_SIZE;
        yield* ctx.userWrite(mm, sp);
      }
      return sp;
    });
    for (let r = 0; r < 2; r++) {
      ctx.spawn(proc, `reader${r}`, function* () {
        while (!ready.v) yield sleep(ctx.jitter(5_000));
        let records = 0;
        for (let k = 0; k < 10; k++) {
          records += yield* procPidMapsRead(mm);
          yield sleep(ctx.jitter(1_000));
        }
        return records;
      });
    }
  },
});

registerExploreScenario(STACK_GUARD_GONE_SCENARIO);
