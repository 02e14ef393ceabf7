/**
 * Merging job results into exactly what the serial run prints. Explore: per strategy, the
 * ranges in seed order up to and including the first that failed (the lowest failing seed,
 * whatever finished first), schedules and steps summed; the failure is that range's, which
 * mm-core found and traced exactly as a serial run would (each schedule depends on its seed
 * only). Experiments and replays: one result per job, in job order.
 */
import { type ExploreRangeResult, type ExploreRow, exploreRow } from "../explore.js";
import type { BenchResult } from "../types.js";
import type { CampaignJob, ExploreJob } from "./jobs.js";
import type { CampaignHooks } from "./run.js";
import type { JobResult, ResultOf } from "./run-job.js";

function resultAt<J extends CampaignJob>(
  jobs: readonly J[],
  results: ReadonlyArray<JobResult | undefined>,
  i: number,
): ResultOf<J> {
  const r = results[i];
  const job = jobs[i] as J;
  if (r === undefined || r.kind !== job.kind) {
    throw new Error(`campaign: no ${job.kind} result for job ${i}`);
  }
  return r as ResultOf<J>;
}

/** One row per strategy, in the order given. */
export function mergeExplore(
  jobs: readonly ExploreJob[],
  results: ReadonlyArray<JobResult | undefined>,
  strategies: readonly string[],
): ExploreRow[] {
  return strategies.map((strategy) => {
    const own = jobs
      .map((job, i) => ({ job, i }))
      .filter((x) => x.job.strategy === strategy)
      .sort((a, b) => a.job.firstSeed - b.job.firstSeed);
    const merged: ExploreRangeResult = { schedules: 0, steps: 0, failure: null, wallMs: 0 };
    for (const { i } of own) {
      const r = resultAt(jobs, results, i);
      merged.schedules += r.schedules;
      merged.steps += r.steps;
      merged.wallMs = Math.round((merged.wallMs + r.wallMs) * 100) / 100;
      if (r.failure !== null) {
        merged.failure = r.failure;
        break;
      }
    }
    return exploreRow(strategy, merged);
  });
}

/**
 * Stops issuing explore jobs above a failure: once a range of a strategy failed, ranges of
 * that strategy that start at a higher seed are skipped (the ones below still run: one of
 * them may fail at a lower seed).
 */
export function exploreStopper(
  jobs: readonly ExploreJob[],
): Required<Pick<CampaignHooks, "skip" | "onResult">> {
  const lowestFailure = new Map<string, number>();
  return {
    skip(i) {
      const job = jobs[i] as ExploreJob;
      const at = lowestFailure.get(job.strategy);
      return at !== undefined && job.firstSeed > at;
    },
    onResult(i, r) {
      if (r.kind !== "explore" || r.failure === null) return;
      const job = jobs[i] as ExploreJob;
      const at = lowestFailure.get(job.strategy);
      if (at === undefined || job.firstSeed < at) lowestFailure.set(job.strategy, job.firstSeed);
    },
  };
}

/** Experiment results in job order. */
export function mergeExperiments(
  jobs: readonly CampaignJob[],
  results: ReadonlyArray<JobResult | undefined>,
): BenchResult[] {
  return jobs.map((_, i) => {
    const r = results[i];
    if (r?.kind !== "experiment") throw new Error(`campaign: no experiment result for job ${i}`);
    return r.result;
  });
}
