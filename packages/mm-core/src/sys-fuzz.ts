/**
 * Test support (not exported, not published): random sequences of every system call with
 * hostile arguments from 2-4 concurrent tasks, checked against the input contract after every
 * call. Shared by sys-fuzz.property.test.ts (a short run with a fixed seed) and
 * bench/sys-fuzz.ts (a long run).
 *
 * After every call: the result is what the contract allows (a throw exactly when an argument
 * is no C value, else an errno, an address or a fault signal); and whenever no task is inside
 * a call, validateMm holds with exact frame accounting, mmap_sem is free and so is every VMA
 * lock.
 */
import { PhysMem } from "@mmlab/page-table";
import { Sim, sleep } from "@mmlab/sched";
import fc from "fast-check";
import { sysBrk } from "./brk.js";
import type { Op } from "./charge.js";
import type { CostModel } from "./cost-model.js";
import { doPageFault, type FaultResult } from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMadvise } from "./madvise.js";
import { sysMlock, sysMunlock } from "./mlock.js";
import { sysMlockall, sysMunlockall } from "./mlockall.js";
import type { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { sysMremap } from "./mremap.js";
import { ELF_BRK_START, Process } from "./process.js";
import { munmapStrategies } from "./strategies/registry.js";
import { sysMunmap } from "./sys-munmap.js";
import { ulongArg } from "./syscall-args.js";
import { FREE } from "./test-utils.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED } from "./uapi.js";
import { validateMm } from "./validate.js";
import { vmaLockOf } from "./vma-lock.js";

const P = PAGE_SIZE;
/** The window most addresses fall in: 2048 pages across a PMD boundary. */
const W = 0x600000000 - 1024 * P;
const WINDOW = 2048;
const MAP_HUGETLB = 0x40000;

/** Small, unequal costs so that the tasks interleave inside the calls. */
const COSTS: CostModel = {
  ...FREE,
  name: "sys-fuzz",
  syscall: 2,
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

/** A value a C caller can pass: an integer in [-2^63, 2^64) (the contract's line). */
export function isCValue(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64;
}

/** Values no C caller can pass. */
const NOT_C = fc.constantFrom<unknown>(
  Number.NaN,
  0.5,
  4096.5,
  -1.5,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 64,
  -(2 ** 64),
  "4096",
  4096n,
  null,
);
/** Hostile values a C caller can pass. */
const EDGE = fc.constantFrom(
  0,
  -1,
  -4096,
  1,
  4095,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64 - 2048,
  -(2 ** 63),
);
const pageIn = fc.integer({ min: 0, max: WINDOW - 1 });
const addr = fc.oneof(
  { weight: 6, arbitrary: pageIn.map((p) => W + p * P) },
  {
    weight: 2,
    arbitrary: fc.tuple(pageIn, fc.integer({ min: 1, max: P - 1 })).map(([p, o]) => W + p * P + o),
  },
  { weight: 1, arbitrary: EDGE },
  { weight: 1, arbitrary: NOT_C },
);
const len = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 600 }).map((n) => n * P) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 600 * P }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 30, 2 ** 47, 2 ** 56) },
  { weight: 1, arbitrary: EDGE },
  { weight: 1, arbitrary: NOT_C },
);
/** prot: the known bits, unknown ones, PROT_GROWS*, all of them. */
const prot = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 7 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0x8, 0x01000000, 0x02000000, 0x03000003, -1, 2 ** 40 + 3),
  },
  { weight: 1, arbitrary: NOT_C },
);
/** flags: mostly private or shared anonymous, plus unknown bits, types and no-anonymous. */
const flags = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        shared: fc.boolean(),
        fixed: fc.boolean(),
        populate: fc.boolean(),
        extra: fc.constantFrom(0, 0, 0, 0x4000, 0x100000, 0x800000, 2 ** 40, MAP_HUGETLB),
      })
      .map(
        (f) =>
          (f.shared ? MAP_SHARED : MAP_PRIVATE) +
          MAP_ANONYMOUS +
          (f.fixed ? MAP_FIXED : 0) +
          (f.populate ? MAP_POPULATE : 0) +
          f.extra,
      ),
  },
  { weight: 1, arbitrary: fc.constantFrom(0, 3, MAP_PRIVATE, MAP_ANONYMOUS, -1) },
  { weight: 1, arbitrary: NOT_C },
);
const small = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -2, max: 26 }) },
  { weight: 1, arbitrary: EDGE },
  { weight: 1, arbitrary: NOT_C },
);

