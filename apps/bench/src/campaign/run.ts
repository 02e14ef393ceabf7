/**
 * Runs a campaign's jobs on a runner (this thread, tinypool threads, or BullMQ workers) with
 * at most `concurrency` in flight, issuing them in job order. Results are kept by job index,
 * so the order in which they finish never shows; `skip` lets the caller stop issuing jobs it
 * no longer needs (explore: seeds above the lowest failure found so far).
 */
import type { CampaignJob } from "./jobs.js";
import type { JobResult } from "./run-job.js";

export interface JobRunner {
  /** how many jobs it can usefully take at once */
  readonly concurrency: number;
  run(job: CampaignJob): Promise<JobResult>;
  close(): Promise<void>;
}

export interface CampaignHooks {
  /** true: do not issue job `index` (it is no longer needed) */
  skip?(index: number): boolean;
  onResult?(index: number, result: JobResult): void;
  onSkip?(index: number): void;
}

/** Results by job index; `undefined` for the jobs skipped. The first job error is rethrown. */
export async function runCampaign(
  jobs: readonly CampaignJob[],
  runner: JobRunner,
  hooks: CampaignHooks = {},
): Promise<Array<JobResult | undefined>> {
  const results = new Array<JobResult | undefined>(jobs.length);
  let next = 0;
  let failed: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failed === null && next < jobs.length) {
      const i = next++;
      if (hooks.skip?.(i) === true) {
        hooks.onSkip?.(i);
        continue;
      }
      try {
        const r = await runner.run(jobs[i] as CampaignJob);
        results[i] = r;
        hooks.onResult?.(i, r);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  const lanes = Math.max(1, Math.min(runner.concurrency, jobs.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failed !== null) throw (failed as { error: unknown }).error;
  return results;
}
