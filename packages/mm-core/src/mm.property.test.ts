/**
 * Random operation sequences (mmap, munmap under both strategies, mprotect, mlock, munlock,
 * page faults) from several concurrent tasks, over many seeds. Every invariant is checked
 * after every operation that leaves mmap_sem idle, and at the end; the same run on the rb
 * tree and on the maple tree must give the same return values and the same address space.
 */
import { PhysMem } from "@mmlab/page-table";
import { Sim, sleep } from "@mmlab/sched";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CostModel } from "./cost-model.js";
import { doPageFault } from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMlock, sysMunlock } from "./mlock.js";
import { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { sysMunmap } from "./sys-munmap.js";
import { FREE, MiB } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMm } from "./validate.js";

const P = PAGE_SIZE;
/** The window the fixed-address operations work in: 1024 pages, crossing a PMD boundary. */
const W = 0x600000000 - 512 * P;
const WINDOW = 1024;

/** Small, unequal costs so that tasks interleave inside operations. */
const COSTS: CostModel = {
  ...FREE,
  name: "property",
  lockOp: 3,
  vmaLookup: 7,
  vmaSplit: 11,
  vmaDetach: 5,
  pmdStep: 40,
  pteZap: 1,
  pageFree: 1,
  anonFault: 13,
  populatePage: 1,
};

type Op =
  | { k: "mmap"; page: number; pages: number; prot: number; fixed: boolean; populate: boolean }
  | { k: "munmap"; page: number; pages: number; strategy: "classic" | "zapRlock" }
  | { k: "mprotect"; page: number; pages: number; prot: number }
  | { k: "mlock" | "munlock"; page: number; pages: number }
  | { k: "fault"; page: number; write: boolean }
  | { k: "think"; ns: number };

const page = fc.integer({ min: 0, max: WINDOW - 1 });
const pages = fc.integer({ min: 1, max: 600 });
const prot = fc.constantFrom(PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    k: fc.constant("mmap" as const),
    page,
    pages,
    prot,
    fixed: fc.boolean(),
    populate: fc.boolean(),
  }),
  fc.record({
    k: fc.constant("munmap" as const),
    page,
    pages,
    strategy: fc.constantFrom("classic" as const, "zapRlock" as const),
  }),
  fc.record({ k: fc.constant("mprotect" as const), page, pages, prot }),
  fc.record({
    k: fc.constantFrom("mlock" as const, "munlock" as const),
    page,
    pages: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({ k: fc.constant("fault" as const), page, write: fc.boolean() }),
  fc.record({ k: fc.constant("think" as const), ns: fc.integer({ min: 0, max: 500 }) }),
);

function run(
  tree: "rb" | "maple",
  programs: Op[][],
): { results: number[][]; layout: string; counters: number[] } {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const mm = new MmStruct(sim, {
    tree,
    cost: COSTS,
    phys: new PhysMem({ bytes: 64 * MiB }),
    capIpcLock: true,
  });
  const results: number[][] = programs.map(() => []);
  const idle = () =>
    mm.mmapSem.readers === 0 && !mm.mmapSem.isWriteLocked && mm.mmapSem.waiters().length === 0;
  programs.forEach((program, t) => {
    sim.spawn(`task${t}`, function* () {
      for (const op of program) {
        let r = 0;
        switch (op.k) {
          case "mmap": {
            const flags =
              MAP_PRIVATE |
              MAP_ANONYMOUS |
              (op.fixed ? MAP_FIXED : 0) |
              (op.populate ? MAP_POPULATE : 0);
            r = yield* sysMmap(mm, op.fixed ? W + op.page * P : 0, op.pages * P, op.prot, flags);
            break;
          }
          case "munmap":
            r = yield* sysMunmap(mm, W + op.page * P, op.pages * P, op.strategy);
            break;
          case "mprotect":
            r = yield* sysMprotect(mm, W + op.page * P, op.pages * P, op.prot);
            break;
          case "mlock":
            r = yield* sysMlock(mm, W + op.page * P, op.pages * P);
            break;
          case "munlock":
            r = yield* sysMunlock(mm, W + op.page * P, op.pages * P);
            break;
          case "fault": {
            const f = yield* doPageFault(mm, W + op.page * P, { write: op.write });
            r = f === 0 ? 0 : f.signo;
            break;
          }
          case "think":
            yield sleep(op.ns);
            break;
        }
        (results[t] as number[]).push(r);
        if (idle()) validateMm(mm, { ownsPhys: true });
      }
    });
  });
  sim.run();
  validateMm(mm, { ownsPhys: true });
  const layout = mm
    .vmas()
    .map(
      (v) =>
        `${v.vmStart.toString(16)}-${v.vmEnd.toString(16)}:${v.vmFlags.toString(16)}:${v.vmPgoff}`,
    )
    .join(" ");
  const r = mm.pt.rss;
  return {
    results,
    layout,
    counters: [
      mm.totalVm,
      mm.lockedVm,
      mm.dataVm,
      mm.committedVm,
      r.anon,
      mm.pt.nrPtes,
      mm.pt.nrPmds,
      sim.now,
    ],
  };
}

describe("random concurrent operation sequences", () => {
  it("keep every invariant, and both trees agree on everything", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(opArb, { maxLength: 25 }), { minLength: 2, maxLength: 4 }),
        (programs) => {
          const rb = run("rb", programs);
          const maple = run("maple", programs);
          expect(maple).toEqual(rb);
        },
      ),
      { seed: 20181015, numRuns: 300 },
    );
  });
});
