/**
 * Runs one campaign job in this thread and returns its result as plain data: the same code
 * for `--workers 1`, a tinypool worker and a BullMQ worker, so every mode computes the same
 * thing. (Also the tinypool worker module: tinypool calls the named export `runJob`.)
 */

import { COST_PROFILES } from "@mmlab/mm-core";
import { runExperiment } from "../experiment.js";
import { type ExploreRangeResult, exploreRange } from "../explore.js";
import { loadProfileFile } from "../params.js";
import { type ReplayOutcome, replayOutcome } from "../replay/command.js";
import { parseMaps } from "../replay/maps.js";
import type { Generation, ReplayInput } from "../replay/replay.js";
import type { BenchResult } from "../types.js";
import type { CampaignJob, ExperimentJob, ExploreJob, ReplayJob } from "./jobs.js";

export type JobResult =
  | ({ kind: "explore" } & ExploreRangeResult)
  | { kind: "experiment"; result: BenchResult }
  | ({ kind: "replay" } & ReplayOutcome);

export type ResultOf<J extends CampaignJob> = J extends ExploreJob
  ? Extract<JobResult, { kind: "explore" }>
  : J extends ExperimentJob
    ? Extract<JobResult, { kind: "experiment" }>
    : Extract<JobResult, { kind: "replay" }>;

/** The replay input of a job (the files travel inside it). */
export function replayInputOf(job: ReplayJob): ReplayInput {
  const input: ReplayInput = { trace: job.trace };
  if (job.startMaps !== null) {
    input.startMaps = {
      entries: parseMaps(job.startMaps.text, job.startMaps.name),
      name: job.startMaps.name,
    };
  }
  input.execMaps = job.execMaps.map((m) => ({
    pid: m.pid,
    entries: parseMaps(m.text, m.name),
    name: m.name,
  }));
  input.expectMaps = job.expectMaps.map((m) => ({
    pid: m.pid,
    entries: parseMaps(m.text, m.name),
    name: m.name,
  }));
  return input;
}

/** A `--profile FILE` was registered in the submitting thread's mm-core; this one has its own. */
function ensureProfile(profile: string): void {
  if (COST_PROFILES[profile] === undefined) loadProfileFile(profile);
}

export function runJob(job: CampaignJob): JobResult {
  if (job.kind === "explore") ensureProfile(job.cost);
  if (job.kind === "experiment") ensureProfile(job.params.profile);
  switch (job.kind) {
    case "explore":
      return { kind: "explore", ...exploreRange(job) };
    case "experiment":
      return { kind: "experiment", result: runExperiment(job.params, job.strategy).result };
    case "replay":
      return {
        kind: "replay",
        ...replayOutcome(replayInputOf(job), {
          generation: job.generation as Generation,
          strategies: job.strategies,
          ...(job.mmapMinAddr === null ? {} : { mmapMinAddr: job.mmapMinAddr }),
        }),
      };
  }
}
