import { Sim, type TraceEvent, TraceRecorder } from "@mmlab/sched";
import { VM_DONTCOPY, VM_LOCKED, VM_WIPEONFORK, vmFlagsHas } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { anonVmaDescendsFrom, anonVmaParent } from "./anon-vma.js";
import type { CostModel } from "./cost-model.js";
import { exitMmap, mmExited } from "./exit.js";
import { doPageFault } from "./fault.js";
import { forkStats, sysFork } from "./fork.js";
import { PAGE_SIZE } from "./layout.js";
import { MADV_DONTFORK, MADV_WIPEONFORK, sysMadvise } from "./madvise.js";
import { sysMlock } from "./mlock.js";
import { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { enablePageContents, pageContentsOf } from "./page-contents.js";
import { sysMunmap } from "./sys-munmap.js";
import { allocMm, FREE, layout, MiB, runOp } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMms } from "./validate-mms.js";
import { vmaLockStats } from "./vma-lock.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const P = PAGE_SIZE;
/** Page 0 of the rulers below. */
const A0 = 0x600000000;

/** Helper function to map `pages` pages at ruler page `at`, populated. */
function* mapAt(mm: MmStruct, at: number, pages: number, flags = ANON, prot = RW) {
  return yield* sysMmap(mm, A0 + at * P, pages * P, prot, flags | MAP_FIXED | MAP_POPULATE);
}

/** Helper function to fork `mm` as one task and return the child (fails the test on -errno). */
function fork(sim: Sim, mm: MmStruct): MmStruct {
  const child = runOp(sim, () => sysFork(mm));
  if (typeof child === "number") throw new Error(`fork failed: ${child}`);
  validateMms([mm, child], { phys: true });
  return child;
}

/** Helper function: a user store of `value` into word `w` of ruler page `at` (faulting as the MMU would). */
function store(sim: Sim, mm: MmStruct, at: number, value: number, w = 0): void {
  const addr = A0 + at * P;
  if (mm.pt.followPage(addr) < 0 || (mm.pt.pteValue(addr) & 2n) === 0n) {
    const r = runOp(sim, () => doPageFault(mm, addr, { write: true }));
    if (r !== 0) throw new Error(`write fault at page ${at}: ${r.name}`);
  }
  const c = pageContentsOf(mm.phys);
  if (c !== null) c.data[mm.pt.followPage(addr) * c.words + w] = value;
}

/** Helper function: word `w` of ruler page `at` as `mm` sees it. */
function load(mm: MmStruct, at: number, w = 0): number {
  const c = pageContentsOf(mm.phys);
  const pfn = mm.pt.followPage(A0 + at * P);
  if (c === null || pfn < 0) throw new Error("no contents or no page");
  return c.data[pfn * c.words + w] as number;
}

const writable = (mm: MmStruct, at: number): boolean => (mm.pt.pteValue(A0 + at * P) & 2n) !== 0n;
const pfnAt = (mm: MmStruct, at: number): number => mm.pt.followPage(A0 + at * P);

