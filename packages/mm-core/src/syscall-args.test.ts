/**
 * The input contract of the system-call layer (README "Input contract"): what a C caller can
 * pass (any 64-bit value, negative ones as their two's complement) gets the kernel's errno;
 * what it cannot (NaN, ±Infinity, fractions, non-numbers, integers outside [-2^63, 2^64))
 * throws a TypeError or RangeError before any lock is taken, any time is charged or anything
 * changes. The kernel's answers come from fixtures/hostile-args.c, run on Linux 6.18.
 */
import { readFileSync } from "node:fs";
import { PhysMem } from "@mmlab/page-table";
import { Sim } from "@mmlab/sched";
import { describe, expect, it } from "vitest";
import { sysBrk } from "./brk.js";
import type { Op } from "./charge.js";
import { E5_2680_V4_18 } from "./cost-model.js";
import { doPageFault } from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import { MADV_DONTNEED, sysMadvise } from "./madvise.js";
import { sysMlock, sysMunlock } from "./mlock.js";
import { sysMlockall } from "./mlockall.js";
import type { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { MREMAP_FIXED, MREMAP_MAYMOVE, sysMremap } from "./mremap.js";
import { Process } from "./process.js";
import { sysMunmap } from "./sys-munmap.js";
import { checkArg, intArg, pageAlignUlong, uintArg, ulongAdd, ulongArg } from "./syscall-args.js";
import { MiB } from "./test-utils.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./uapi.js";
import { validateMm } from "./validate.js";

const P = PAGE_SIZE;
const A = 0x600000000;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const T63 = 2 ** 63;
const T64 = 2 ** 64;

describe("checkArg and the C views of a register", () => {
  it("accepts every integer in [-2^63, 2^64) and nothing else", () => {
    for (const ok of [0, 1, -1, 2 ** 53, 2 ** 53 + 2, T63, -T63, T64 - 2048]) {
      expect(() => checkArg("f", "x", ok)).not.toThrow();
    }
    for (const bad of [
      Number.NaN,
      1.5,
      -0.5,
      Number.POSITIVE_INFINITY,
      -Infinity,
      T64,
      -T63 - 2048,
    ]) {
      expect(() => checkArg("f", "x", bad)).toThrow(RangeError);
    }
    for (const bad of ["4096", 4096n, null, undefined, {}]) {
      expect(() => checkArg("f", "x", bad)).toThrow(TypeError);
    }
    expect(() => checkArg("sysMunmap", "len", 1.5)).toThrow(/sysMunmap: len must be an integer/);
  });

  it("ulongArg reads a negative value as 2^64 + n, keeping its page alignment", () => {
    expect(ulongArg(-4096)).toBe(T64 - 4096);
    expect(ulongArg(-T63)).toBe(T63);
    expect(ulongArg(-1) % P).not.toBe(0); // ULONG_MAX is unaligned
    expect(ulongArg(-1)).toBeGreaterThan(2 ** 63);
    expect(ulongArg(12345)).toBe(12345);
  });

  it("intArg and uintArg keep the low 32 bits, as the kernel's int and unsigned int", () => {
    expect(intArg(2 ** 32 + 4)).toBe(4);
    expect(intArg(-1)).toBe(-1);
    expect(uintArg(-1)).toBe(2 ** 32 - 1);
  });

  it("PAGE_ALIGN and additions wrap at 2^64", () => {
    expect(pageAlignUlong(T64 - 2048)).toBe(0);
    expect(pageAlignUlong(4097)).toBe(8192);
    expect(ulongAdd(T64 - 4096, 8192)).toBe(4096);
  });
});

/** A 6.18 process with [A, A + 16 pages) mapped, as the probe starts. */
function probeMm() {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const proc = new Process(sim, {
    comm: "probe",
    generation: "v6.18",
    phys: new PhysMem({ bytes: 64 * MiB }),
    capIpcLock: true, // the probe ran as root
  });
  const mm = proc.mm;
  const t = sim.spawn("setup", () => sysMmap(mm, A, 16 * P, RW, ANON | MAP_FIXED));
  sim.run();
  expect(t.result).toBe(A);
  return { sim, mm };
}

/** The kernel's answers: "name = -22", "name = A+0x10000", "name = 0". */
function kernelAnswers(): Map<string, string> {
  const text = readFileSync(new URL("../fixtures/hostile-args.out", import.meta.url), "utf8");
  const m = new Map<string, string>();
  for (const line of text.trim().split("\n")) {
    const i = line.lastIndexOf(" = ");
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 3));
  }
  return m;
}

function show(r: number): string {
  if (r < 0) return String(r);
  if (r === 0) return "0";
  if (r >= A && r < A + 0x100000) return `A+0x${(r - A).toString(16)}`;
  return "addr";
}

