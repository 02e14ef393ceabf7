/**
 * `mmlab-bench sweep`: sizes by strategies, each (size, strategy) one simulation in its own
 * tinypool worker thread, then a table beside the published figures with model/paper ratios.
 */
import os from "node:os";
import Table from "cli-table3";
import { Tinypool } from "tinypool";
import type { Colors } from "./colors.js";
import { formatBytes, formatNs } from "./format.js";
import {
  FTRACE_UNMAP_REGION_NS,
  FTRACE_UNMAP_REGION_SIZE,
  isCalibrationTarget,
  PAPER_ZAP_RLOCK_TRACED_SIZE,
  paperFigure,
} from "./paper.js";
import type { ExperimentParams } from "./params.js";
import { runSweepJob, type SweepJob } from "./sweep-worker.js";
import type { BenchResult, SweepResult, SweepRow } from "./types.js";

export interface SweepRun {
  /** One BenchResult per job, in job order (sizes ascending, then strategies as given). */
  results: BenchResult[];
  sweep: SweepResult;
}

export interface SweepOptions {
  /** "workers" (default): tinypool threads; "inline": in this thread, one after another. */
  mode?: "workers" | "inline";
  /** Worker threads; default min(jobs, CPUs). */
  threads?: number;
  onDone?(done: number, total: number): void;
}

/** The jobs of a sweep, in table order. */
export function sweepJobs(
  base: ExperimentParams,
  sizes: readonly number[],
  strategies: readonly string[],
): SweepJob[] {
  const jobs: SweepJob[] = [];
  for (const sizeBytes of [...sizes].sort((a, b) => a - b)) {
    for (const strategy of strategies) jobs.push({ params: { ...base, sizeBytes }, strategy });
  }
  return jobs;
}

export async function runSweep(
  jobs: readonly SweepJob[],
  opts: SweepOptions = {},
): Promise<SweepRun> {
  let done = 0;
  let results: BenchResult[];
  if (opts.mode === "inline") {
    results = [];
    for (const job of jobs) {
      results.push(runSweepJob(job));
      opts.onDone?.(++done, jobs.length);
    }
  } else {
    const threads = Math.max(1, Math.min(jobs.length, opts.threads ?? os.availableParallelism()));
    const pool = new Tinypool(workerOptions(threads));
    try {
      // Largest first, so the long jobs do not end up alone at the tail.
      const order = jobs.map((_, i) => i).sort((a, b) => sizeOf(jobs, b) - sizeOf(jobs, a));
      const out: BenchResult[] = new Array<BenchResult>(jobs.length);
      await Promise.all(
        order.map(async (i) => {
          out[i] = (await pool.run(jobs[i], { name: "runSweepJob" })) as BenchResult;
          opts.onDone?.(++done, jobs.length);
        }),
      );
      results = out;
    } finally {
      await pool.destroy();
    }
  }
  return {
    results,
    sweep: { rows: jobs.map((job, i) => sweepRow(job, results[i] as BenchResult)) },
  };
}

function sizeOf(jobs: readonly SweepJob[], i: number): number {
  return jobs[i]?.params.sizeBytes ?? 0;
}

/** Built: dist/sweep-worker.js in worker threads. From source (tests, tsx): the .ts file through tsx. */
function workerOptions(threads: number): ConstructorParameters<typeof Tinypool>[0] {
  const fromSource = import.meta.url.endsWith(".ts");
  const filename = new URL(fromSource ? "./sweep-worker.ts" : "./sweep-worker.js", import.meta.url)
    .href;
  return {
    filename,
    minThreads: threads,
    maxThreads: threads,
    isolateWorkers: true,
    // Worker threads do not take tsx's loader hooks on Node 20: from source, use processes.
    ...(fromSource
      ? { runtime: "child_process", execArgv: ["--conditions=@mmlab/source", "--import", "tsx"] }
      : {}),
  };
}

