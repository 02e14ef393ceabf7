/**
 * One run of the patch's experiment under one munmap strategy (BENCH.md "The experiment").
 *
 *   populate (not measured)          measured phase, from t0
 *   ─────────────────────────────┬──────────────────────────────────────────────────────────
 *   mmap(size, MAP_POPULATE)     │ +1 ms  munmap_test: munmap(size)  ───────────┐ return
 *   every 4 KiB page mapped      │ ps ×readers: read /proc/PID/cmdline every psInterval
 *                                │ faulter ×N:  write-fault a fresh page, think 1 ms
 *                                │ writer ×N:   mmap 2 MiB + munmap it, think 10 ms
 *                                │                        load stops 10 ms after the return ┘
 *
 * Every figure is read off what the simulation did: the munmap's holds from mmap_sem's
 * AcquisitionRecords, waits as acquiredAt - requestedAt, the latency from the munmap task's
 * own call and return times, hung-task reports from the Sim's watchdog. Nothing is computed
 * from the cost model. The Sim runs in slices of virtual time so a caller can show progress.
 */
import {
  costProfile,
  doPageFault,
  isErrValue,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  munmapStrategy,
  PROT_READ,
  PROT_WRITE,
  Process,
  procPidCmdlineRead,
  sysMmap,
  sysMunmap,
  vmaLockStats,
} from "@mmlab/mm-core";
import { PhysMem, SlabCache } from "@mmlab/page-table";
import { type AcquisitionRecord, distributionOf } from "@mmlab/rwsem";
import { Sim, sleep, type Task, TraceRecorder } from "@mmlab/sched";
import { type ExperimentParams, MiB } from "./params.js";
import type { BenchResult, TraceCapture } from "./types.js";

