/**
 * `mmlab-bench sweep`: sizes by strategies, each (size, strategy) one simulation (one campaign
 * job, on any worker), then a table beside the published figures with model/paper ratios.
 */
import Table from "cli-table3";
import { type ExperimentJob, experimentJob } from "./campaign/jobs.js";
import type { Colors } from "./colors.js";
import { benchVersion } from "./context.js";
import { formatBytes, formatNs } from "./format.js";
import {
  FTRACE_UNMAP_REGION_NS,
  FTRACE_UNMAP_REGION_SIZE,
  isCalibrationTarget,
  PAPER_ZAP_RLOCK_TRACED_SIZE,
  paperFigure,
} from "./paper.js";
import type { ExperimentParams } from "./params.js";
import type { BenchResult, SweepResult, SweepRow } from "./types.js";

/** The jobs of a sweep, in table order (sizes ascending, then strategies as given). */
export function sweepJobs(
  base: ExperimentParams,
  sizes: readonly number[],
  strategies: readonly string[],
  version = benchVersion(),
): ExperimentJob[] {
  const jobs: ExperimentJob[] = [];
  for (const sizeBytes of [...sizes].sort((a, b) => a - b)) {
    for (const strategy of strategies) {
      jobs.push(experimentJob(version, { ...base, sizeBytes }, strategy));
    }
  }
  return jobs;
}

/** The sweep table's rows from the results of its jobs, in job order. */
export function sweepResult(
  jobs: readonly ExperimentJob[],
  results: readonly BenchResult[],
): SweepResult {
  return { rows: jobs.map((job, i) => sweepRow(job, results[i] as BenchResult)) };
}

/** One row: the model's figures, the published one, and model / paper. */
export function sweepRow(job: ExperimentJob, r: BenchResult): SweepRow {
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