describe("fork: dup_mmap and copy_page_range", () => {
  it("copies every VMA in order, shares private pages read-only in both, copies the counters", () => {
    const { sim, mm } = allocMm({ physBytes: 64 * MiB });
    // 0         1         2
    // 0123456789012345678901234
    // PPPPPPPP..SSSS..DDDD..WWWW   P private rw, S shared anon, D MADV_DONTFORK, W MADV_WIPEONFORK
    runOp(sim, () => mapAt(mm, 0, 8));
    runOp(sim, () => mapAt(mm, 10, 4, MAP_SHARED | MAP_ANONYMOUS));
    runOp(sim, () => mapAt(mm, 16, 4));
    runOp(sim, () => mapAt(mm, 22, 4));
    expect(runOp(sim, () => sysMadvise(mm, A0 + 16 * P, 4 * P, MADV_DONTFORK))).toBe(0);
    expect(runOp(sim, () => sysMadvise(mm, A0 + 22 * P, 4 * P, MADV_WIPEONFORK))).toBe(0);
    const before = mm.phys.counts();

    const child = fork(sim, mm);
    expect(layout(child)).toEqual([
      "600000000-600008000",
      "60000a000-60000e000",
      "600016000-60001a000",
    ]);
    expect(child.mapCount).toBe(3);
    expect(child.totalVm).toBe(mm.totalVm - 4); // the DONTCOPY VMA's pages taken back
    expect(child.dataVm).toBe(mm.dataVm - 4);
    // P: all 8 pages copied, read-only in both, mapcount 2 and refcount 2.
    for (let i = 0; i < 8; i++) {
      expect(pfnAt(child, i)).toBe(pfnAt(mm, i));
      expect(writable(mm, i)).toBe(false);
      expect(writable(child, i)).toBe(false);
      expect(mm.phys.mapcount(pfnAt(mm, i))).toBe(2);
      expect(mm.phys.refcount(pfnAt(mm, i))).toBe(2);
    }
    // S: shared anonymous (shmem) has no anon_vma: not copied, the child faults it again.
    expect(pfnAt(child, 10)).toBe(-1);
    // W: VM_WIPEONFORK, a fresh anon_vma and no pages; D is not there at all.
    const w = child.tree.findVma(A0 + 22 * P);
    expect(w !== null && vmFlagsHas(w.vmFlags, VM_WIPEONFORK)).toBe(true);
    expect(pfnAt(child, 22)).toBe(-1);
    expect(child.tree.findVma(A0 + 16 * P)?.vmStart).toBe(A0 + 22 * P);
    expect(vmFlagsHas(mm.tree.findVma(A0 + 16 * P)?.vmFlags ?? 0, VM_DONTCOPY)).toBe(true);
    // rss and page tables grown by the copy: 8 anon pages, one PTE table, its PMD and PUD.
    expect(child.pt.rss).toEqual({ file: 0, anon: 8, swapEnts: 0, shmem: 0 });
    expect([child.pt.nrPtes, child.pt.nrPmds, child.pt.nrPuds]).toEqual([1, 1, 1]);
    expect(child.pt.pgtablesBytes).toBe(3 * PAGE_SIZE);
    expect(child.hiwaterRss).toBe(8);
    // No data frame was allocated: the child shares them.
    expect(mm.phys.counts().anon).toBe(before.anon);
    expect(forkStats(child)).toEqual({ vmas: 3, ptes: 8, pmdExtents: 1 });
    // anon_vma_fork(): the child's anon_vma is a child of the parent's, chained one deeper.
    const pv = mm.tree.findVma(A0);
    const cv = child.tree.findVma(A0);
    if (pv?.anonVma == null || cv?.anonVma == null) throw new Error("no anon_vma");
    expect(anonVmaParent(cv.anonVma)).toBe(pv.anonVma);
    expect(anonVmaDescendsFrom(cv.anonVma, pv.anonVma)).toBe(true);
    expect(cv.anonVmaChainLength).toBe(2);
  });

  it("clears VM_LOCKED in the child: locked_vm 0 there, still locked in the parent", () => {
    const { sim, mm } = allocMm({ physBytes: 64 * MiB, capIpcLock: true });
    runOp(sim, () => mapAt(mm, 0, 4));
    expect(runOp(sim, () => sysMlock(mm, A0, 4 * P))).toBe(0);
    const child = fork(sim, mm);
    expect(mm.lockedVm).toBe(4);
    expect(child.lockedVm).toBe(0);
    expect(vmFlagsHas(child.tree.findVma(A0)?.vmFlags ?? 0, VM_LOCKED)).toBe(false);
  });

  it("shares the fd table's open file descriptions and the brk/stack fields", () => {
    const { sim, mm } = allocMm({ physBytes: 64 * MiB });
    mm.installFile(3, { path: "/tmp/f", ino: 7, size: 8192, readable: true, writable: true });
    mm.startBrk = 0x555555559000;
    mm.brk = 0x55555557a000;
    const child = fork(sim, mm);
    expect(child.fileOf(3)).toBe(mm.fileOf(3));
    expect([child.startBrk, child.brk]).toEqual([mm.startBrk, mm.brk]);
  });
});

