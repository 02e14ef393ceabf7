/** The runner of `--workers 1`: every job in this thread, one at a time. */
import type { JobRunner } from "./run.js";
import { runJob } from "./run-job.js";

export function inProcessRunner(): JobRunner {
  return {
    concurrency: 1,
    run: async (job) => runJob(job),
    close: async () => {},
  };
}