/** One call of a task's program. */
export type FuzzCall =
  | { k: "mmap"; a: [unknown, unknown, unknown, unknown, unknown, unknown] }
  | { k: "munmap" | "mlock" | "munlock"; a: [unknown, unknown] }
  | { k: "mprotect" | "madvise"; a: [unknown, unknown, unknown] }
  | { k: "brk" | "mlockall"; a: [unknown] }
  | { k: "munlockall"; a: [] }
  | { k: "mremap"; a: [unknown, unknown, unknown, unknown, unknown] }
  | { k: "fault"; a: [unknown]; write: boolean }
  | { k: "think"; ns: number };

const call: fc.Arbitrary<FuzzCall> = fc.oneof(
  fc.record({
    k: fc.constant("mmap" as const),
    a: fc.tuple(
      addr,
      len,
      prot,
      flags,
      fc.constantFrom<unknown>(-1, -1, 0, 3),
      fc.oneof(fc.constant(0), EDGE, NOT_C),
    ),
  }),
  fc.record({
    k: fc.constantFrom("munmap" as const, "mlock" as const, "munlock" as const),
    a: fc.tuple(addr, len),
  }),
  fc.record({ k: fc.constant("mprotect" as const), a: fc.tuple(addr, len, prot) }),
  fc.record({ k: fc.constant("madvise" as const), a: fc.tuple(addr, len, small) }),
  fc.record({
    k: fc.constant("brk" as const),
    a: fc.tuple(
      fc.oneof(
        fc
          .integer({ min: -8, max: 300 })
          .map((n) => ELF_BRK_START + n * P + (n % 3 === 0 ? 17 : 0)),
        EDGE,
        NOT_C,
      ),
    ),
  }),
  fc.record({
    k: fc.constant("mremap" as const),
    a: fc.tuple(addr, len, len, fc.oneof(fc.constantFrom(0, 1, 1, 3, 2, 4), EDGE, NOT_C), addr),
  }),
  fc.record({ k: fc.constant("fault" as const), a: fc.tuple(addr), write: fc.boolean() }),
  fc.record({
    k: fc.constant("mlockall" as const),
    a: fc.tuple(fc.oneof(fc.integer({ min: -1, max: 8 }), EDGE, NOT_C)),
  }),
  fc.record({ k: fc.constant("munlockall" as const), a: fc.constant([] as []) }),
  fc.record({ k: fc.constant("think" as const), ns: fc.integer({ min: 0, max: 300 }) }),
);

/** One sample: the strategy, the tree, and 2-4 tasks' programs. */
export interface FuzzCase {
  strategy: string;
  tree: "rb" | "maple";
  programs: FuzzCall[][];
}

export function fuzzCase(maxCalls: number): fc.Arbitrary<FuzzCase> {
  return fc.record({
    strategy: fc.constantFrom(...munmapStrategies().map((s) => s.name)),
    tree: fc.constantFrom("rb" as const, "maple" as const),
    programs: fc.array(fc.array(call, { maxLength: maxCalls }), { minLength: 2, maxLength: 4 }),
  });
}

/** What a run did, for reports. */
export interface FuzzStats {
  calls: number;
  throws: number;
  errnos: number;
  successes: number;
}

function start(c: Exclude<FuzzCall, { k: "think" }>, mm: MmStruct): Op<number | FaultResult> {
  // Deliberately untyped: the contract is what is under test. Missing entries are undefined.
  const a = c.a as unknown as [number, number, number, number, number, number];
  switch (c.k) {
    case "mmap":
      return sysMmap(mm, a[0], a[1], a[2], a[3], a[4], a[5]);
    case "munmap":
      return sysMunmap(mm, a[0], a[1]);
    case "mlock":
      return sysMlock(mm, a[0], a[1]);
    case "munlock":
      return sysMunlock(mm, a[0], a[1]);
    case "mprotect":
      return sysMprotect(mm, a[0], a[1], a[2]);
    case "madvise":
      return sysMadvise(mm, a[0], a[1], a[2]);
    case "brk":
      return sysBrk(mm, a[0]);
    case "mremap":
      return sysMremap(mm, a[0], a[1], a[2], a[3], a[4]);
    case "fault":
      return doPageFault(mm, a[0], { write: c.write });
    case "mlockall":
      return sysMlockall(mm, a[0]);
    case "munlockall":
      return sysMunlockall(mm);
  }
}

