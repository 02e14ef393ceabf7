/**
 * Where a command's campaign runs: `--workers 1` in this thread, `--workers N` on N local
 * tinypool workers, `--queue URL` on BullMQ workers anywhere. Same jobs, same merge, same
 * output in every case.
 */
import os from "node:os";
import { parseCount, UsageError } from "../params.js";
import { inProcessRunner } from "./in-process.js";
import type { CampaignJob } from "./jobs.js";
import { parseQueueUrl, type QueueUrl } from "./queue-url.js";
import { type CampaignHooks, type JobRunner, runCampaign } from "./run.js";
import type { JobResult } from "./run-job.js";

export interface CampaignTarget {
  /** local workers; with a queue: jobs in flight at once */
  workers: number;
  queue: QueueUrl | null;
  fresh: boolean;
}

/** Jobs in flight in Redis when --queue is given without --workers. */
export const QUEUE_WINDOW = 64;

/** --workers, --queue, --fresh; `defaultWorkers` is the CPU count (tests: 1). */
export function parseTarget(
  o: { workers?: string; queue?: string; fresh?: boolean },
  defaultWorkers = os.availableParallelism(),
): CampaignTarget {
  const queue = o.queue === undefined ? null : parseQueueUrl(o.queue);
  const fallback = queue === null ? defaultWorkers : QUEUE_WINDOW;
  const workers = o.workers === undefined ? fallback : parseCount(o.workers, "--workers", 1, 1024);
  if (o.fresh === true && queue === null) {
    throw new UsageError("--fresh only applies with --queue (results kept in Redis)");
  }
  return { workers, queue, fresh: o.fresh === true };
}

export interface ExecuteOptions extends CampaignHooks {
  /** a fresh local worker per job (the 1 GiB experiments) */
  isolate?: boolean;
  /** a line for stderr (Redis outages) */
  notice?(message: string): void;
}

export async function executeCampaign(
  jobs: readonly CampaignJob[],
  target: CampaignTarget,
  opts: ExecuteOptions = {},
): Promise<Array<JobResult | undefined>> {
  let runner: JobRunner;
  // BullMQ, ioredis and tinypool are imported only by the campaigns that use them: loading
  // them costs a command about 0.3 s of start-up.
  if (target.queue !== null) {
    const { checkReachable, queueRunner } = await import("./queue.js");
    await checkReachable(target.queue);
    runner = queueRunner(target.queue, {
      concurrency: target.workers,
      fresh: target.fresh,
      ...(opts.notice === undefined ? {} : { onNotice: opts.notice }),
    });
  } else if (target.workers === 1 || jobs.length <= 1) {
    runner = inProcessRunner();
  } else {
    const { tinypoolRunner } = await import("./local-pool.js");
    runner = tinypoolRunner({
      workers: Math.min(target.workers, jobs.length),
      isolate: opts.isolate === true,
    });
  }
  try {
    return await runCampaign(jobs, runner, opts);
  } finally {
    await runner.close();
  }
}
