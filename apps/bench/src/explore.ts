/**
 * `mmlab-bench explore`: mm-core's schedule explorer on the command line. For each strategy
 * it runs the scenario under `schedules` seeded schedules (tie-breaking and cost jitter) and
 * stops at the first one that breaks an invariant; the failure carries the seed, the trimmed
 * trace of the interleaving and the spec that replays it (`--seed S --schedules 1`).
 *
 * Exit code, like a test runner's: 1 when any strategy failed, 0 when none did. Finding the
 * stack-expansion race under zapRlock and v4.20 is the expected demonstration (246c320a8cfe).
 */
import {
  type ExploreFailure,
  explore,
  exploreScenario,
  formatExploreResult,
  munmapStrategy,
  replayCommand,
} from "@mmlab/mm-core";
import Table from "cli-table3";
import type { ExploreJob } from "./campaign/jobs.js";
import type { Colors } from "./colors.js";
import { benchVersion, machine } from "./context.js";
import { formatMs, group } from "./format.js";

export const EXPLORE_PROG = "mmlab-bench explore";

export interface ExploreParams {
  scenario: string;
  /** the strategies to explore, in order */
  strategies: string[];
  schedules: number;
  firstSeed: number;
  jitter: number;
  shuffleTies: boolean;
  cost: string;
}

/** `mmlab-bench explore --json`. */
export interface ExploreJson {
  context: {
    version: string;
    machine: { node: string; cpus: number; cpuModel: string; os: string };
    scenario: string;
    description: string;
    schedules: number;
    firstSeed: number;
    jitter: number;
    shuffleTies: boolean;
    cost: string;
    time: "virtual (ns)";
  };
  results: ExploreRow[];
}

export interface ExploreRow {
  strategy: string;
  kernel: string;
  /** schedules run, the failing one included */
  schedules: number;
  /** Sim steps checked over all of them */
  steps: number;
  /** wall time of the exploration (ms): in-process, this machine's; with workers, summed over the jobs */
  wallMs: number;
  failure: (ExploreFailure & { seed: number; replayCommand: string }) | null;
}

/** What one range of seeds of one strategy produced (an explore job's result). */
export interface ExploreRangeResult {
  /** schedules run, the failing one included */
  schedules: number;
  steps: number;
  failure: ExploreRow["failure"];
  /** wall time of this range on the machine that ran it (ms) */
  wallMs: number;
}

/** Seeds firstSeed .. firstSeed + schedules - 1 of one strategy: mm-core's explore(). */
export function exploreRange(
  job: Omit<ExploreJob, "kind" | "version">,
  now: () => number = () => performance.now(),
): ExploreRangeResult {
  const t = now();
  const r = explore({
    scenario: job.scenario,
    strategy: job.strategy,
    schedules: job.schedules,
    firstSeed: job.firstSeed,
    jitter: job.jitter,
    shuffleTies: job.shuffleTies,
    cost: job.cost,
  });
  return {
    schedules: r.schedules,
    steps: r.steps,
    failure:
      r.failure === null
        ? null
        : {
            ...r.failure,
            seed: r.failure.replay.seed,
            replayCommand: replayCommand(r.failure.replay, EXPLORE_PROG),
          },
    wallMs: Math.round((now() - t) * 100) / 100,
  };
}

/** A strategy's row from its (merged) range. */
export function exploreRow(strategy: string, r: ExploreRangeResult): ExploreRow {
  return {
    strategy,
    kernel: munmapStrategy(strategy).kernel,
    schedules: r.schedules,
    steps: r.steps,
    wallMs: r.wallMs,
    failure: r.failure,
  };
}

/** Runs the explorer once per strategy, sequentially, in this thread. */
export function runExplore(
  p: ExploreParams,
  now: () => number = () => performance.now(),
): ExploreJson {
  const rows = p.strategies.map((strategy) =>
    exploreRow(strategy, exploreRange({ ...p, strategy }, now)),
  );
  return exploreJson(p, rows);
}

