/**
 * Lock behaviour of the later strategies, whole traces as in concurrency.test.ts: v4.20
 * downgrades every munmap, v5.8 keeps the write lock next to a VM_GROWSDOWN stack, and
 * perVmaLock faults never touch mmap_sem. Costs are zero except COSTS, so every time can be
 * read off the scenario.
 */
import { PhysMem } from "@mmlab/page-table";
import { Sim, sleep, type TraceEvent, TraceRecorder } from "@mmlab/sched";
import { describe, expect, it } from "vitest";
import { doPageFault, FAULT_SIGSEGV_MAPERR } from "../fault.js";
import { sysMmap } from "../mmap.js";
import { mmPopulate } from "../populate.js";
import { Process, procPidCmdlineRead } from "../process.js";
import { sysMunmap } from "../sys-munmap.js";
import { allocMm, FREE, layout, MiB, runChecked } from "../test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "../uapi.js";
import { validateMm } from "../validate.js";
import { mmLockSeq, vmaIsWriteLocked, vmaLockOf, vmaLockStats } from "../vma-lock.js";
import { munmapStrategies, munmapStrategy } from "./registry.js";
import { __doMunmap } from "./v4-20.js";
import { __doMunmapV5_8 } from "./v5-8.js";
import { doVmiMunmap } from "./v6-4.js";

const COSTS = { ...FREE, name: "scenario", vmaDetach: 10, pmdStep: 1000, anonFault: 100 };
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const STACK_START = 0x7ffffffde000; // the 132 KiB initial stack of a Process
type LogLine = [comm: string, time: number, what: string];

/**
 * One process; `victim` (8 MiB, populated: 4 zap steps of 1 us) is unmapped at t=0 while a
 * faulter writes a fresh page of OTHER (a 4 MiB VMA with an anon_vma) and ps reads cmdline.
 *
 *   OTHER 0x700000000 [== 2 MiB populated ==|.. fault at +3 MiB ..)
 *   victim            [======== 8 MiB populated ========)   (below the stack, or far from it)
 */
function scenario(strategy: string, victim: number) {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const proc = new Process(sim, {
    comm: "bench",
    pid: 100,
    cost: COSTS,
    munmap: strategy,
    phys: new PhysMem({ bytes: 64 * MiB }),
  });
  const mm = proc.mm;
  const OTHER = 0x700000000;
  sim.spawn("setup", function* () {
    yield* sysMmap(mm, victim, 8 * MiB, RW, ANON | MAP_FIXED | MAP_POPULATE);
    yield* sysMmap(mm, OTHER, 4 * MiB, RW, ANON | MAP_FIXED);
    yield* mmPopulate(mm, OTHER, 2 * MiB);
  });
  sim.run();
  validateMm(mm, { ownsPhys: true });
  const t0 = sim.now;
  const log: LogLine[] = [];
  const rec = new TraceRecorder(sim);
  proc.spawnThread("munmap", function* () {
    const r = yield* sysMunmap(mm, victim, 8 * MiB);
    log.push(["munmap", sim.now - t0, `returned ${r}`]);
  });
  sim.spawn("ps", function* () {
    yield sleep(5);
    const text = yield* procPidCmdlineRead(proc);
    log.push(["ps", sim.now - t0, `read ${text.length} bytes`]);
  });
  const faulter = proc.spawnThread("faulter", function* () {
    yield sleep(1);
    const r = yield* doPageFault(mm, OTHER + 3 * MiB, { write: true });
    log.push(["faulter", sim.now - t0, r === 0 ? "mapped" : r.name]);
  });
  proc.spawnThread("stray", function* () {
    yield sleep(20);
    const r = yield* doPageFault(mm, victim + 4096, { write: true });
    log.push(["stray", sim.now - t0, r === 0 ? "mapped" : r.name]);
  });
  sim.run();
  rec.stop();
  validateMm(mm, { ownsPhys: true });
  const locks = rec.events
    .filter((e): e is Extract<TraceEvent, { lock: string }> => "lock" in e)
    .map(
      (e) =>
        [
          sim.tasks.find((t) => t.pid === e.pid)?.comm ?? String(e.pid),
          e.time - t0,
          `${e.lock} ${e.type}${"mode" in e ? ` ${e.mode}` : ""}`,
        ] as LogLine,
    );
  return { log, locks, mm, faulter };
}

