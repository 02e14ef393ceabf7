/** tinypool worker of `mmlab-bench sweep`: one simulation per worker (isolateWorkers). */

import { COST_PROFILES } from "@mmlab/mm-core";
import { runExperiment } from "./experiment.js";
import { type ExperimentParams, loadProfileFile } from "./params.js";
import type { BenchResult } from "./types.js";

export interface SweepJob {
  params: ExperimentParams;
  strategy: string;
}

export function runSweepJob(job: SweepJob): BenchResult {
  // A --profile FILE was registered in the main thread's mm-core; this thread has its own.
  if (COST_PROFILES[job.params.profile] === undefined) loadProfileFile(job.params.profile);
  return runExperiment(job.params, job.strategy).result;
}
