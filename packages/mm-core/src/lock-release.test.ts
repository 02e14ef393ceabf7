/**
 * A throw must never leave a lock held. The model can throw where the kernel cannot (a
 * library's RangeError, PageTableUseAfterFree, an experiment's hook), so every path that takes
 * mmap_sem or a VMA lock releases it in a `finally`. These tests make a throw happen right
 * after the lock is taken (a cost model whose field throws when read by a lock holder), or
 * after the downgrade, or end the generator with return(), and check that the lock is free
 * and the next munmap runs.
 */
import { PhysMem } from "@mmlab/page-table";
import { current, type Instruction, Sim, sleep } from "@mmlab/sched";
import { describe, expect, it } from "vitest";
import { sysBrk } from "./brk.js";
import type { Op } from "./charge.js";
import type { CostModel } from "./cost-model.js";
import { doPageFault } from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import { MADV_DONTFORK, MADV_DONTNEED, sysMadvise } from "./madvise.js";
import { sysMlock, sysMunlock } from "./mlock.js";
import { sysMlockall, sysMunlockall } from "./mlockall.js";
import type { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { sysMremap } from "./mremap.js";
import { mmPopulate } from "./populate.js";
import { ELF_BRK_START, Process, procPidCmdlineRead } from "./process.js";
import { munmapStrategies } from "./strategies/registry.js";
import { sysMunmap } from "./sys-munmap.js";
import { FREE, MiB } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MCL_CURRENT,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMm } from "./validate.js";
import { vmaLockOf } from "./vma-lock.js";

const P = PAGE_SIZE;
const A0 = 0x600000000;
const RW = PROT_READ | PROT_WRITE;
const FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
/** Every step costs a little, so that the paths yield while they hold the lock. */
const COSTS: CostModel = { ...FREE, name: "lock-release", lockOp: 1, vmaLookup: 1, pmdStep: 1 };

/** A process with 4 MiB populated at A0 and a 64 KiB heap, under `strategy`. */
function setup(strategy: string) {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const proc = new Process(sim, {
    comm: "p",
    munmap: strategy,
    cost: COSTS,
    phys: new PhysMem({ bytes: 64 * MiB }),
    capIpcLock: true,
  });
  const mm = proc.mm;
  sim.spawn("setup", function* () {
    yield* sysMmap(mm, A0, 4 * MiB, RW, FIXED | MAP_POPULATE);
    yield* sysBrk(mm, ELF_BRK_START + 16 * P);
    yield* doPageFault(mm, ELF_BRK_START, { write: true });
  });
  sim.run();
  validateMm(mm, { ownsPhys: true });
  return { sim, proc, mm };
}

/** Does the running task hold mmap_sem (either mode)? */
function holdsMmapSem(mm: MmStruct): boolean {
  const me = current();
  return mm.mmapSem.owner === me || mm.mmapSem.readerTasks().some((r) => r.pid === me.pid);
}

/** Makes the first read of `field` by a holder of mmap_sem (or, `anyone`, by anybody) throw. */
function injectThrow(mm: MmStruct, field: keyof CostModel, anyone = false): () => boolean {
  const base = mm.cost;
  let fired = false;
  mm.cost = new Proxy(base, {
    get(target, key, receiver) {
      if (!fired && key === field && (anyone || holdsMmapSem(mm))) {
        fired = true;
        throw new Error(`injected: ${String(key)} read under the lock`);
      }
      return Reflect.get(target, key, receiver);
    },
  });
  return () => fired;
}

/** mmap_sem is free and nobody waits; a munmap from a fresh task completes. */
function expectLocksFree(sim: Sim, mm: MmStruct): void {
  expect([mm.mmapSem.readers, mm.mmapSem.isWriteLocked, mm.mmapSem.waiters().length]).toEqual([
    0,
    false,
    0,
  ]);
  const t = sim.spawn("after", () => sysMunmap(mm, A0 + 2 * MiB, P));
  sim.run();
  expect(t.state).toBe("dead");
  expect(t.result).toBe(0);
}

