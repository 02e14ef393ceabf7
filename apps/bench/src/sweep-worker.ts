/** tinypool worker of `mmlab-bench sweep`: one simulation per worker (isolateWorkers). */
import { runExperiment } from "./experiment.js";
import type { ExperimentParams } from "./params.js";
import type { BenchResult } from "./types.js";

export interface SweepJob {
  params: ExperimentParams;
  strategy: string;
}

export function runSweepJob(job: SweepJob): BenchResult {
  return runExperiment(job.params, job.strategy).result;
}
