/**
 * The runner of `--workers N` on one machine: N tinypool workers, each running `runJob`
 * (`--workers 1` runs in this thread: in-process.ts).
 */
import { Tinypool } from "tinypool";
import type { CampaignJob } from "./jobs.js";
import type { JobRunner } from "./run.js";
import type { JobResult } from "./run-job.js";

export interface PoolOptions {
  workers: number;
  /**
   * A fresh worker per job: for the 320 GB experiments (about 1 GiB each), whose memory a
   * reused worker would keep; explore jobs reuse their workers.
   */
  isolate?: boolean;
}

export function tinypoolRunner(opts: PoolOptions): JobRunner {
  const pool = new Tinypool(poolOptions(opts.workers, opts.isolate === true));
  return {
    concurrency: opts.workers,
    run: async (job: CampaignJob) => (await pool.run(job, { name: "runJob" })) as JobResult,
    close: () => pool.destroy(),
  };
}

/**
 * Built: dist/campaign/run-job.js in worker threads (this code is bundled into a file at the
 * top of dist/). From source (tests, tsx): run-job.ts beside this file, in child processes.
 */
function poolOptions(threads: number, isolate: boolean): ConstructorParameters<typeof Tinypool>[0] {
  const fromSource = import.meta.url.endsWith(".ts");
  const filename = new URL(fromSource ? "./run-job.ts" : "./campaign/run-job.js", import.meta.url)
    .href;
  return {
    filename,
    minThreads: threads,
    maxThreads: threads,
    isolateWorkers: isolate,
    // Worker threads do not take tsx's loader hooks on Node 20: from source, use processes.
    ...(fromSource
      ? { runtime: "child_process", execArgv: ["--conditions=@mmlab/source", "--import", "tsx"] }
      : {}),
  };
}