/** Runs `op` in a task that catches what it throws; returns the error's message. */
function runCatching(sim: Sim, op: () => Op<unknown>): string {
  const t = sim.spawn("victim", function* () {
    try {
      yield* op();
      return "returned";
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  });
  sim.run();
  return String(t.result);
}

type Case = [
  name: string,
  field: keyof CostModel,
  op: (mm: MmStruct, proc: Process) => Op<unknown>,
];

const CASES: Case[] = [
  ["sysMmap", "lockOp", (mm) => sysMmap(mm, A0 + 8 * MiB, P, RW, FIXED)],
  ["sysMprotect", "lockOp", (mm) => sysMprotect(mm, A0, P, PROT_READ)],
  ["sysMlock", "lockOp", (mm) => sysMlock(mm, A0, P)],
  ["sysMunlock", "lockOp", (mm) => sysMunlock(mm, A0, P)],
  ["sysMlockall", "lockOp", (mm) => sysMlockall(mm, MCL_CURRENT)],
  ["sysMunlockall", "lockOp", (mm) => sysMunlockall(mm)],
  ["sysMadvise (read lock)", "lockOp", (mm) => sysMadvise(mm, A0, P, MADV_DONTNEED)],
  ["sysMadvise (write lock)", "lockOp", (mm) => sysMadvise(mm, A0, P, MADV_DONTFORK)],
  ["sysBrk", "lockOp", (mm) => sysBrk(mm, ELF_BRK_START + 32 * P)],
  ["sysMremap", "lockOp", (mm) => sysMremap(mm, A0, 2 * P, P, 0)],
  ["doPageFault", "lockOp", (mm) => doPageFault(mm, A0 + 3 * MiB, { write: true })],
  ["mmPopulate", "lockOp", (mm) => mmPopulate(mm, A0, P)],
  ["procPidCmdlineRead", "lockOp", (_mm, proc) => procPidCmdlineRead(proc)],
  // After the downgrade: the read lock must go.
  ["sysBrk shrink (downgraded)", "pmdStep", (mm) => sysBrk(mm, ELF_BRK_START)],
  ["sysMremap shrink (downgraded)", "pmdStep", (mm) => sysMremap(mm, A0, 2 * MiB, P, 0)],
];

describe("a throw between taking a lock and releasing it leaves no lock held", () => {
  for (const [name, field, op] of CASES) {
    for (const strategy of ["classic", "v4.20"]) {
      it(`${name} under ${strategy}: ${field} throws under the lock`, () => {
        const { sim, proc, mm } = setup(strategy);
        const fired = injectThrow(mm, field);
        const msg = runCatching(sim, () => op(mm, proc));
        expect(fired()).toBe(true);
        expect(msg).toMatch(/^injected/);
        expectLocksFree(sim, mm);
      });
    }
  }

  for (const s of munmapStrategies()) {
    for (const field of ["lockOp", "vmaLookup", "pmdStep"] as const) {
      it(`sysMunmap under ${s.name}: ${field} throws under the lock`, () => {
        const { sim, mm } = setup(s.name);
        const fired = injectThrow(mm, field);
        expect(runCatching(sim, () => sysMunmap(mm, A0, 2 * MiB))).toMatch(/^injected/);
        expect(fired()).toBe(true);
        expectLocksFree(sim, mm);
      });
    }
  }

  it("a fault under the per-VMA lock releases the VMA's lock when it throws", () => {
    const { sim, mm } = setup("perVmaLock");
    const vma = mm.tree.findVma(A0);
    if (vma === null) throw new Error("no vma");
    // Drop the page so that the fault has work to do (allocating: the cost read that throws).
    sim.spawn("drop", () => sysMadvise(mm, A0 + 3 * MiB, P, MADV_DONTNEED));
    sim.run();
    const fired = injectThrow(mm, "anonFault", true);
    expect(runCatching(sim, () => doPageFault(mm, A0 + 3 * MiB, { write: true }))).toMatch(
      /^injected/,
    );
    expect(fired()).toBe(true);
    expect(vmaLockOf(mm, vma).vmLock.readers).toBe(0);
    expectLocksFree(sim, mm);
  });
});

describe("doPageFault checks the address before it takes mmap_sem", () => {
  for (const bad of [Number.NaN, 1.5, Number.POSITIVE_INFINITY, 2 ** 64]) {
    it(`doPageFault(mm, ${bad}) throws a RangeError and the next munmap runs`, () => {
      const { sim, mm } = setup("classic");
      const before = mm.mmapSem.history.length;
      expect(runCatching(sim, () => doPageFault(mm, bad))).toMatch(/RangeError|must be an integer/);
      expect(mm.mmapSem.history.length).toBe(before);
      expectLocksFree(sim, mm);
    });
  }

  it("a user fault above TASK_SIZE is SIGSEGV/SEGV_MAPERR without mmap_sem (bad_area_nosemaphore)", () => {
    const { sim, mm } = setup("classic");
    const before = mm.mmapSem.history.length;
    const t = sim.spawn("f", () => doPageFault(mm, -4096));
    sim.run();
    expect(t.result).toMatchObject({ name: "SIGSEGV/SEGV_MAPERR" });
    expect(mm.mmapSem.history.length).toBe(before);
  });
});

/** Drives `op` from a task and calls return() on it at the first yield where `when` holds. */
function returnWhen(sim: Sim, op: () => Op<unknown>, when: () => boolean): boolean {
  let returned = false;
  sim.spawn("driver", function* (): Generator<Instruction, void, unknown> {
    const inner = op();
    let r = inner.next();
    while (r.done !== true) {
      if (when()) {
        inner.return(undefined);
        returned = true;
        return;
      }
      const v = yield r.value;
      r = inner.next(v);
    }
  });
  sim.run();
  return returned;
}

describe("a path abandoned with return() releases its lock", () => {
  it("munmap under zapRlock, returned while it holds the write lock", () => {
    const { sim, mm } = setup("zapRlock");
    expect(
      returnWhen(
        sim,
        () => sysMunmap(mm, A0, 2 * MiB),
        () => mm.mmapSem.isWriteLocked,
      ),
    ).toBe(true);
    expectLocksFree(sim, mm);
  });

  it("munmap under zapRlock, returned while it holds the read lock after the downgrade", () => {
    const { sim, mm } = setup("zapRlock");
    const read = () => mm.mmapSem.readers === 1 && !mm.mmapSem.isWriteLocked;
    expect(returnWhen(sim, () => sysMunmap(mm, A0, 2 * MiB), read)).toBe(true);
    expectLocksFree(sim, mm);
  });

  it("a page fault, returned while it holds the read lock", () => {
    const { sim, mm } = setup("classic");
    const read = () => mm.mmapSem.readers === 1;
    expect(returnWhen(sim, () => doPageFault(mm, A0 + 3 * MiB, { write: true }), read)).toBe(true);
    expectLocksFree(sim, mm);
  });
});

describe("SIGKILL", () => {
  it("a munmap killed during its read-locked zap finishes it and releases mmap_sem", () => {
    const { sim, mm } = setup("zapRlock");
    const t = sim.spawn("munmap", () => sysMunmap(mm, A0, 2 * MiB));
    let killedInRead = false;
    sim.spawn("killer", function* () {
      for (let i = 0; i < 1000 && !killedInRead; i++) {
        killedInRead = mm.mmapSem.readers === 1 && !mm.mmapSem.isWriteLocked;
        if (!killedInRead) yield sleep(1);
      }
      t.kill();
    });
    sim.run();
    expect(killedInRead).toBe(true);
    expect(t.result).toBe(0);
    validateMm(mm, { ownsPhys: true });
    expectLocksFree(sim, mm);
  });
});