/** The `--json` object: this machine's context around the rows. */
export function exploreJson(p: ExploreParams, results: ExploreRow[]): ExploreJson {
  const scenario = exploreScenario(p.scenario);
  return {
    context: {
      version: benchVersion(),
      machine: machine(),
      scenario: scenario.name,
      description: scenario.description,
      schedules: p.schedules,
      firstSeed: p.firstSeed,
      jitter: p.jitter,
      shuffleTies: p.shuffleTies,
      cost: p.cost,
      time: "virtual (ns)",
    },
    results,
  };
}

/** The exit code: 1 when a schedule broke an invariant under any strategy. */
export function exploreExitCode(json: ExploreJson): 0 | 1 {
  return json.results.some((r) => r.failure !== null) ? 1 : 0;
}

function header(json: ExploreJson, c: Colors): string {
  const x = json.context;
  const m = x.machine;
  const last = x.firstSeed + x.schedules - 1;
  return [
    c.bold(`explore ${x.scenario}: ${x.description}`),
    `${c.dim("runtime:")} node ${m.node} (${m.os}) ${c.dim("cpu:")} ${m.cpuModel} × ${m.cpus}`,
    `${c.dim("schedules:")} seeds ${x.firstSeed}..${last}, cost ${x.cost} ±${x.jitter * 100}% jitter, ties ${x.shuffleTies ? "shuffled" : "in order"}   ${c.dim("time:")} ${x.time}`,
  ].join("\n");
}

/** The failure block of one strategy: mm-core's own report (seed, trace, replay line). */
function failureText(row: ExploreRow, json: ExploreJson, c: Colors): string {
  const text = formatExploreResult(
    {
      scenario: json.context.scenario,
      strategy: row.strategy,
      schedules: row.schedules,
      steps: row.steps,
      failure: row.failure,
    },
    EXPLORE_PROG,
  );
  return text
    .replace(/FAILED at schedule seed \d+/, (s) => c.red(s))
    .replace(/^replay: /m, c.bold("replay: "));
}

/** One strategy: mm-core's report plus the wall time. */
export function renderExploreOne(json: ExploreJson, c: Colors): string {
  const row = json.results[0] as ExploreRow;
  return [
    header(json, c),
    "",
    failureText(row, json, c),
    "",
    `${c.dim("wall:")} ${formatMs(row.wallMs)} on this machine`,
    "",
  ].join("\n");
}

/** Every strategy: one table row each, then each failure's seed, trace and replay line. */
export function renderExploreAll(json: ExploreJson, c: Colors): string {
  const table = new Table({
    head: ["strategy", "result", "schedules", "steps", "wall"],
    style: { head: [], border: [], compact: true },
    colAligns: ["left", "left", "right", "right", "right"],
  });
  for (const r of json.results) {
    table.push([
      c.bold(r.strategy),
      r.failure === null
        ? c.green("no violation")
        : c.red(`${r.failure.kind} at seed ${r.failure.seed}`),
      group(r.schedules),
      group(r.steps),
      formatMs(r.wallMs),
    ]);
  }
  const parts = [header(json, c), "", table.toString(), ""];
  for (const r of json.results) {
    if (r.failure !== null) parts.push(failureText(r, json, c), "");
  }
  const failed = json.results.filter((r) => r.failure !== null).map((r) => r.strategy);
  parts.push(
    failed.length === 0
      ? `no schedule broke an invariant under ${json.results.map((r) => r.strategy).join(", ")} (exit code 0)`
      : `violations found under ${failed.join(", ")} (exit code 1)`,
  );
  if (json.context.scenario === "stack-expansion") {
    parts.push(
      "For stack-expansion, finding the race under zapRlock and v4.20 is the expected demonstration: they zap under the read lock while the stack above can grow into the range (fixed in v5.8 by 246c320a8cfe).",
    );
  }
  if (json.context.scenario === "fork-fault") {
    parts.push(
      "For fork-fault, finding the race under perVmaLock is the expected demonstration: 6.4.0's faults under a VMA lock run during fork's copy_page_range() (fixed by fb49c455323f, the v6.4.y strategy).",
    );
  }
  parts.push("");
  return parts.join("\n");
}
