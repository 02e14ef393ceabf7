/**
 * Small real runs for the renderers' tests: the shape of the bench experiment (a populated
 * mapping, ps reading /proc/PID/cmdline, faulting threads, an mmap/munmap writer, one big
 * munmap) at test size, simulated with mm-core under each strategy. Everything in the
 * returned BenchJson is read off the lock history, as the CLI does.
 */
import {
  doPageFault,
  E5_2680_V4_18,
  isErrValue,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  Process,
  procPidCmdlineRead,
  sysMmap,
  sysMunmap,
} from "@mmlab/mm-core";
import { PhysMem } from "@mmlab/page-table";
import { type AcquisitionRecord, distributionOf } from "@mmlab/rwsem";
import { Sim, sleep, type Task, TraceRecorder } from "@mmlab/sched";
import type { BenchJson, BenchResult, TraceCapture } from "../types.js";

const MiB = 1024 * 1024;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const BIG = 0x1000_0000_0000;
const FAULTS = 0x2000_0000_0000;
const WRITES = 0x3000_0000_0000;

export interface SmallRunOptions {
  sizeBytes?: number;
  readers?: number;
  faulters?: number;
  writers?: number;
  psIntervalNs?: number;
  hungTaskTimeoutNs?: number;
  /** when the writers start (default 3.65 ms: after a 64 MiB munmap returns, so they do not block it) */
  writerDelayNs?: number;
  seed?: number;
}

export interface SmallRun {
  json: BenchJson;
  captures: TraceCapture[];
}

/** Runs `strategies` one after the other (64 MiB by default) and returns JSON + captures. */
export function smallRun(
  strategies: readonly string[] = ["classic", "zapRlock"],
  opts: SmallRunOptions = {},
): SmallRun {
  const o = {
    sizeBytes: 64 * MiB,
    readers: 1,
    faulters: 2,
    writers: 1,
    psIntervalNs: 500e3,
    hungTaskTimeoutNs: 1e6,
    writerDelayNs: 3.65e6,
    seed: 1,
    ...opts,
  };
  const results: BenchResult[] = [];
  const captures: TraceCapture[] = [];
  for (const strategy of strategies) {
    const { result, capture } = runOne(strategy, o);
    results.push(result);
    captures.push(capture);
  }
  const json: BenchJson = {
    context: {
      version: "0.0.0",
      seed: o.seed,
      profile: E5_2680_V4_18.name,
      profileSource: E5_2680_V4_18.source,
      model: "linux v4.18 mm/mmap.c",
      time: "virtual (ns)",
      machine: { node: process.version, cpus: 2, cpuModel: "test", os: process.platform },
      params: {
        sizeBytes: o.sizeBytes,
        readers: o.readers,
        faulters: o.faulters,
        writers: o.writers,
        rwsem: "v4.18",
        tree: "rb",
        levels: 4,
        cpus: null,
        hungTaskTimeoutNs: o.hungTaskTimeoutNs,
        psIntervalNs: o.psIntervalNs,
      },
    },
    results,
  };
  return { json, captures };
}

