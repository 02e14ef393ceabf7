/**
 * A campaign is a list of jobs: "run this scenario with these parameters and seeds". A job is
 * plain data (it crosses worker threads, processes and Redis as JSON) and carries the mmlab
 * version it was cut for and every parameter its result depends on, so that its id, a hash of
 * that data, names its result anywhere: resubmitting the same campaign finds the results
 * already computed. Jobs never name a worker count: cutting depends on the arguments only.
 */
import { createHash } from "node:crypto";
import type { ExperimentParams } from "../params.js";

/** Seeds firstSeed .. firstSeed + schedules - 1 of one scenario under one strategy. */
export interface ExploreJob {
  kind: "explore";
  version: string;
  scenario: string;
  strategy: string;
  firstSeed: number;
  schedules: number;
  jitter: number;
  shuffleTies: boolean;
  cost: string;
}

/** One run of the default experiment (a sweep cell, one strategy of history). */
export interface ExperimentJob {
  kind: "experiment";
  version: string;
  params: ExperimentParams;
  strategy: string;
}

/** A named text file shipped inside a job (workers on other machines do not share our disk). */
export interface JobFile {
  name: string;
  text: string;
}

/** One strace log replayed, with its maps, under the base strategy and `strategies`. */
export interface ReplayJob {
  kind: "replay";
  version: string;
  trace: JobFile;
  startMaps: JobFile | null;
  /** --maps PID=FILE: a process's maps right after an execve, in the order given */
  execMaps: Array<JobFile & { pid: number }>;
  expectMaps: Array<JobFile & { pid: number | null }>;
  generation: string;
  mmapMinAddr: number | null;
  strategies: string[];
}

export type CampaignJob = ExploreJob | ExperimentJob | ReplayJob;

/** Sorted-key JSON, so that the same parameters always hash the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** `explore-3f2a...`: the kind and 128 bits of the SHA-256 of the job's canonical JSON. */
export function jobId(job: CampaignJob): string {
  const hash = createHash("sha256").update(canonical(job)).digest("hex");
  return `${job.kind}-${hash.slice(0, 32)}`;
}

/**
 * Schedules per explore job: about 64 jobs per strategy (enough to spread over many workers
 * and to stop early above a failure), at least 10 and at most 1,000 schedules (a few seconds)
 * per job. A function of the schedule count only, never of the worker count.
 */
export function exploreChunk(schedules: number): number {
  return Math.min(1000, Math.max(10, Math.ceil(schedules / 64)));
}

export interface ExploreCampaign {
  version: string;
  scenario: string;
  strategies: readonly string[];
  schedules: number;
  firstSeed: number;
  jitter: number;
  shuffleTies: boolean;
  cost: string;
  /** schedules per job (default exploreChunk(schedules)) */
  chunk?: number;
}

/** Strategy by strategy, seeds ascending: the serial order. Generic over scenario and strategy. */
export function cutExplore(c: ExploreCampaign): ExploreJob[] {
  const chunk = c.chunk ?? exploreChunk(c.schedules);
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`explore chunk must be a positive integer, got ${chunk}`);
  }
  const jobs: ExploreJob[] = [];
  for (const strategy of c.strategies) {
    for (let done = 0; done < c.schedules; done += chunk) {
      jobs.push({
        kind: "explore",
        version: c.version,
        scenario: c.scenario,
        strategy,
        firstSeed: c.firstSeed + done,
        schedules: Math.min(chunk, c.schedules - done),
        jitter: c.jitter,
        shuffleTies: c.shuffleTies,
        cost: c.cost,
      });
    }
  }
  return jobs;
}

/** One experiment job per (params, strategy), in the order given. */
export function experimentJob(
  version: string,
  params: ExperimentParams,
  strategy: string,
): ExperimentJob {
  return { kind: "experiment", version, params: { ...params }, strategy };
}