/** One row: the model's figures, the published one, and model / paper. */
export function sweepRow(job: SweepJob, r: BenchResult): SweepRow {
  const row: SweepRow = {
    sizeBytes: job.params.sizeBytes,
    strategy: r.strategy,
    munmapLatencyNs: r.munmapLatencyNs,
    exclusiveHoldNs: r.exclusiveHoldNs,
  };
  const paper = paperFigure(r.strategy, job.params.sizeBytes);
  if (paper !== undefined) {
    row.paper = paper;
    if (paper.munmapNs !== undefined) row.ratio = r.munmapLatencyNs / paper.munmapNs;
    else if (paper.exclusiveHoldNs !== undefined)
      row.ratio = r.exclusiveHoldNs / paper.exclusiveHoldNs;
    if (isCalibrationTarget(job.params.profile, r.strategy, job.params.sizeBytes)) {
      row.calibrated = true;
    }
  }
  if (r.strategy === "zapRlock" && job.params.sizeBytes === FTRACE_UNMAP_REGION_SIZE) {
    // unmap_region() runs under the read lock: the model's shared hold is it plus
    // remove_vma_list() and the up_read (1.5 us at this profile).
    row.ftrace = { unmapRegionNs: FTRACE_UNMAP_REGION_NS };
    row.ftraceRatio = r.sharedHoldNs / FTRACE_UNMAP_REGION_NS;
  }
  return row;
}

/** The sweep table beside the published figures. */
export function renderSweepTable(sweep: SweepResult, c: Colors): string {
  const table = new Table({
    head: [
      "size",
      "strategy",
      "munmap",
      "exclusive hold",
      "paper",
      "model / paper",
      "ftrace unmap_region",
      "model / ftrace",
    ],
    style: { head: [], border: [], compact: true },
    colAligns: ["right", "left", "right", "right", "right", "right", "right", "right"],
  });
  let extrapolated = false;
  let calibrated = false;
  for (const row of sweep.rows) {
    let paper = "—";
    if (row.paper?.munmapNs !== undefined) paper = `munmap ${formatNs(row.paper.munmapNs)}`;
    else if (row.paper?.exclusiveHoldNs !== undefined) {
      const star = row.sizeBytes === PAPER_ZAP_RLOCK_TRACED_SIZE ? "" : "*";
      extrapolated ||= star !== "";
      paper = `exclusive ~${formatNs(row.paper.exclusiveHoldNs)}${star}`;
    }
    const cal = row.calibrated === true ? " (calibrated)" : "";
    calibrated ||= cal !== "";
    table.push([
      formatBytes(row.sizeBytes),
      c.bold(row.strategy),
      formatNs(row.munmapLatencyNs),
      formatNs(row.exclusiveHoldNs),
      paper,
      row.ratio === undefined ? "—" : `${row.ratio.toFixed(2)}x${cal}`,
      row.ftrace === undefined ? "—" : formatNs(row.ftrace.unmapRegionNs),
      row.ftraceRatio === undefined ? "—" : `${row.ftraceRatio.toFixed(2)}x`,
    ]);
  }
  const notes = [
    c.dim(
      "paper: Yang Shi, linux-mm 2018 — pristine SyS_munmap 5.01 / 9.13 / 17.92 s at 80 / 160 / 320 GB (RFC v1), ~8 µs exclusive with the patch (RFC v6/v7 ftrace).",
    ),
  ];
  if (extrapolated) {
    notes.push(
      c.dim("* traced at 80 GB only; the exclusive part (lookup, detach) walks no pages."),
    );
  }
  if (calibrated) {
    notes.push(
      c.dim(
        "(calibrated): the e5-2680-v4.18 profile is set from this figure (per-page cost from 320 GB = 17.92 s; exclusive part = 8 µs by construction): agreement by construction, not a prediction.",
      ),
    );
  }
  if (sweep.rows.some((r) => r.ftrace !== undefined)) {
    notes.push(
      c.dim(
        `ftrace: RFC v7 2/4's unmap_region() of 80 GB, ${formatNs(FTRACE_UNMAP_REGION_NS)}, an independent figure; model = zapRlock's shared hold (unmap_region + remove_vma_list). It is ~2x per page below the v1 series the profile follows: see the README.`,
      ),
    );
  }
  return `${table.toString()}\n${notes.join("\n")}`;
}