function runOne(
  strategy: string,
  o: Required<SmallRunOptions>,
): { result: BenchResult; capture: TraceCapture } {
  const sim = new Sim({ seed: o.seed, hungTaskTimeoutNs: o.hungTaskTimeoutNs });
  const proc = new Process(sim, {
    comm: "munmap_test",
    pid: 15000,
    argv: ["./munmap_test", "64M"],
    cost: E5_2680_V4_18,
    munmap: strategy,
    phys: new PhysMem({ bytes: o.sizeBytes + 64 * MiB }),
  });
  const mm = proc.mm;
  const setup = proc.spawnThread("munmap_test", function* () {
    const r = yield* sysMmap(mm, BIG, o.sizeBytes, RW, ANON | MAP_FIXED | MAP_POPULATE);
    if (isErrValue(r)) throw new Error(`mmap failed: ${r}`);
    const f = yield* sysMmap(mm, FAULTS, 16 * MiB, RW, ANON | MAP_FIXED);
    if (isErrValue(f)) throw new Error(`mmap failed: ${f}`);
  });
  sim.run();
  if (setup.state !== "dead") throw new Error("populate did not finish");
  const pages = mm.rss;

  const t0 = sim.now;
  const rec = new TraceRecorder(sim);
  let stopAt = Number.POSITIVE_INFINITY;
  let callAt = Number.NaN;
  let returnAt = Number.NaN;
  const munmap = proc.spawnThread("munmap_test", function* () {
    yield sleep(100e3);
    callAt = sim.now;
    const r = yield* sysMunmap(mm, BIG, o.sizeBytes);
    if (r !== 0) throw new Error(`munmap returned ${r}`);
    returnAt = sim.now;
    stopAt = sim.now + 200e3;
  });
  const ps: Task[] = [];
  for (let i = 0; i < o.readers; i++) {
    const t = sim.spawn(
      "ps",
      function* () {
        while (sim.now < stopAt) {
          yield* procPidCmdlineRead(proc);
          yield sleep(o.psIntervalNs);
        }
      },
      { pid: 14018 + i, delayNs: 50e3 },
    );
    ps.push(t);
  }
  const faulters: Task[] = [];
  for (let i = 0; i < o.faulters; i++) {
    const base = FAULTS + i * 4 * MiB;
    faulters.push(
      proc.spawnThread(`faulter${i}`, function* () {
        for (let k = 0; sim.now < stopAt; k++) {
          yield* doPageFault(mm, base + (k % 1024) * 4096, { write: true });
          yield sleep(150e3 + 10e3 * i);
        }
      }),
    );
  }
  const writers: Task[] = [];
  for (let i = 0; i < o.writers; i++) {
    const addr = WRITES + i * 16 * MiB;
    writers.push(
      proc.spawnThread(`writer${i}`, function* () {
        yield sleep(o.writerDelayNs);
        while (sim.now < stopAt) {
          const r = yield* sysMmap(mm, addr, 2 * MiB, RW, ANON | MAP_FIXED);
          if (!isErrValue(r)) yield* sysMunmap(mm, addr, 2 * MiB);
          yield sleep(1e6);
        }
      }),
    );
  }
  sim.run();
  rec.stop();

  const history = mm.mmapSem.history;
  const own = history.find(
    (r) => r.pid === munmap.pid && r.mode === "write" && r.requestedAt >= callAt,
  );
  if (own === undefined) throw new Error("no mmap_sem record for the munmap");
  const downgraded = !Number.isNaN(own.downgradedAt);
  const result: BenchResult = {
    strategy,
    kernel: mm.munmapStrategy.kernel,
    pages,
    munmapLatencyNs: returnAt - callAt,
    exclusiveHoldNs: (downgraded ? own.downgradedAt : own.releasedAt) - own.acquiredAt,
    sharedHoldNs: downgraded ? own.releasedAt - own.downgradedAt : 0,
    psWait: waits(history, ps, t0, "read"),
    faultWait: waits(history, faulters, t0, "read"),
    writerWait: waits(history, writers, t0, "write"),
    hungTaskReports: sim.hungTaskReports.map((r) => ({ ...r })),
    sim: {
      wallMs: { populate: 1.5, measured: 2.25 },
      sysMs: { populate: 0.5, measured: 0.25 },
      pageFaults: { populate: 1000, measured: 10 },
      peakRssBytes: 123 * MiB,
    },
  };
  const capture: TraceCapture = {
    strategy,
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
  return { result, capture };
}

function waits(
  history: readonly AcquisitionRecord[],
  tasks: readonly Task[],
  t0: number,
  mode: "read" | "write",
) {
  const pids = new Set(tasks.map((t) => t.pid));
  const samples: number[] = [];
  for (const r of history) {
    if (r.mode === mode && r.requestedAt >= t0 && pids.has(r.pid)) {
      samples.push(r.acquiredAt - r.requestedAt);
    }
  }
  return distributionOf(samples);
}