const FAR = 0x600000000;
const BELOW_STACK = STACK_START - 8 * MiB;

describe("the strategy registry", () => {
  it("holds the six strategies in order, each citing its kernel", () => {
    expect(munmapStrategies().map((s) => s.name)).toEqual([
      "classic",
      "zapRlock",
      "v4.20",
      "v5.8",
      "perVmaLock",
      "v6.4.y",
    ]);
    expect(munmapStrategy("v4.20").kernel).toContain("dd2283f2605e");
    expect(munmapStrategy("v5.8").kernel).toContain("246c320a8cfe");
    expect(munmapStrategy("perVmaLock").kernel).toContain("v6.4");
    expect(munmapStrategy("perVmaLock").perVmaLock).toBe(true);
    expect(munmapStrategy("perVmaLock").forkLocksVmas).toBeUndefined();
    expect(munmapStrategy("v6.4.y").kernel).toContain("fb49c455323f");
    expect(munmapStrategy("v6.4.y").perVmaLock).toBe(true);
    expect(munmapStrategy("v6.4.y").forkLocksVmas).toBe(true);
    expect(munmapStrategy("classic").doMunmap).toBeUndefined();
  });
});

describe("v4.20: __do_munmap(..., downgrade) for every mapping", () => {
  it("downgrades after the detach: faults elsewhere and ps run during the zap, a stray fault gets SIGSEGV", () => {
    const { log, locks } = scenario("v4.20", BELOW_STACK);
    expect(locks).toEqual([
      ["munmap", 0, "mmap_sem lock-acquire write"],
      ["faulter", 1, "mmap_sem lock-wait read"],
      ["ps", 5, "mmap_sem lock-wait read"],
      ["munmap", 10, "mmap_sem lock-downgrade"],
      ["faulter", 10, "mmap_sem lock-acquire read"],
      ["ps", 10, "mmap_sem lock-acquire read"],
      ["ps", 10, "mmap_sem lock-release read"],
      ["stray", 20, "mmap_sem lock-acquire read"],
      ["stray", 20, "mmap_sem lock-release read"],
      ["faulter", 110, "mmap_sem lock-release read"],
      ["munmap", 5010, "mmap_sem lock-release read"],
    ]);
    // 8 MiB that is not 2 MiB aligned spans 5 PMD entries: 5 zap steps of 1 us.
    expect(log).toEqual([
      ["ps", 10, "read 6 bytes"],
      ["stray", 20, FAULT_SIGSEGV_MAPERR.name],
      ["faulter", 110, "mapped"],
      ["munmap", 5010, "returned 0"],
    ]);
  });

  it("__do_munmap returns 1 with the read lock held when asked to downgrade, 0 with the write lock when not", () => {
    for (const [downgrade, want] of [
      [true, 1],
      [false, 0],
    ] as const) {
      const { sim, mm } = allocMm();
      runChecked(sim, mm, () => sysMmap(mm, FAR, 2 * MiB, RW, ANON | MAP_FIXED | MAP_POPULATE));
      const r = runChecked(sim, mm, function* () {
        yield* mm.mmapSem.downWrite();
        const ret = yield* __doMunmap(mm, FAR, MiB, null, downgrade);
        const held = mm.mmapSem.isWriteLocked ? "write" : `read x${mm.mmapSem.readers}`;
        if (ret === 1) mm.mmapSem.upRead();
        else mm.mmapSem.upWrite();
        return [ret, held];
      });
      expect(r).toEqual([want, want === 1 ? "read x1" : "write"]);
      expect(layout(mm)).toEqual(["600100000-600200000"]);
    }
  });

  it("errors and no-overlap return without downgrading", () => {
    const { sim, mm } = allocMm();
    const r = runChecked(sim, mm, function* () {
      yield* mm.mmapSem.downWrite();
      const a = yield* __doMunmap(mm, FAR + 1, 4096, null, true);
      const b = yield* __doMunmap(mm, FAR, 4096, null, true);
      const held = mm.mmapSem.isWriteLocked;
      mm.mmapSem.upWrite();
      return [a, b, held];
    });
    expect(r).toEqual([-22, 0, true]);
  });
});