/** Where things are mapped (MAP_FIXED, far apart, so no VMA merges with the big mapping). */
export const BIG_ADDR = 0x1000_0000_0000; // 16 TiB
const FAULT_ADDR = 0x2000_0000_0000;
const WRITER_ADDR = 0x3000_0000_0000;
/** Each faulter's own region: 128 MiB of fresh pages (32,768 faults before it wraps). */
const FAULT_REGION = 128 * MiB;
const WRITER_MAP = 2 * MiB;
const MUNMAP_DELAY_NS = 1e6;
const FAULT_THINK_NS = 1e6;
const WRITER_THINK_NS = 10e6;
const TAIL_NS = 10e6;
/** Virtual time per slice of sim.run() between progress callbacks. */
const SLICE_NS = 50e6;
const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** The pids the experiment gives its tasks (the hung-task report's ps was 14018). */
export const PIDS = { munmapTest: 15000, ps: 14018 } as const;

export type Phase = "populate" | "zap";

export interface RunHooks {
  /** Called after each slice: pages populated so far / pages zapped so far, of `total`. */
  onProgress?(phase: Phase, done: number, total: number): void;
  /** Record a TraceCapture of the measured phase (for --trace, --ftrace, --report). */
  trace?: boolean;
  /** Wall clock for the phase timings (ms). */
  now?: () => number;
  /**
   * Physical memory and page-table slabs to reuse across runs (see Machine): the run builds
   * its mm on them and gives them back reset at the end, so the next run pays no first-touch
   * faults. Default: a fresh PhysMem and fresh slabs, freed with the run's mm.
   */
  machine?: Machine;
}

/**
 * The host-side memory one run's mm is built on: a PhysMem (reset between runs) and a
 * SlabCache for the page tables' entries. Reusing it changes no figure of a run (a reset
 * PhysMem is in the state of a new one, recycled slabs are zeroed), only how much memory
 * the Node process touches for the first time.
 */
export interface Machine {
  phys: PhysMem;
  slabCache: SlabCache;
}

/** A Machine for runs one after another in this process. */
export function newMachine(): Machine {
  return { phys: new PhysMem(), slabCache: new SlabCache() };
}

/** This process's CPU time in the kernel (ms) and page faults so far. */
function hostCounters(): { sysMs: number; faults: number } {
  const u = process.resourceUsage();
  return { sysMs: u.systemCPUTime / 1000, faults: u.minorPageFault + u.majorPageFault };
}

export interface ExperimentRun {
  result: BenchResult;
  capture: TraceCapture | null;
}

/** Runs the experiment once under `strategyName`. */
export function runExperiment(
  params: ExperimentParams,
  strategyName: string,
  hooks: RunHooks = {},
): ExperimentRun {
  const now = hooks.now ?? (() => performance.now());
  const strategy = munmapStrategy(strategyName);
  const sim = new Sim({
    seed: params.seed,
    cpus: params.cpus ?? Number.POSITIVE_INFINITY,
    hungTaskTimeoutNs: params.hungTaskTimeoutNs,
  });
  const proc = new Process(sim, {
    comm: "munmap_test",
    pid: PIDS.munmapTest,
    argv: ["./munmap_test", `${params.sizeBytes / 1024 ** 3}G`],
    cost: costProfile(params.profile),
    munmap: strategy,
    tree: params.tree,
    levels: params.levels,
    rwsem: params.rwsem,
    ...(hooks.machine === undefined
      ? {}
      : { phys: hooks.machine.phys, slabCache: hooks.machine.slabCache }),
  });
  const mm = proc.mm;
  const size = params.sizeBytes;
  const totalPages = size / PAGE;

  // ── Populate (not measured) ──────────────────────────────────────────────────────────
  const wall0 = now();
  const host0 = hostCounters();
  const rssBefore = mm.rss;
  const setup = proc.spawnThread("munmap_test", function* () {
    const big = yield* sysMmap(mm, BIG_ADDR, size, RW, ANON | MAP_FIXED | MAP_POPULATE);
    if (isErrValue(big)) throw new Error(`mmlab-bench: mmap of the big mapping failed: ${big}`);
    if (params.faulters > 0) {
      const r = yield* sysMmap(
        mm,
        FAULT_ADDR,
        params.faulters * FAULT_REGION,
        RW,
        ANON | MAP_FIXED,
      );
      if (isErrValue(r)) throw new Error(`mmlab-bench: mmap of the fault region failed: ${r}`);
    }
  });
  while (setup.state !== "dead") {
    sim.run({ until: sim.now + SLICE_NS });
    hooks.onProgress?.("populate", mm.rss - rssBefore, totalPages);
  }
  const pages = mm.rss - rssBefore; // every page of the big mapping, as populate mapped them
  const wallPopulate = now() - wall0;

  // ── Measured phase ───────────────────────────────────────────────────────────────────
  const wall1 = now();
  const host1 = hostCounters();
  const t0 = sim.now;
  const rec = hooks.trace === true ? new TraceRecorder(sim) : null;
  const random = sim.random;
  let stopAt = Number.POSITIVE_INFINITY; // set when the munmap returns
  let callAt = Number.NaN;
  let returnAt = Number.NaN;
  let munmapRet = Number.NaN;
  const measured: Task[] = [];

  const munmapTask = proc.spawnThread("munmap_test", function* () {
    yield sleep(MUNMAP_DELAY_NS);
    callAt = sim.now;
    munmapRet = yield* sysMunmap(mm, BIG_ADDR, size);
    returnAt = sim.now;
    stopAt = sim.now + TAIL_NS;
  });
  measured.push(munmapTask);

  const psPids = new Set<number>();
  for (let i = 0; i < params.readers; i++) {
    const task = sim.spawn(
      "ps",
      function* () {
        while (sim.now < stopAt) {
          yield* procPidCmdlineRead(proc);
          yield sleep(Math.round(random.jitter(params.psIntervalNs, 0.1)));
        }
      },
      { pid: PIDS.ps + i },
    );
    psPids.add(task.pid);
    measured.push(task);
  }

  const faultPids = new Set<number>();
  for (let i = 0; i < params.faulters; i++) {
    const base = FAULT_ADDR + i * FAULT_REGION;
    const regionPages = FAULT_REGION / PAGE;
    const task = proc.spawnThread(`faulter${i}`, function* () {
      for (let k = 0; sim.now < stopAt; k++) {
        yield* doPageFault(mm, base + (k % regionPages) * PAGE, { write: true });
        yield sleep(Math.round(random.jitter(FAULT_THINK_NS, 0.5)));
      }
    });
    faultPids.add(task.pid);
    measured.push(task);
  }

  const writerPids = new Set<number>();
  for (let i = 0; i < params.writers; i++) {
    const addr = WRITER_ADDR + i * 16 * MiB;
    const task = proc.spawnThread(`writer${i}`, function* () {
      yield sleep(Math.round(random.jitter(WRITER_THINK_NS, 0.5)));
      while (sim.now < stopAt) {
        const r = yield* sysMmap(mm, addr, WRITER_MAP, RW, ANON | MAP_FIXED);
        if (!isErrValue(r)) yield* sysMunmap(mm, addr, WRITER_MAP);
        yield sleep(Math.round(random.jitter(WRITER_THINK_NS, 0.5)));
      }
    });
    writerPids.add(task.pid);
    measured.push(task);
  }

  const rssAtT0 = mm.rss;
  const lockStats = vmaLockStats(mm);
  const lockAtT0 = {
    success: lockStats.success,
    abort: lockStats.abort,
    retry: lockStats.retry,
    pids: lockStats.lockFreePids.length,
  };
  while (!allDead(measured)) {
    sim.run({ until: sim.now + SLICE_NS });
    const zapped = Number.isNaN(callAt) ? 0 : Math.max(0, Math.min(pages, rssAtT0 - mm.rss));
    hooks.onProgress?.("zap", Number.isNaN(returnAt) ? zapped : pages, pages);
  }
  rec?.stop();
  if (munmapRet !== 0) throw new Error(`mmlab-bench: munmap returned ${munmapRet}`);
  const wallMeasured = now() - wall1;
  const host2 = hostCounters();

  // ── Figures, read off the lock and the tasks ─────────────────────────────────────────
  const history = mm.mmapSem.history;
  const own = history.find(
    (r) => r.pid === munmapTask.pid && r.mode === "write" && r.requestedAt >= callAt,
  );
  if (own === undefined) throw new Error("mmlab-bench: no mmap_sem record for the munmap");
  const downgraded = !Number.isNaN(own.downgradedAt);
  const exclusiveEnd = downgraded ? own.downgradedAt : own.releasedAt;
  const reports = sim.hungTaskReports.map((r) => ({ ...r }));

  const result: BenchResult = {
    strategy: strategy.name,
    kernel: strategy.kernel,
    pages,
    munmapLatencyNs: returnAt - callAt,
    exclusiveHoldNs: exclusiveEnd - own.acquiredAt,
    sharedHoldNs: downgraded ? own.releasedAt - own.downgradedAt : 0,
    psWait: waits(history, psPids, t0, "read"),
    faultWait: waits(history, faultPids, t0, "read"),
    writerWait: waits(history, writerPids, t0, "write"),
    hungTaskReports: reports,
    sim: {
      wallMs: { populate: round2(wallPopulate), measured: round2(wallMeasured) },
      sysMs: {
        populate: round2(host1.sysMs - host0.sysMs),
        measured: round2(host2.sysMs - host1.sysMs),
      },
      pageFaults: { populate: host1.faults - host0.faults, measured: host2.faults - host1.faults },
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    },
  };

  if (strategy.perVmaLock === true) {
    // What the per-VMA-lock fault path did in the measured phase (vmaLockStats counts
    // since the mm was created; populate's GUP never takes that path, but subtract anyway).
    const lockFree = new Map<number, number>();
    for (const pid of lockStats.lockFreePids.slice(lockAtT0.pids)) {
      lockFree.set(pid, (lockFree.get(pid) ?? 0) + 1);
    }
    result.vmaLock = {
      lockFreeFaults: lockStats.success - lockAtT0.success,
      aborts: lockStats.abort - lockAtT0.abort,
      retries: lockStats.retry - lockAtT0.retry,
      tasks: measured
        .filter((t) => faultPids.has(t.pid) || lockFree.has(t.pid))
        .map((t) => ({
          pid: t.pid,
          comm: t.comm,
          lockFreeFaults: lockFree.get(t.pid) ?? 0,
          mmapSemAcquisitions: history.filter((r) => r.pid === t.pid && r.requestedAt >= t0).length,
        })),
    };
  }

  const capture: TraceCapture | null =
    rec === null
      ? null
      : {
          strategy: strategy.name,
          t0,
          tasks: sim.tasks
            .filter((t) => t !== setup)
            .map((t) => ({
              pid: t.pid,
              tgid: proc.threads.includes(t) ? proc.pid : t.pid,
              comm: t.comm,
            })),
          events: rec.events,
          hungTaskReports: sim.hungTaskReports.filter((r) => r.time >= t0),
        };
  if (hooks.machine !== undefined) {
    mm.pt.dispose();
    hooks.machine.phys.reset();
  }
  return { result, capture };
}

function allDead(tasks: readonly Task[]): boolean {
  for (const t of tasks) if (t.state !== "dead") return false;
  return true;
}

/** Wait distribution (acquiredAt - requestedAt) of `pids`' acquisitions in `mode` after t0. */
function waits(
  history: readonly AcquisitionRecord[],
  pids: ReadonlySet<number>,
  t0: number,
  mode: "read" | "write",
) {
  const samples: number[] = [];
  for (const r of history) {
    if (r.mode === mode && r.requestedAt >= t0 && pids.has(r.pid)) {
      samples.push(r.acquiredAt - r.requestedAt);
    }
  }
  return distributionOf(samples);
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}
