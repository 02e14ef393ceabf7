/**
 * Campaigns across machines on BullMQ and a real Redis: `--queue redis://HOST:PORT[/PREFIX]`
 * submits the jobs of a campaign to a BullMQ queue and waits for their results
 * (`queueRunner`); `mmlab-bench worker --queue URL` takes jobs and runs them on local
 * tinypool workers (`startQueueWorker`). BullMQ does the queueing, locking, stalled-job
 * recovery and retries; this file only maps campaign jobs to BullMQ jobs.
 *
 * A job's BullMQ id is its campaign id (a hash of its version and parameters), and finished
 * jobs stay in Redis: adding a job whose id exists reuses its result (`fresh` removes it
 * first). A job cut by another mmlab version is refused with both versions named.
 */
import { Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { type CampaignJob, jobId } from "./jobs.js";
import { tinypoolRunner } from "./local-pool.js";
import { QueueUnreachableError, type QueueUrl } from "./queue-url.js";
import type { JobRunner } from "./run.js";
import type { JobResult } from "./run-job.js";

/** The one BullMQ queue of a prefix. */
export const QUEUE_NAME = "mmlab-campaign";

function connection(q: QueueUrl) {
  return {
    host: q.host,
    port: q.port,
    ...(q.password === undefined ? {} : { password: q.password }),
    // wait through a Redis restart instead of failing the command (BullMQ's advice)
    maxRetriesPerRequest: null,
  };
}

/** One PING with no retries: QueueUnreachableError "cannot reach redis://... (why)". */
export async function checkReachable(q: QueueUrl, timeoutMs = 3000): Promise<void> {
  const client = new Redis({
    ...connection(q),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let why = "";
  client.on("error", (e: Error) => {
    why ||= e.message;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const message = why || (e instanceof Error ? e.message : String(e));
    throw new QueueUnreachableError(`cannot reach ${q.text} (${message})`);
  } finally {
    client.disconnect();
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface QueueRunnerOptions {
  /** jobs in flight in Redis at once */
  concurrency: number;
  /** remove finished results of the same jobs first instead of reusing them */
  fresh?: boolean;
  /** how often a waiting submitter looks at its jobs (ms; default 50) */
  pollMs?: number;
  /** told once per outage, e.g. "redis connection lost (...), retrying" */
  onNotice?(message: string): void;
}

/**
 * Submits each job and waits for its result. Every Redis error while waiting (a restart,
 * a lost connection) is retried; a job that vanished (Redis restarted without its data) is
 * added again. A job that failed on a worker fails the campaign with the worker's reason.
 */
export function queueRunner(q: QueueUrl, opts: QueueRunnerOptions): JobRunner {
  const queue = new Queue(QUEUE_NAME, { connection: connection(q), prefix: q.prefix });
  let outage = false;
  const notice = (e: unknown) => {
    if (outage) return;
    outage = true;
    opts.onNotice?.(`redis: ${e instanceof Error ? e.message : String(e)}; retrying`);
  };
  queue.on("error", notice);
  const pollMs = opts.pollMs ?? 50;

  /** Adds the job unless it is already there (resubmission reuses it). */
  async function submit(job: CampaignJob, id: string, fresh: boolean): Promise<void> {
    const existing = await queue.getJob(id);
    if (existing !== undefined) {
      const state = await existing.getState();
      // a failed job is tried again (e.g. after a worker of the right version started)
      if (state === "failed" || (fresh && state === "completed")) await existing.remove();
      else return;
    }
    await queue.add(id, job, { jobId: id, removeOnComplete: false, removeOnFail: false });
  }

  async function run(job: CampaignJob): Promise<JobResult> {
    const id = jobId(job);
    let submitted = false;
    for (;;) {
      try {
        if (!submitted) {
          await submit(job, id, opts.fresh === true);
          submitted = true;
        }
        const state = await queue.getJobState(id);
        outage = false;
        if (state === "unknown") {
          submitted = false; // Redis lost it (restarted without its data): add it again
          continue;
        }
        if (state === "completed" || state === "failed") {
          const j = await queue.getJob(id); // read after the state, so it holds the outcome
          if (j === undefined) continue;
          if (state === "completed") return j.returnvalue as JobResult;
          throw new CampaignJobError(`job ${id} failed on a worker: ${j.failedReason}`);
        }
      } catch (e) {
        if (e instanceof CampaignJobError) throw e;
        notice(e);
      }
      await sleep(pollMs);
    }
  }

  return {
    concurrency: opts.concurrency,
    run,
    close: () => queue.close(),
  };
}

/** A job that failed on a worker (its reason, e.g. a version mismatch, is in the message). */
export class CampaignJobError extends Error {}

export interface QueueWorkerOptions {
  version: string;
  /** jobs run at once (tinypool workers) */
  concurrency: number;
  /** BullMQ lockDuration and stalledInterval (ms): how soon a dead worker's job moves on */
  lockMs?: number;
  log(line: string): void;
}

export interface RunningWorker {
  /** finishes the jobs in progress, then stops (Ctrl-C) */
  close(): Promise<void>;
  /** jobs completed so far */
  completed(): number;
}

/** Describes a job in one short line for the worker's log. */
export function describeJob(job: CampaignJob): string {
  switch (job.kind) {
    case "explore":
      return `explore ${job.scenario} ${job.strategy} seeds ${job.firstSeed}..${job.firstSeed + job.schedules - 1}`;
    case "experiment":
      return `experiment ${job.strategy} ${job.params.sizeBytes / 2 ** 30} GiB`;
    case "replay":
      return `replay ${job.trace.name}`;
  }
}

export async function startQueueWorker(q: QueueUrl, o: QueueWorkerOptions): Promise<RunningWorker> {
  // experiments (about 1 GiB each) get a fresh tinypool worker per job; explore reuses them
  const pools = new Map<boolean, JobRunner>();
  const poolFor = (isolate: boolean): JobRunner => {
    let p = pools.get(isolate);
    if (p === undefined) {
      p = tinypoolRunner({ workers: o.concurrency, isolate });
      pools.set(isolate, p);
    }
    return p;
  };
  let done = 0;
  const lockMs = o.lockMs ?? 30_000;
  const worker = new Worker<CampaignJob, JobResult>(
    QUEUE_NAME,
    async (bull) => {
      const job = bull.data;
      if (job.version !== o.version) {
        throw new UnrecoverableError(
          `version mismatch: the job was cut by mmlab ${job.version}, this worker runs mmlab ${o.version}`,
        );
      }
      const t = performance.now();
      const r = await poolFor(job.kind === "experiment").run(job);
      o.log(`done ${describeJob(job)} in ${((performance.now() - t) / 1000).toFixed(2)} s`);
      done++;
      return r;
    },
    {
      connection: connection(q),
      prefix: q.prefix,
      concurrency: o.concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 5,
    },
  );
  let outage = false;
  worker.on("error", (e) => {
    if (!outage) o.log(`redis: ${e.message}; retrying`);
    outage = true;
  });
  worker.on("completed", () => {
    outage = false;
  });
  worker.on("failed", (job, e) => {
    o.log(`failed ${job === undefined ? "a job" : describeJob(job.data)}: ${e.message}`);
  });
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      for (const p of pools.values()) await p.close();
    },
    completed: () => done,
  };
}