describe("copy-on-write after fork", () => {
  function setup() {
    const { sim, mm } = allocMm({ physBytes: 64 * MiB });
    enablePageContents(mm.phys);
    // 01234567
    // PPPPPPPP   written 100 + i before the fork
    runOp(sim, () => mapAt(mm, 0, 8));
    for (let i = 0; i < 8; i++) store(sim, mm, i, 100 + i);
    const child = fork(sim, mm);
    return { sim, mm, child };
  }

  it("the parent's write copies the page; the child keeps the old one, unchanged", () => {
    const { sim, mm, child } = setup();
    const old = pfnAt(mm, 3);
    store(sim, mm, 3, 999);
    validateMms([mm, child], { phys: true });
    expect(pfnAt(mm, 3)).not.toBe(old);
    expect(pfnAt(child, 3)).toBe(old);
    expect([load(mm, 3), load(child, 3)]).toEqual([999, 103]);
    expect([mm.phys.mapcount(old), mm.phys.mapcount(pfnAt(mm, 3))]).toEqual([1, 1]);
    // The child, now the page's only mapper, reuses it in place: no copy.
    store(sim, child, 3, 555);
    expect(pfnAt(child, 3)).toBe(old);
    expect([load(mm, 3), load(child, 3)]).toEqual([999, 555]);
    validateMms([mm, child], { phys: true });
  });

  it("the child's write copies the page; the parent keeps the old one", () => {
    const { sim, mm, child } = setup();
    const old = pfnAt(mm, 5);
    store(sim, child, 5, 7);
    validateMms([mm, child], { phys: true });
    expect(pfnAt(child, 5)).not.toBe(old);
    expect(pfnAt(mm, 5)).toBe(old);
    expect([load(mm, 5), load(child, 5)]).toEqual([105, 7]);
    store(sim, mm, 5, 8);
    expect(pfnAt(mm, 5)).toBe(old); // reused
    expect([load(mm, 5), load(child, 5)]).toEqual([8, 7]);
  });

  it("a read never copies", () => {
    const { sim, mm, child } = setup();
    const frames = mm.phys.counts().anon;
    for (let i = 0; i < 8; i++) {
      expect(runOp(sim, () => doPageFault(child, A0 + i * P, {}))).toBe(0);
      expect(runOp(sim, () => doPageFault(mm, A0 + i * P, {}))).toBe(0);
    }
    expect(mm.phys.counts().anon).toBe(frames);
    expect(writable(mm, 0) || writable(child, 0)).toBe(false);
    validateMms([mm, child], { phys: true });
  });

  it("the child's exit leaves the parent the only mapper: its next write reuses the page", () => {
    const { sim, mm, child } = setup();
    const old = pfnAt(mm, 0);
    runOp(sim, () => exitMmap(child));
    expect(mmExited(child)).toBe(true);
    validateMms([mm, child], { phys: true });
    expect(mm.phys.mapcount(old)).toBe(1);
    store(sim, mm, 0, 1);
    expect(pfnAt(mm, 0)).toBe(old);
  });

  it("a fork/exit loop leaks nothing", () => {
    const { sim, mm } = allocMm({ physBytes: 64 * MiB });
    runOp(sim, () => mapAt(mm, 0, 600)); // two PTE tables
    const before = mm.phys.counts();
    for (let round = 0; round < 5; round++) {
      const child = fork(sim, mm);
      store(sim, child, round, 1); // a COW copy the exit must free
      store(sim, mm, 100 + round, 1); // and one the parent keeps
      runOp(sim, () => exitMmap(child));
      validateMms([mm, child], { phys: true });
    }
    expect(mm.phys.counts()).toEqual(before);
  });

  it("munmap in the parent keeps the child's pages", () => {
    const { sim, mm, child } = setup();
    const frames = [0, 1, 2, 3].map((i) => pfnAt(child, i));
    expect(runOp(sim, () => sysMunmap(mm, A0, 4 * P))).toBe(0);
    validateMms([mm, child], { phys: true });
    expect([0, 1, 2, 3].map((i) => pfnAt(child, i))).toEqual(frames);
    expect([0, 1, 2, 3].map((i) => load(child, i))).toEqual([100, 101, 102, 103]);
  });
});

/** Costs that make the interleaving readable: 100 ns per PMD extent, 1 ns per PTE. */
const COSTS: CostModel = { ...FREE, pmdStep: 100, pteCopy: 1, anonFault: 50, vmaLookup: 1 };

/**
 * Lock events of a fork of 1,024 populated pages (two PMD extents, 612 ns each) while a parent
 * thread writes page 100 at t = 150 ns: after the first extent was copied and write-protected,
 * during its cond_resched().
 */