describe("what a C caller can pass: the kernel's answer (fixtures/hostile-args.c on Linux 6.18)", () => {
  const calls: Array<[string, (mm: MmStruct) => Op<number>]> = [
    ["munmap(-4096, 4096)", (mm) => sysMunmap(mm, -4096, 4096)],
    ["munmap(-1, 4096)", (mm) => sysMunmap(mm, -1, 4096)],
    ["munmap(A, -1)", (mm) => sysMunmap(mm, A, -1)],
    ["munmap(A, -4096)", (mm) => sysMunmap(mm, A, -4096)],
    ["munmap(A, 2^63)", (mm) => sysMunmap(mm, A, T63)],
    ["munmap(A+15p, 1)", (mm) => sysMunmap(mm, A + 15 * P, 1)],
    ["mmap(0, -1, RW, PRIV|ANON)", (mm) => sysMmap(mm, 0, -1, RW, ANON)],
    ["mmap(0, -4096, RW, PRIV|ANON)", (mm) => sysMmap(mm, 0, -4096, RW, ANON)],
    ["mmap(-4096, 4096, FIXED)", (mm) => sysMmap(mm, -4096, 4096, RW, ANON | MAP_FIXED)],
    [
      "mmap(A+16p, 4096, RW, PRIV|ANON|FIXED, -1, -4096)",
      (mm) => sysMmap(mm, A + 16 * P, 4096, RW, ANON | MAP_FIXED, -1, -4096),
    ],
    [
      "mmap(A+17p, 4096, RW, PRIV|FIXED, fd -1)",
      (mm) => sysMmap(mm, A + 17 * P, 4096, RW, MAP_PRIVATE | MAP_FIXED, -1),
    ],
    [
      "mmap(A+18p, 4096, prot 2^40|RW, FIXED)",
      (mm) => sysMmap(mm, A + 18 * P, 4096, 2 ** 40 + RW, ANON | MAP_FIXED),
    ],
    ["mprotect(A, 4096, 2^40|R)", (mm) => sysMprotect(mm, A, 4096, 2 ** 40 + PROT_READ)],
    ["mprotect(-1, 4096, R)", (mm) => sysMprotect(mm, -1, 4096, PROT_READ)],
    ["mprotect(A, -1, R)", (mm) => sysMprotect(mm, A, -1, PROT_READ)],
    ["mprotect(-4096, 4096, R)", (mm) => sysMprotect(mm, -4096, 4096, PROT_READ)],
    ["mprotect(A, 4096, -1)", (mm) => sysMprotect(mm, A, 4096, -1)],
    ["madvise(A, -1, DONTNEED)", (mm) => sysMadvise(mm, A, -1, MADV_DONTNEED)],
    ["madvise(A, 4096, 2^32+4)", (mm) => sysMadvise(mm, A, 4096, 2 ** 32 + MADV_DONTNEED)],
    ["madvise(-4096, 4096, DONTNEED)", (mm) => sysMadvise(mm, -4096, 4096, MADV_DONTNEED)],
    ["mlock(A, -1)", (mm) => sysMlock(mm, A, -1)],
    ["mlock(-1, 1)", (mm) => sysMlock(mm, -1, 1)],
    ["munlock(A, -4096)", (mm) => sysMunlock(mm, A, -4096)],
    ["mremap(A, -1, 4096, 0)", (mm) => sysMremap(mm, A, -1, 4096, 0)],
    ["mremap(A, 4096, -1, 0)", (mm) => sysMremap(mm, A, 4096, -1, 0)],
    [
      "mremap(A, 4096, 4096, 2^32|MAYMOVE)",
      (mm) => sysMremap(mm, A, 4096, 4096, 2 ** 32 + MREMAP_MAYMOVE),
    ],
    [
      "mremap(A, 4096, 8192, MAYMOVE|FIXED, -4096)",
      (mm) => sysMremap(mm, A, 4096, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, -4096),
    ],
  ];

  it("every return value matches, in the probe's order", () => {
    const kernel = kernelAnswers();
    const { sim, mm } = probeMm();
    const model: string[] = [];
    const want: string[] = [];
    sim.spawn("probe", function* () {
      for (const [name, op] of calls) {
        model.push(`${name} = ${show(yield* op(mm))}`);
        want.push(`${name} = ${kernel.get(name)}`);
      }
    });
    sim.run();
    expect(model).toEqual(want);
    validateMm(mm, { ownsPhys: true });
  });

  it("brk(-1) leaves the break unchanged", () => {
    expect(kernelAnswers().get("brk(-1)")).toBe("unchanged");
    const { sim, mm } = probeMm();
    const before = mm.brk;
    const t = sim.spawn("brk", () => sysBrk(mm, -1));
    sim.run();
    expect(t.result).toBe(before);
  });
});

