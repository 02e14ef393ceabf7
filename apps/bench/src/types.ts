/**
 * The shapes shared by the runner, the CLI and the renderers (export/, report/).
 * BenchJson is the documented, stable `--json` schema (see apps/bench README / BENCH.md).
 */
import type { Distribution } from "@mmlab/rwsem";
import type { HungTaskReport, TraceEvent } from "@mmlab/sched";

export type { Distribution, HungTaskReport, TraceEvent };

/** `--json` / `--export-json`: one object per run, every time in virtual ns. */
export interface BenchJson {
  context: {
    /** @mmlab/bench version */
    version: string;
    seed: number;
    profile: string;
    profileSource: string;
    /** e.g. "linux v4.18 mm/mmap.c" */
    model: string;
    time: "virtual (ns)";
    machine: { node: string; cpus: number; cpuModel: string; os: string };
    params: {
      sizeBytes: number;
      readers: number;
      faulters: number;
      writers: number;
      rwsem: "v4.18" | "v5.3";
      tree: "maple" | "rb";
      levels: 4 | 5;
      cpus: number | null;
      hungTaskTimeoutNs: number;
      psIntervalNs: number;
    };
  };
  results: BenchResult[];
}

/** One strategy's run (one element of BenchJson.results). */
export interface BenchResult {
  /** from the MunmapStrategy */
  strategy: string;
  kernel: string;
  /** pages unmapped */
  pages: number;
  munmapLatencyNs: number;
  /** the munmap's own holds of mmap_sem */
  exclusiveHoldNs: number;
  sharedHoldNs: number;
  psWait: Distribution;
  faultWait: Distribution;
  writerWait: Distribution;
  hungTaskReports: Array<{
    time: number;
    pid: number;
    comm: string;
    blockedNs: number;
    message: string;
  }>;
  sim: {
    wallMs: { populate: number; measured: number };
    /** this process's CPU time in the kernel per phase (ms): mostly first-touch faults */
    sysMs: { populate: number; measured: number };
    /** this process's page faults (minor + major) per phase */
    pageFaults: { populate: number; measured: number };
    events?: number;
    peakRssBytes: number;
  };
  /**
   * Optional, only for strategies with per-VMA locks (`perVmaLock`): what the fault path's
   * VMA locks did in the measured phase, from mm-core's `vmaLockStats(mm)`. Faults handled
   * under a VMA lock never touch mmap_sem, so they are not in `faultWait`.
   */
  vmaLock?: VmaLockResult;
}

/** BenchResult.vmaLock: the measured phase's per-VMA-lock faults (VMA_LOCK_* vm events). */
export interface VmaLockResult {
  /** faults handled under the VMA's own lock, never touching mmap_sem (VMA_LOCK_SUCCESS) */
  lockFreeFaults: number;
  /** lock_vma_under_rcu() gave up (VMA_LOCK_ABORT): the fault fell back to mmap_sem */
  aborts: number;
  /** handled under the VMA lock but retried under mmap_sem (VMA_LOCK_RETRY) */
  retries: number;
  /** per faulting task: its lock-free faults and its mmap_sem acquisitions in the phase */
  tasks: Array<{ pid: number; comm: string; lockFreeFaults: number; mmapSemAcquisitions: number }>;
}

/** One row of `mmlab-bench sweep`: one size by one strategy, beside the published figure. */
export interface SweepRow {
  sizeBytes: number;
  strategy: string;
  munmapLatencyNs: number;
  exclusiveHoldNs: number;
  /** the patch series' published figure for this size and strategy, when there is one */
  paper?: { munmapNs?: number; exclusiveHoldNs?: number };
  /** model / paper (munmap latency for classic, exclusive hold for zapRlock) */
  ratio?: number;
  /** the profile was calibrated to this paper figure: ratio 1.00x by construction, not a check */
  calibrated?: boolean;
  /** zapRlock at the traced size: the RFC v7 ftrace's unmap_region() (an independent figure) */
  ftrace?: { unmapRegionNs: number };
  /** model / ftrace: the model's shared hold (unmap_region + remove_vma_list) over it */
  ftraceRatio?: number;
}

export interface SweepResult {
  rows: SweepRow[];
}

/** What a traced run hands to the renderers (--trace, --ftrace, --report). */
export interface TraceCapture {
  strategy: string;
  /** sim time the measured phase started */
  t0: number;
  tasks: Array<{ pid: number; tgid: number; comm: string }>;
  /** from @mmlab/sched's TraceRecorder, measured phase only */
  events: TraceEvent[];
  hungTaskReports: HungTaskReport[];
}

/** `mmlab-bench hung-task --json`: { context, results: HungTaskResult[] }. */
export interface HungTaskResult {
  strategy: string;
  kernel: string;
  rwsem: "v4.18" | "v5.3";
  /** threads doing mmap(MAP_POPULATE) / munmap in a loop, each its own region */
  threads: number;
  bytesPerThread: number;
  rounds: number;
  /** virtual time from the first mmap to the last munmap's return */
  durationNs: number;
  psWait: Distribution;
  /** the longest mmap_sem wait of any task, and who */
  longestWait: {
    pid: number;
    comm: string;
    mode: "read" | "write";
    requestedAt: number;
    waitNs: number;
  };
  /** ps's longest wait, and who held mmap_sem / was queued ahead of ps when it asked */
  psLongest: {
    requestedAt: number;
    waitNs: number;
    /** "downgraded": a munmap's write hold already downgraded to read (zapRlock's zap) */
    holders: Array<{ pid: number; comm: string; mode: "read" | "write" | "downgraded" }>;
    queuedAhead: Array<{ pid: number; comm: string; mode: "read" | "write" }>;
  } | null;
  /** the munmaps' own mmap_sem holds (write + read) per page unmapped, as observed */
  munmapHoldNsPerPage: number;
  hungTaskTimeoutNs: number;
  hungTaskReports: Array<{
    time: number;
    pid: number;
    comm: string;
    blockedNs: number;
    message: string;
  }>;
  sim: { wallMs: number; peakRssBytes: number };
}