function forkWithFaulter(strategy: string) {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const mm = new MmStruct(sim, { cost: COSTS, munmap: strategy, physBytes: 64 * MiB });
  runOp(sim, () => mapAt(mm, 0, 1024));
  const t0 = sim.now;
  const log: string[] = [];
  const rec = new TraceRecorder(sim);
  let child: MmStruct | number = 0;
  sim.spawn("fork", function* () {
    child = yield* sysFork(mm);
    log.push(`${sim.now - t0} fork returned`);
  });
  sim.spawn(
    "writer",
    function* () {
      const r = yield* doPageFault(mm, A0 + 100 * P, { write: true });
      log.push(`${sim.now - t0} writer ${r === 0 ? "wrote" : r.name}`);
    },
    { delayNs: 150 },
  );
  sim.run();
  rec.stop();
  if (typeof child === "number") throw new Error("fork failed");
  validateMms([mm, child], { phys: true });
  const names = new Map(sim.tasks.map((t) => [t.pid, t.comm]));
  const locks = rec.events
    .filter((e): e is Extract<TraceEvent, { lock: string }> => "lock" in e)
    .map(
      (e) =>
        `${e.time - t0} ${names.get(e.pid)} ${e.lock} ${e.type}${"mode" in e ? ` ${e.mode}` : ""}`,
    );
  return { locks, log, mm, child: child as MmStruct };
}

describe("fork's locks, whole trace, per strategy", () => {
  it.each(["classic", "zapRlock", "v4.20", "v5.8"])(
    "%s (no per-VMA locks): the parent's write fault waits on mmap_sem until the fork is done",
    (strategy) => {
      const { locks, log, mm, child } = forkWithFaulter(strategy);
      expect(locks).toEqual([
        "0 fork mmap_sem lock-acquire write",
        "0 fork mmap_sem lock-acquire write", // the child's, nested
        "150 writer mmap_sem lock-wait read",
        "1224 fork mmap_sem lock-release write",
        "1224 fork mmap_sem lock-release write",
        "1224 writer mmap_sem lock-acquire read",
        "1275 writer mmap_sem lock-release read",
      ]);
      expect(log).toEqual(["1224 fork returned", "1275 writer wrote"]);
      // The write came after the fork: it broke the COW, the child kept the old page.
      expect(pfnAt(mm, 100)).not.toBe(pfnAt(child, 100));
    },
  );

  it("perVmaLock (6.4.0): the write fault runs under the VMA lock in the middle of copy_page_range", () => {
    const { locks, log, mm, child } = forkWithFaulter("perVmaLock");
    expect(locks.filter((l) => l.includes("mmap_sem"))).toEqual([
      "0 fork mmap_sem lock-acquire write",
      "0 fork mmap_sem lock-acquire write",
      "1224 fork mmap_sem lock-release write",
      "1224 fork mmap_sem lock-release write",
    ]);
    // Page 100 was copied and write-protected by the first extent: the fault breaks the COW
    // (wp_page_copy) while the fork is still copying, before its flush_tlb_mm().
    expect(log).toEqual(["201 writer wrote", "1224 fork returned"]);
    expect(vmaLockStats(mm).success).toBe(1);
    expect(pfnAt(mm, 100)).not.toBe(pfnAt(child, 100));
  });

  it("v6.4.y (fb49c455323f): the VMA is write-locked, the fault falls back to mmap_lock and waits", () => {
    const { locks, log, mm } = forkWithFaulter("v6.4.y");
    expect(locks.filter((l) => l.includes("mmap_sem"))).toEqual([
      "0 fork mmap_sem lock-acquire write",
      "0 fork mmap_sem lock-acquire write",
      "151 writer mmap_sem lock-wait read",
      "1224 fork mmap_sem lock-release write",
      "1224 fork mmap_sem lock-release write",
      "1224 writer mmap_sem lock-acquire read",
      "1275 writer mmap_sem lock-release read",
    ]);
    expect(log).toEqual(["1224 fork returned", "1275 writer wrote"]);
    expect(vmaLockStats(mm).success).toBe(0);
    expect(vmaLockStats(mm).abort).toBe(1);
  });
});

describe("dupMmap errors", () => {
  it("an allocator out of frames fails the fork with -ENOMEM and leaves nothing behind", () => {
    const { sim, mm } = allocMm({ physBytes: 2 * MiB + 16 * PAGE_SIZE });
    runOp(sim, () => mapAt(mm, 0, 500));
    const free = mm.phys.freeFrames;
    // The child needs a pgd, a PUD, a PMD and a PTE table: leave only two frames.
    const grab: number[] = [];
    while (mm.phys.freeFrames > 2) grab.push(mm.phys.allocFrame("file"));
    expect(runOp(sim, () => sysFork(mm))).toBe(-12);
    for (const f of grab) mm.phys.freeFrame(f);
    expect(mm.phys.freeFrames).toBe(free);
    expect(mm.phys.mapcount(pfnAt(mm, 0))).toBe(1);
  });
});