/** Every entry point, with one argument replaced by `bad`. */
function entryPoints(bad: unknown): Array<[string, (mm: MmStruct) => Op<unknown>]> {
  const b = bad as number;
  return [
    ["sysMmap addr", (mm) => sysMmap(mm, b, P, RW, ANON)],
    ["sysMmap len", (mm) => sysMmap(mm, 0, b, RW, ANON)],
    ["sysMmap prot", (mm) => sysMmap(mm, 0, P, b, ANON)],
    ["sysMmap flags", (mm) => sysMmap(mm, 0, P, RW, b)],
    ["sysMmap fd", (mm) => sysMmap(mm, 0, P, RW, MAP_PRIVATE, b)],
    ["sysMmap off", (mm) => sysMmap(mm, 0, P, RW, ANON, -1, b)],
    ["sysMunmap addr", (mm) => sysMunmap(mm, b, P)],
    ["sysMunmap len", (mm) => sysMunmap(mm, A, b)],
    ["sysMprotect start", (mm) => sysMprotect(mm, b, P, PROT_READ)],
    ["sysMprotect len", (mm) => sysMprotect(mm, A, b, PROT_READ)],
    ["sysMprotect prot", (mm) => sysMprotect(mm, A, P, b)],
    ["sysMadvise start", (mm) => sysMadvise(mm, b, P, MADV_DONTNEED)],
    ["sysMadvise len", (mm) => sysMadvise(mm, A, b, MADV_DONTNEED)],
    ["sysMadvise behavior", (mm) => sysMadvise(mm, A, P, b)],
    ["sysMlock start", (mm) => sysMlock(mm, b, P)],
    ["sysMlock len", (mm) => sysMlock(mm, A, b)],
    ["sysMunlock start", (mm) => sysMunlock(mm, b, P)],
    ["sysMunlock len", (mm) => sysMunlock(mm, A, b)],
    ["sysBrk brk", (mm) => sysBrk(mm, b)],
    ["sysMlockall flags", (mm) => sysMlockall(mm, b)],
    ["sysMremap addr", (mm) => sysMremap(mm, b, P, P, 0)],
    ["sysMremap oldLen", (mm) => sysMremap(mm, A, b, P, 0)],
    ["sysMremap newLen", (mm) => sysMremap(mm, A, P, b, 0)],
    ["sysMremap flags", (mm) => sysMremap(mm, A, P, P, b)],
    ["sysMremap newAddr", (mm) => sysMremap(mm, A, P, 2 * P, 3, b)],
    ["doPageFault addr", (mm) => doPageFault(mm, b)],
  ];
}

describe("what no C caller can pass: a TypeError or RangeError, before anything happens", () => {
  const cases: Array<[unknown, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor]> = [
    [Number.NaN, RangeError],
    [1.5, RangeError],
    [Number.POSITIVE_INFINITY, RangeError],
    [Number.NEGATIVE_INFINITY, RangeError],
    [T64, RangeError],
    ["4096", TypeError],
    [4096n, TypeError],
    [undefined, TypeError],
  ];
  for (const [bad, type] of cases) {
    it(`${String(bad)}: every sys* argument throws ${type.name} and changes nothing`, () => {
      const sim = new Sim({ hungTaskTimeoutNs: 0 });
      const proc = new Process(sim, {
        comm: "p",
        cost: E5_2680_V4_18,
        phys: new PhysMem({ bytes: 64 * MiB }),
      });
      const mm = proc.mm;
      sim.spawn("setup", () => sysMmap(mm, A, 16 * P, RW, ANON | MAP_FIXED));
      sim.run();
      // undefined in an optional parameter (fd, off, newAddr) is its default, as in any JS call.
      const optional = /sysMmap (fd|off)|sysMremap newAddr/;
      for (const [name, op] of entryPoints(bad)) {
        if (bad === undefined && optional.test(name)) continue;
        const before = [sim.now, mm.mmapSem.history.length, mm.vmas().length, mm.totalVm];
        const t = sim.spawn(name, function* () {
          try {
            yield* op(mm);
            return "returned";
          } catch (e) {
            return e instanceof type ? "threw" : `threw ${String(e)}`;
          }
        });
        sim.run();
        expect([name, t.result]).toEqual([name, "threw"]);
        expect([name, sim.now, mm.mmapSem.history.length, mm.vmas().length, mm.totalVm]).toEqual([
          name,
          ...before,
        ]);
      }
      validateMm(mm, { ownsPhys: true });
    });
  }
});