describe("v5.8: no downgrade next to a VM_GROWSDOWN VMA (246c320a8cfe)", () => {
  it("far from the stack it downgrades like v4.20", () => {
    const v58 = scenario("v5.8", FAR);
    const v420 = scenario("v4.20", FAR);
    expect(v58.locks).toEqual(v420.locks);
    expect(v58.locks).toContainEqual(["munmap", 10, "mmap_sem lock-downgrade"]);
  });

  it("directly below the stack it keeps the write lock for the whole munmap, as classic", () => {
    const { log, locks } = scenario("v5.8", BELOW_STACK);
    expect(locks).toEqual([
      ["munmap", 0, "mmap_sem lock-acquire write"],
      ["faulter", 1, "mmap_sem lock-wait read"],
      ["ps", 5, "mmap_sem lock-wait read"],
      ["stray", 20, "mmap_sem lock-wait read"],
      ["munmap", 5010, "mmap_sem lock-release write"],
      ["faulter", 5010, "mmap_sem lock-acquire read"],
      ["ps", 5010, "mmap_sem lock-acquire read"],
      ["stray", 5010, "mmap_sem lock-acquire read"],
      ["ps", 5010, "mmap_sem lock-release read"],
      ["stray", 5010, "mmap_sem lock-release read"],
      ["faulter", 5110, "mmap_sem lock-release read"],
    ]);
    expect(log).toEqual([
      ["munmap", 5010, "returned 0"],
      ["ps", 5010, "read 6 bytes"],
      ["stray", 5010, FAULT_SIGSEGV_MAPERR.name],
      ["faulter", 5110, "mapped"],
    ]);
    const classic = scenario("classic", BELOW_STACK);
    expect(classic.locks).toEqual(locks);
  });

  it("__do_munmap returns 0 (write lock kept) below the stack even when asked to downgrade", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const proc = new Process(sim, {
      comm: "p",
      cost: FREE,
      phys: new PhysMem({ bytes: 64 * MiB }),
    });
    const mm = proc.mm;
    let ret = Number.NaN;
    sim.spawn("t", function* () {
      yield* sysMmap(mm, BELOW_STACK, 8 * MiB, RW, ANON | MAP_FIXED);
      yield* mm.mmapSem.downWrite();
      ret = yield* __doMunmapV5_8(mm, BELOW_STACK, 8 * MiB, null, true);
      mm.mmapSem.upWrite();
    });
    sim.run();
    expect(ret).toBe(0);
    validateMm(mm, { ownsPhys: true });
  });
});

