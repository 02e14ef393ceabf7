/**
 * `mmlab-bench sweep`: sizes by strategies, each (size, strategy) one simulation (one campaign
 * job, on any worker), then a table beside the published figures with model/paper ratios.
 */
import Table from "cli-table3";
import { type ExperimentJob, experimentJob } from "./campaign/jobs.js";
import type { Colors } from "./colors.js";
import { benchVersion } from "./context.js";
import { formatBytes, formatNs } from "./format.js";
import { PAPER_ZAP_RLOCK_TRACED_SIZE, paperFigure } from "./paper.js";
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
  }
  return row;
}

/** The sweep table beside the published figures. */
export function renderSweepTable(sweep: SweepResult, c: Colors): string {
  const table = new Table({
    head: ["size", "strategy", "munmap", "exclusive hold", "paper", "model / paper"],
    style: { head: [], border: [], compact: true },
    colAligns: ["right", "left", "right", "right", "right", "right"],
  });
  let extrapolated = false;
  for (const row of sweep.rows) {
    let paper = "—";
    if (row.paper?.munmapNs !== undefined) paper = `munmap ${formatNs(row.paper.munmapNs)}`;
    else if (row.paper?.exclusiveHoldNs !== undefined) {
      const star = row.sizeBytes === PAPER_ZAP_RLOCK_TRACED_SIZE ? "" : "*";
      extrapolated ||= star !== "";
      paper = `exclusive ~${formatNs(row.paper.exclusiveHoldNs)}${star}`;
    }
    table.push([
      formatBytes(row.sizeBytes),
      c.bold(row.strategy),
      formatNs(row.munmapLatencyNs),
      formatNs(row.exclusiveHoldNs),
      paper,
      row.ratio === undefined ? "—" : `${row.ratio.toFixed(2)}x`,
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
  return `${table.toString()}\n${notes.join("\n")}`;
}
