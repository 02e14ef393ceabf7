/**
 * `mmlab-bench hung-task`: the production symptom of the patch's report
 * (`INFO: task ps:14018 blocked for more than 120 seconds.`). Several threads of one process
 * loop mmap(MAP_POPULATE) / munmap over regions of tens of GB each, as in the mmap/munmap
 * scalability test that triggered the report, while `ps` reads /proc/PID/cmdline.
 *
 * Why ps blocks, under the v4.18 rwsem: ps's down_read() queues behind any waiting writer
 * (a reader never passes a queued writer), so it waits for the munmap holding mmap_sem for
 * write, for every writer queued ahead of it, and for the read holders those writers wait
 * for (__mm_populate() holds mmap_sem for read across the whole populate). Under classic
 * the munmap's write hold covers the whole zap. The model is not tuned to reach 120 s: the
 * output reports the longest block observed and what a 120 s block would take.
 */
import {
  costProfile,
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
} from "@mmlab/mm-core";
import { distributionOf } from "@mmlab/rwsem";
import { Sim, sleep, type Task, TraceRecorder } from "@mmlab/sched";
import { PIDS } from "./experiment.js";
import type { ExperimentParams } from "./params.js";
import type { HungTaskResult, TraceCapture } from "./types.js";

const REGION_BASE = 0x1000_0000_0000;
const REGION_STRIDE = 0x0100_0000_0000; // 1 TiB apart: no merges between threads
const PMD = 2 * 1024 * 1024;
const PAGE = 4096;
const SLICE_NS = 100e6;
/** Thread i starts i * STAGGER_NS late (plus jitter), so their phases interleave. */
const STAGGER_NS = 2e9;

export interface HungTaskParams extends ExperimentParams {
  /** mmap/populate/munmap threads (the CLI's --writers; default 4) */
  threads: number;
  /** cycles per thread */
  rounds: number;
}

export interface HungTaskRun {
  result: HungTaskResult;
  capture: TraceCapture | null;
}