/** Throws (an Error naming the call) when the result breaks the contract. */
function checkResult(
  c: Exclude<FuzzCall, { k: "think" }>,
  mm: MmStruct,
  thrown: unknown,
  r: unknown,
): void {
  const what = () => `${c.k}(${c.a.map((v) => String(v)).join(", ")})`;
  const valid = c.a.every(isCValue);
  if (thrown !== undefined) {
    const hugetlb =
      c.k === "mmap" &&
      thrown instanceof RangeError &&
      /MAP_HUGETLB is not modelled/.test(thrown.message);
    if (valid && !hugetlb) throw new Error(`${what()} threw for C values: ${String(thrown)}`);
    if (!(thrown instanceof TypeError || thrown instanceof RangeError)) {
      throw new Error(`${what()} threw ${String(thrown)}, not a TypeError/RangeError`);
    }
    return;
  }
  if (!valid) throw new Error(`${what()} = ${String(r)}: should have thrown`);
  if (c.k === "fault") {
    if (r !== 0 && (typeof r !== "object" || r === null || !("signo" in r))) {
      throw new Error(`${what()} = ${String(r)}: not 0 or a fault signal`);
    }
    return;
  }
  if (typeof r !== "number" || !Number.isInteger(r)) throw new Error(`${what()} = ${String(r)}`);
  const errno = r < 0 && r >= -4095;
  // mremap with old_len >= new_len returns addr itself when nothing is left to unmap (the
  // shrink's do_munmap of 0 bytes fails, and old_len == new_len ignores that).
  if (c.k === "mremap" && r === ulongArg(c.a[0] as number)) return;
  if (c.k === "mmap" || c.k === "mremap") {
    if (!errno && !(r % P === 0 && r >= mm.mmapMinAddr && r < mm.taskSize)) {
      throw new Error(`${what()} = ${r}: neither an errno nor a user address`);
    }
  } else if (c.k === "brk") {
    if (!errno && !(r >= 0 && r < mm.taskSize)) throw new Error(`${what()} = ${r}: not a break`);
  } else if (r !== 0 && !errno) {
    throw new Error(`${what()} = ${r}: neither 0 nor an errno`);
  }
}

/** mmap_sem and every VMA's lock are free and nobody waits. */
function checkLocksFree(mm: MmStruct): void {
  const sem = mm.mmapSem;
  if (sem.readers !== 0 || sem.isWriteLocked || sem.waiters().length !== 0) {
    throw new Error(
      `mmap_sem not free with no task in a call: readers ${sem.readers}, write ${sem.isWriteLocked}`,
    );
  }
  for (const vma of mm.vmas()) {
    const l = vmaLockOf(mm, vma).vmLock;
    if (l.readers !== 0 || l.isWriteLocked) {
      throw new Error(`vm_lock of ${vma.vmStart.toString(16)} held with no task in a call`);
    }
  }
}

/** Runs one case; throws on the first broken rule. */
export function runFuzzCase(fcase: FuzzCase, stats: FuzzStats): void {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const proc = new Process(sim, {
    comm: "fuzz",
    tree: fcase.tree,
    munmap: fcase.strategy,
    cost: COSTS,
    phys: new PhysMem({ bytes: 8 * 1024 * 1024 }),
    capIpcLock: true,
  });
  const mm = proc.mm;
  let inside = 0;
  fcase.programs.forEach((program, t) => {
    proc.spawnThread(`t${t}`, function* () {
      for (const c of program) {
        if (c.k === "think") {
          yield sleep(c.ns);
          continue;
        }
        let thrown: unknown;
        let r: unknown;
        inside++;
        try {
          r = yield* start(c, mm);
        } catch (e) {
          thrown = e ?? new Error("threw a nullish value");
        }
        inside--;
        stats.calls++;
        if (thrown !== undefined) stats.throws++;
        else if (typeof r === "number" && r < 0 && r >= -4095) stats.errnos++;
        else stats.successes++;
        checkResult(c, mm, thrown, r);
        if (inside === 0) {
          checkLocksFree(mm);
          validateMm(mm, { ownsPhys: true });
        }
      }
    });
  });
  sim.run();
  checkLocksFree(mm);
  validateMm(mm, { ownsPhys: true });
}