describe("perVmaLock: faults on the VMA's own lock (v6.4)", () => {
  it("the faulter never touches mmap_sem; ps and the stray fault still do", () => {
    const { log, locks, mm, faulter } = scenario("perVmaLock", FAR);
    // Its only lock is the VMA's own vm_lock, held across the page allocation.
    expect(locks.filter((l) => l[0] === "faulter")).toEqual([
      ["faulter", 1, "vm_lock lock-acquire read"],
      ["faulter", 101, "vm_lock lock-release read"],
    ]);
    expect(locks.filter((l) => l[2].startsWith("mmap_sem"))).toEqual([
      ["munmap", 0, "mmap_sem lock-acquire write"],
      ["ps", 5, "mmap_sem lock-wait read"],
      ["munmap", 10, "mmap_sem lock-downgrade"],
      ["ps", 10, "mmap_sem lock-acquire read"],
      ["ps", 10, "mmap_sem lock-release read"],
      ["stray", 20, "mmap_sem lock-acquire read"],
      ["stray", 20, "mmap_sem lock-release read"],
      ["munmap", 4010, "mmap_sem lock-release read"],
    ]);
    // The faulter ran during munmap's write hold: 1 + 100 ns of page allocation.
    expect(log).toEqual([
      ["ps", 10, "read 6 bytes"],
      ["stray", 20, FAULT_SIGSEGV_MAPERR.name],
      ["faulter", 101, "mapped"],
      ["munmap", 4010, "returned 0"],
    ]);
    const stats = vmaLockStats(mm);
    expect(stats.success).toBe(1);
    expect(stats.lockFreePids).toEqual([faulter.pid]);
    // The stray fault found its VMA write-locked (or gone): it fell back to mmap_sem.
    expect(stats.abort).toBeGreaterThanOrEqual(1);
  });

  it("munmap's vma_start_write waits for a lock-free fault in progress on the VMA it detaches", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const proc = new Process(sim, {
      comm: "p",
      pid: 100,
      cost: COSTS,
      munmap: "perVmaLock",
      phys: new PhysMem({ bytes: 64 * MiB }),
    });
    const mm = proc.mm;
    sim.spawn("setup", function* () {
      yield* sysMmap(mm, FAR, 4 * MiB, RW, ANON | MAP_FIXED);
      yield* mmPopulate(mm, FAR, 2 * MiB);
    });
    sim.run();
    const t0 = sim.now;
    const rec = new TraceRecorder(sim);
    const log: LogLine[] = [];
    proc.spawnThread("faulter", function* () {
      const r = yield* doPageFault(mm, FAR + 3 * MiB, { write: true });
      log.push(["faulter", sim.now - t0, r === 0 ? "mapped" : r.name]);
    });
    proc.spawnThread("munmap", function* () {
      yield sleep(50);
      const r = yield* sysMunmap(mm, FAR, 4 * MiB);
      log.push(["munmap", sim.now - t0, `returned ${r}`]);
    });
    sim.run();
    rec.stop();
    const locks = rec.events
      .filter((e): e is Extract<TraceEvent, { lock: string }> => "lock" in e)
      .map((e) => [
        sim.tasks.find((t) => t.pid === e.pid)?.comm,
        e.time - t0,
        `${e.lock} ${e.type}${"mode" in e ? ` ${e.mode}` : ""}`,
      ]);
    expect(locks).toEqual([
      ["faulter", 0, "vm_lock lock-acquire read"],
      ["munmap", 50, "mmap_sem lock-acquire write"],
      ["munmap", 50, "vm_lock lock-wait write"],
      ["faulter", 100, "vm_lock lock-release read"],
      ["munmap", 100, "vm_lock lock-acquire write"],
      ["munmap", 100, "vm_lock lock-release write"],
      // The first VMA above the hole is the stack (VM_GROWSDOWN), far away as it is: no
      // downgrade (v5.8's test, kept in 6.4).
      ["munmap", 2110, "mmap_sem lock-release write"],
    ]);
    expect(log).toEqual([
      ["faulter", 100, "mapped"],
      ["munmap", 2110, "returned 0"],
    ]);
    validateMm(mm, { ownsPhys: true });
  });

  it("VMA write locks end all at once with the unlock (mm_lock_seq++)", () => {
    const { sim, mm } = allocMm({ munmap: "perVmaLock" });
    runChecked(sim, mm, () => sysMmap(mm, FAR, 4 * MiB, RW, ANON | MAP_FIXED));
    const vma = mm.vmas()[0];
    if (vma === undefined) throw new Error("no vma");
    const seq0 = mmLockSeq(mm);
    const r = runChecked(sim, mm, function* () {
      yield* mm.mmapSem.downWrite();
      // Unmap the top 1 MiB only: the lower piece stays, write-locked until the unlock.
      const ret = yield* doVmiMunmap(mm, FAR + 3 * MiB, MiB, null, false);
      const locked = vmaIsWriteLocked(mm, vma);
      mm.mmapSem.upWrite();
      return [ret, locked];
    });
    expect(r).toEqual([0, true]);
    expect(mmLockSeq(mm)).toBe(seq0); // a plain upWrite() does not end VMA write locks ...
    expect(vmaIsWriteLocked(mm, vma)).toBe(true);
    const r2 = runChecked(sim, mm, () => sysMunmap(mm, FAR + 2 * MiB, MiB));
    expect(r2).toBe(0);
    expect(mmLockSeq(mm)).toBe(seq0 + 1); // ... the strategy's mmap_write_downgrade does
    expect(vmaIsWriteLocked(mm, vma)).toBe(false);
    expect(vmaLockOf(mm, vma).detached).toBe(false);
  });
});