export function runHungTask(
  params: HungTaskParams,
  strategyName: string,
  hooks: {
    onProgress?(rss: number, total: number): void;
    trace?: boolean;
    now?: () => number;
  } = {},
): HungTaskRun {
  const now = hooks.now ?? (() => performance.now());
  const wall0 = now();
  const strategy = munmapStrategy(strategyName);
  const sim = new Sim({
    seed: params.seed,
    cpus: params.cpus ?? Number.POSITIVE_INFINITY,
    hungTaskTimeoutNs: params.hungTaskTimeoutNs,
  });
  const threads = Math.max(1, params.threads);
  const bytesPerThread = Math.floor(params.sizeBytes / threads / PMD) * PMD;
  if (bytesPerThread === 0)
    throw new RangeError("mmlab-bench: --size is too small for the threads");
  const proc = new Process(sim, {
    comm: "munmap_test",
    pid: PIDS.munmapTest,
    argv: ["./munmap_test", "--threads", String(threads)],
    cost: costProfile(params.profile),
    munmap: strategy,
    tree: params.tree,
    levels: params.levels,
    rwsem: params.rwsem,
  });
  const mm = proc.mm;
  const rec = hooks.trace === true ? new TraceRecorder(sim) : null;
  const random = sim.random;
  const munmaps: Array<{ pid: number; callAt: number; pages: number }> = [];
  let running = threads;
  const workers: Task[] = [];
  for (let i = 0; i < threads; i++) {
    const addr = REGION_BASE + i * REGION_STRIDE;
    workers.push(
      proc.spawnThread("munmap_test", function* () {
        yield sleep(Math.round(random.jitter(i * STAGGER_NS, 0.25)));
        for (let round = 0; round < params.rounds; round++) {
          const before = mm.rss;
          const r = yield* sysMmap(
            mm,
            addr,
            bytesPerThread,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
          );
          if (isErrValue(r)) throw new Error(`mmlab-bench: hung-task mmap failed: ${r}`);
          const pages = bytesPerThread / PAGE;
          void before;
          const callAt = sim.now;
          const ret = yield* sysMunmap(mm, addr, bytesPerThread);
          if (ret !== 0) throw new Error(`mmlab-bench: hung-task munmap returned ${ret}`);
          munmaps.push({ pid: proc.threads[i]?.pid ?? 0, callAt, pages });
        }
        running--;
      }),
    );
  }
  const psTasks: Task[] = [];
  for (let i = 0; i < params.readers; i++) {
    psTasks.push(
      sim.spawn(
        "ps",
        function* () {
          while (running > 0) {
            yield* procPidCmdlineRead(proc);
            yield sleep(Math.round(random.jitter(params.psIntervalNs, 0.1)));
          }
        },
        { pid: PIDS.ps + i },
      ),
    );
  }
  const all = [...workers, ...psTasks];
  const total = (bytesPerThread / PAGE) * threads;
  while (all.some((t) => t.state !== "dead")) {
    sim.run({ until: sim.now + SLICE_NS });
    hooks.onProgress?.(mm.rss, total);
  }
  rec?.stop();

  const history = mm.mmapSem.history;
  const psPids = new Set(psTasks.map((t) => t.pid));
  const psWaits: number[] = [];
  let longest = { pid: 0, comm: "", mode: "read" as "read" | "write", requestedAt: 0, waitNs: -1 };
  for (const r of history) {
    const w = r.acquiredAt - r.requestedAt;
    if (psPids.has(r.pid)) psWaits.push(w);
    if (w > longest.waitNs) {
      longest = { pid: r.pid, comm: r.comm, mode: r.mode, requestedAt: r.requestedAt, waitNs: w };
    }
  }
  // ps's longest wait: who held mmap_sem when it asked, and who was queued ahead of it.
  let psLongest: HungTaskResult["psLongest"] = null;
  for (const r of history) {
    if (!psPids.has(r.pid)) continue;
    const w = r.acquiredAt - r.requestedAt;
    if (psLongest === null || w > psLongest.waitNs) {
      psLongest = { requestedAt: r.requestedAt, waitNs: w, holders: [], queuedAhead: [] };
    }
  }
  if (psLongest !== null && psLongest.waitNs > 0) {
    const t = psLongest.requestedAt;
    for (const r of history) {
      if (r.acquiredAt <= t && !(r.releasedAt <= t)) {
        const mode = r.downgradedAt <= t ? "downgraded" : r.mode;
        psLongest.holders.push({ pid: r.pid, comm: r.comm, mode });
      } else if (r.requestedAt < t && r.acquiredAt > t) {
        psLongest.queuedAhead.push({ pid: r.pid, comm: r.comm, mode: r.mode });
      }
    }
  }
  // The munmaps' own holds: the first write acquisition of that thread at or after the call.
  let holdNs = 0;
  let pages = 0;
  for (const m of munmaps) {
    const own = history.find(
      (r) => r.pid === m.pid && r.mode === "write" && r.requestedAt >= m.callAt,
    );
    if (own !== undefined) {
      holdNs += own.releasedAt - own.acquiredAt;
      pages += m.pages;
    }
  }
  let end = 0;
  for (const t of workers) end = Math.max(end, t.endTime);
  const result: HungTaskResult = {
    strategy: strategy.name,
    kernel: strategy.kernel,
    rwsem: params.rwsem,
    threads,
    bytesPerThread,
    rounds: params.rounds,
    durationNs: end,
    psWait: distributionOf(psWaits),
    longestWait: longest,
    psLongest,
    munmapHoldNsPerPage: pages === 0 ? 0 : holdNs / pages,
    hungTaskTimeoutNs: params.hungTaskTimeoutNs,
    hungTaskReports: sim.hungTaskReports.map((r) => ({ ...r })),
    sim: {
      wallMs: Math.round((now() - wall0) * 100) / 100,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    },
  };
  const capture: TraceCapture | null =
    rec === null
      ? null
      : {
          strategy: strategy.name,
          t0: 0,
          tasks: sim.tasks.map((t) => ({
            pid: t.pid,
            tgid: proc.threads.includes(t) ? proc.pid : t.pid,
            comm: t.comm,
          })),
          events: rec.events,
          hungTaskReports: [...sim.hungTaskReports],
        };
  return { result, capture };
}
