/**
 * mmlab-bench: the 320 GB munmap experiment of "mm: mmap: zap pages with read mmap_sem in
 * munmap" (Yang Shi, linux-mm 2018), `sweep` over sizes, the `hung-task` scenario, `history`
 * (five munmap designs side by side), `explore` (the schedule explorer) and `replay` (a real
 * program's strace log through mm-core, checked against the kernel's return values and maps).
 * `main()` takes argv and an IO object, so tests run it in-process; exit codes: 0 ok,
 * 1 runtime failure (and, for `explore`, a schedule that broke an invariant, like a test
 * runner; for `replay`, a return value or layout that differs from the recording), 2 bad
 * flags, values or input files (one line on stderr with a usage hint).
 */
import os from "node:os";
import { exploreScenarios, munmapStrategies } from "@mmlab/mm-core";
import { Command, CommanderError } from "commander";
import {
  type CampaignTarget,
  type ExecuteOptions,
  executeCampaign,
  parseTarget,
} from "./campaign/execute.js";
import { type CampaignJob, cutExplore, experimentJob } from "./campaign/jobs.js";
import { exploreStopper, mergeExperiments, mergeExplore } from "./campaign/merge.js";
import { createCampaignProgress } from "./campaign/progress.js";
import { parseQueueUrl, QueueUnreachableError } from "./campaign/queue-url.js";
import { loadReplayJobs } from "./campaign/replay-jobs.js";
import type { JobResult } from "./campaign/run-job.js";
import { type Colors, colorsFor } from "./colors.js";
import { benchContext, benchVersion } from "./context.js";
import { newMachine, runExperiment } from "./experiment.js";
import {
  type ExploreJson,
  exploreAllExitCode,
  exploreExitCode,
  exploreJson,
  renderExploreAll,
  renderExploreOne,
  renderExploreScenarios,
} from "./explore.js";
import { formatBytes, formatNs, group } from "./format.js";
import {
  HISTORY_MODEL,
  HISTORY_STRATEGIES,
  renderHistorySummary,
  renderHistoryTable,
  renderKernels,
} from "./history.js";
import { registerHostCommand } from "./host/command.js";
import { ProbeUnavailable } from "./host/probe.js";
import { type HungTaskParams, runHungTask } from "./hung-task.js";
import { checkOutputPaths, writeOutputs } from "./outputs.js";
import {
  DEFAULTS,
  type ExperimentParams,
  PHYS_BYTES,
  parseChoice,
  parseCount,
  parseDuration,
  parseFraction,
  parseProfile,
  parseSeed,
  parseSize,
  parseSizes,
  parseStrategies,
  UsageError,
} from "./params.js";
import { createProgress } from "./progress.js";
import { renderHeader, renderRunText, renderSimFigures } from "./render-text.js";
import { renderReplay, replayJson, runReplayCommand } from "./replay/command.js";
import { ReplayInputError } from "./replay/strace.js";
import { renderSweepTable, sweepJobs, sweepResult } from "./sweep.js";
import type { BenchJson, BenchResult, HungTaskResult, TraceCapture } from "./types.js";

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** where progress bars go (shown only if it is a TTY); null: none */
  progressStream: NodeJS.WriteStream | null;
  /** stdout is a terminal (colours) */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** --workers when not given (default: this machine's CPUs; tests: 1, in this thread) */
  defaultWorkers?: number;
}

export function processIo(): CliIo {
  return {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    progressStream: process.stderr,
    isTTY: process.stdout.isTTY === true,
    env: process.env,
  };
}

/** The raw option values commander hands over (strings until validated). */
interface RawOptions {
  size?: string;
  strategies?: string;
  profile?: string;
  readers?: string;
  faulters?: string;
  writers?: string;
  rounds?: string;
  rwsem?: string;
  tree?: string;
  levels?: string;
  hungTaskTimeout?: string;
  psInterval?: string;
  seed?: string;
  cpus?: string;
  jobs?: string;
  workers?: string;
  queue?: string;
  fresh?: boolean;
  quiet?: boolean;
  json?: boolean;
  exportJson?: string;
  trace?: string;
  ftrace?: string;
  report?: string;
  // explore
  chunk?: string;
  scenario?: string;
  strategy?: string;
  schedules?: string;
  jitter?: string;
  shuffleTies?: boolean;
  cost?: string;
  // replay
  maps?: string[];
  expectMaps?: string[];
  generation?: string;
  mmapMinAddr?: string;
}

type OptionName = Exclude<
  keyof RawOptions,
  | "chunk"
  | "scenario"
  | "strategy"
  | "schedules"
  | "jitter"
  | "shuffleTies"
  | "cost"
  | "maps"
  | "expectMaps"
  | "generation"
  | "mmapMinAddr"
>;

const OPTION_SPECS: Record<OptionName, [flags: string, help: string]> = {
  size: ["--size <size>", "mapping size: 320G, 512M, 4GiB (binary units, as in the patch)"],
  strategies: ["--strategies <list>", "munmap strategies, comma-separated (classic, zapRlock)"],
  profile: [
    "--profile <name|file>",
    "cost profile (e5-2680-v4.18, e5-2680-v4.18-v6run, alios-v4.9-320g) or a JSON file from host --save-profile",
  ],
  readers: ["--readers <n>", "ps tasks reading /proc/PID/cmdline"],
  faulters: ["--faulters <n>", "threads page-faulting elsewhere in the mm"],
  writers: ["--writers <n>", "threads doing small mmap/munmap pairs"],
  rounds: ["--rounds <n>", "mmap/populate/munmap cycles per thread"],
  rwsem: ["--rwsem <gen>", "mmap_sem generation: v4.18 or v5.3"],
  tree: ["--tree <kind>", "VMA tree: rb (Linux 4.x) or maple (6.1+)"],
  levels: ["--levels <n>", "page-table levels: 4 or 5"],
  hungTaskTimeout: ["--hung-task-timeout <secs>", "hung_task_timeout_secs; 0 = off"],
  psInterval: ["--ps-interval <duration>", "time between two ps reads (10ms, 1s)"],
  seed: ["--seed <n>", "seed of the simulation's PRNG"],
  cpus: ["--cpus <n>", "simulated CPUs (default: one per task)"],
  jobs: ["--jobs <n>", "same as --workers (kept for old scripts)"],
  workers: [
    "--workers <n>",
    "local workers (default: this machine's CPUs; 1 = in this process); with --queue: jobs in flight (default 64)",
  ],
  queue: [
    "--queue <url>",
    "run the jobs on BullMQ workers through Redis: redis://HOST:PORT[/PREFIX] (start them with mmlab-bench worker)",
  ],
  fresh: ["--fresh", "with --queue: run every job again instead of reusing results kept in Redis"],
  quiet: ["--quiet", "no progress bars, no header"],
  json: ["--json", "print the results as one JSON object on stdout"],
  exportJson: ["--export-json <file>", "write the JSON results to a file"],
  trace: ["--trace <file>", "write a Chrome trace-event JSON (Perfetto, chrome://tracing)"],
  ftrace: ["--ftrace <file>", "write a function_graph-style text log"],
  report: ["--report <file>", "write a self-contained HTML report"],
};

function addOptions(cmd: Command, names: OptionName[], defaults: Partial<RawOptions>): Command {
  for (const name of names) {
    const [flags, help] = OPTION_SPECS[name];
    const d = defaults[name];
    if (typeof d === "string") cmd.option(flags, help, d);
    else cmd.option(flags, help);
  }
  return cmd;
}

/** Where the jobs of a campaign run (explore, sweep, history, replay). */
const CAMPAIGN: OptionName[] = ["workers", "queue", "fresh"];

const COMMON: OptionName[] = [
  "strategies",
  "profile",
  "readers",
  "rwsem",
  "tree",
  "levels",
  "hungTaskTimeout",
  "psInterval",
  "seed",
  "cpus",
  "quiet",
  "json",
  "exportJson",
];

const DEFAULT_STRINGS: Partial<RawOptions> = {
  size: "320G",
  strategies: "classic,zapRlock",
  profile: DEFAULTS.profile,
  readers: String(DEFAULTS.readers),
  faulters: String(DEFAULTS.faulters),
  writers: String(DEFAULTS.writers),
  rwsem: DEFAULTS.rwsem,
  tree: DEFAULTS.tree,
  levels: String(DEFAULTS.levels),
  hungTaskTimeout: String(DEFAULTS.hungTaskTimeoutNs / 1e9),
  psInterval: "10ms",
  seed: String(DEFAULTS.seed),
};

/** Validates the raw options into parameters; UsageError on the first bad value. */
function buildParams(o: RawOptions, sizeBytes: number): ExperimentParams {
  return {
    sizeBytes,
    profile: parseProfile(o.profile ?? DEFAULTS.profile),
    readers: parseCount(o.readers ?? "1", "--readers", 0, 64),
    faulters: parseCount(o.faulters ?? "0", "--faulters", 0, 64),
    writers: parseCount(o.writers ?? "0", "--writers", 0, 64),
    rwsem: parseChoice(o.rwsem ?? "v4.18", "--rwsem", ["v4.18", "v5.3"] as const),
    tree: parseChoice(o.tree ?? "rb", "--tree", ["rb", "maple"] as const),
    levels: parseChoice(o.levels ?? "4", "--levels", ["4", "5"] as const) === "5" ? 5 : 4,
    cpus: o.cpus === undefined ? null : parseCount(o.cpus, "--cpus", 1, 4096),
    hungTaskTimeoutNs: parseDuration(o.hungTaskTimeout ?? "120", "s", "--hung-task-timeout"),
    psIntervalNs: positive(
      parseDuration(o.psInterval ?? "10ms", "ms", "--ps-interval"),
      "--ps-interval",
      o.psInterval,
    ),
    seed: parseSeed(o.seed ?? "1"),
  };
}

function positive(ns: number, flag: string, text: string | undefined): number {
  if (ns < 1000) throw new UsageError(`invalid ${flag} "${text}" (must be at least 1us)`);
  return ns;
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const commands = ["sweep", "hung-task", "history", "explore", "replay", "worker", "host"];
  /** set by a command whose outcome is not plain success (explore) */
  let exitCode = 0;
  const first = argv[0];
  const hint =
    first !== undefined && commands.includes(first)
      ? `mmlab-bench ${first} --help`
      : "mmlab-bench --help";
  if (first !== undefined && !first.startsWith("-") && !commands.includes(first)) {
    io.stderr(usageLine(`unknown command '${first}' (commands: ${commands.join(", ")})`, hint));
    return 2;
  }
  const program = new Command("mmlab-bench")
    .description(
      'The 320 GB munmap experiment of "mm: mmap: zap pages with read mmap_sem in munmap" (Yang Shi, 2018), in virtual time',
    )
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: () => {},
    });
  program.version(readVersionSafe(), "-V, --version");
  // every command: refuse an unwritable --export-json/--trace/--ftrace/--report before running
  program.hook("preAction", (_program, command) => checkOutputPaths(command.opts()));

  addOptions(
    program,
    [
      "size",
      ...COMMON.slice(0, 3),
      "faulters",
      "writers",
      ...COMMON.slice(3),
      "trace",
      "ftrace",
      "report",
    ],
    DEFAULT_STRINGS,
  ).action(async (o: RawOptions) => {
    await runDefault(o, io);
  });

  addOptions(
    program
      .command("sweep")
      .description(
        "sizes by strategies on every core (or BullMQ workers), beside the patch series' published figures",
      ),
    [
      "size",
      ...COMMON.slice(0, 3),
      "faulters",
      "writers",
      ...COMMON.slice(3),
      ...CAMPAIGN,
      "jobs",
      "report",
    ],
    { ...DEFAULT_STRINGS, size: "80G,160G,320G" },
  ).action(async (o: RawOptions) => {
    await runSweepCommand(o, io);
  });

  addOptions(
    program
      .command("hung-task")
      .description(
        "threads looping mmap/populate/munmap over hundreds of GB plus ps: is ps reported by the hung-task watchdog?",
      ),
    ["size", "writers", "rounds", ...COMMON, "trace", "ftrace"],
    { ...DEFAULT_STRINGS, writers: "4", rounds: "3" },
  ).action(async (o: RawOptions) => {
    await runHungTaskCommand(o, io);
  });

  addOptions(
    program
      .command("history")
      .description(
        "the default experiment under classic, zapRlock, v4.20, v5.8 and perVmaLock side by side",
      ),
    [
      "size",
      ...COMMON.slice(1, 3),
      "faulters",
      "writers",
      ...COMMON.slice(3),
      ...CAMPAIGN,
      "trace",
      "ftrace",
      "report",
    ],
    DEFAULT_STRINGS,
  ).action(async (o: RawOptions) => {
    await runHistoryCommand(o, io);
  });

  const explore = program
    .command("explore")
    .description(
      "run a scenario under many seeded schedules and stop at the first broken invariant (exit 1 when one is found, like a test runner; finding the stack-expansion race under zapRlock and v4.20 is the expected demonstration)",
    )
    .option("--scenario <name>", "scenario to explore (default: every scenario but random)")
    .option(
      "--strategy <name>",
      "munmap strategy, or all (classic, zapRlock, v4.20, v5.8, perVmaLock)",
      "all",
    )
    .option("--schedules <n>", "schedules to try per strategy", "1000")
    .option("--seed <n>", "seed of the first schedule (the i-th uses seed + i)", "1")
    .option("--jitter <f>", "cost-model jitter fraction, 0 to 1", "0.5")
    .option("--no-shuffle-ties", "run simultaneous events in order instead of shuffling them")
    .option("--cost <profile>", "base cost profile (a name or a JSON file)", DEFAULTS.profile)
    .option("--json", "print the results as one JSON object on stdout")
    .option("--quiet", "no progress bar")
    .option("--chunk <n>", "schedules per job (default: about 64 jobs per strategy, 10 to 1,000)");
  addOptions(explore, CAMPAIGN, {})
    .addHelpText(
      "after",
      "\nExit codes: 0 no schedule broke an invariant, 1 one did (or a runtime error), 2 bad flags.\nExpected for stack-expansion: the race is found under zapRlock and v4.20 within 1,000\nschedules, nothing under classic, v5.8 and perVmaLock; so the default run exits 1.\nExpected for stack-guard-gone: found under v6.1 (and, as StackRot, v6.3), not under v6.5;\nfor stackrot: found under v6.3 only; both need a maple tree (n/a for the rb-tree strategies).\nWithout --scenario every scenario runs except random (name it to run it).\nReplay a failure with the printed line: mmlab-bench explore ... --seed S --schedules 1",
    )
    .action(async (o: RawOptions) => {
      exitCode = await runExploreCommand(o, io);
    });

  const replay = program
    .command("replay")
    .description(
      "replay a program's strace -f -y log through mm-core: check every return value against the recording and the final layout against the kernel's /proc/PID/maps; optionally under each munmap strategy",
    )
    .argument(
      "<trace...>",
      "strace -f -y log (see apps/bench/fixtures/README.md); with several, each one's NAME.start.maps, NAME.PID.start.maps, NAME.final.maps and NAME.PID.final.maps beside it are used when present",
    )
    .option(
      "--maps <[pid=]file>",
      "/proc/PID/maps right after execve: of the first process, or pid=file for a process that execs in the log (its later calls run on it); repeatable",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      "--expect-maps <[pid=]file>",
      "final /proc/PID/maps to compare with (the first process, or pid=file); repeatable",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      "--generation <gen>",
      "kernel rules that place mappings (v4.19, v6.8, ...; default: the newest mm-core models)",
    )
    .option("--mmap-min-addr <bytes>", "vm.mmap_min_addr of the recording machine")
    .option(
      "--strategies <list>",
      "also replay under these munmap strategies (or all) and tabulate mmap_sem holds",
    )
    .option("--json", "print the results as one JSON object on stdout")
    .option("--quiet", "no progress bar");
  addOptions(replay, CAMPAIGN, {})
    .addHelpText(
      "after",
      "\nExit codes: 0 every return value and layout matched, 1 a mismatch (or a call mm-core does\nnot model), 2 bad flags or a malformed/truncated input file (nothing is replayed).",
    )
    .action(async (traces: string[], o: RawOptions & { strategies?: string }) => {
      exitCode = await runReplayTraces(traces, o, io);
    });

  program
    .command("worker")
    .description(
      "take jobs from a BullMQ queue (explore, sweep, history or replay run with --queue on any machine) and run them with this mmlab; Ctrl-C finishes the jobs in progress and stops",
    )
    .requiredOption("--queue <url>", "redis://HOST:PORT[/PREFIX], as given to the submitter")
    .option("--concurrency <n>", "jobs at once (default: this machine's CPUs)")
    .option(
      "--lock <duration>",
      "BullMQ lock and stalled-check interval: how soon a job of a dead worker moves on",
      "30s",
    )
    .action(async (o: { queue: string; concurrency?: string; lock: string }) => {
      exitCode = await runWorkerCommand(o, io);
    });

  registerHostCommand(
    program,
    {
      stdout: io.stdout,
      progress:
        io.progressStream?.isTTY === true ? (line) => io.progressStream?.write(`${line}\n`) : null,
      isTTY: io.isTTY,
      env: io.env,
    },
    (code) => {
      exitCode = code;
    },
  );

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      io.stderr(usageLine(err.message, hint));
      return 2;
    }
    if (
      err instanceof UsageError ||
      err instanceof ReplayInputError ||
      err instanceof ProbeUnavailable
    ) {
      io.stderr(usageLine(err.message, hint));
      return 2;
    }
    if (err instanceof QueueUnreachableError) {
      io.stderr(`mmlab-bench: error: ${err.message}\n`);
      return 2;
    }
    io.stderr(`mmlab-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** One line: "mmlab-bench: error: <what> (see 'mmlab-bench --help')". */
function usageLine(message: string, hint: string): string {
  const text = message
    .replace(/^error:\s*/, "")
    .replace(/\s*\n\s*/g, " ")
    .trim();
  return `mmlab-bench: error: ${text} (see '${hint}')\n`;
}

function readVersionSafe(): string {
  try {
    return benchContext(DEFAULTS).version;
  } catch {
    return "0.0.0";
  }
}

// ── The default command ─────────────────────────────────────────────────────────────────

/** One experiment per strategy, in order, with progress bars and (when asked) trace captures. */
function runStrategies(
  o: RawOptions,
  io: CliIo,
  params: ExperimentParams,
  strategies: readonly string[],
  json: boolean,
): { results: BenchResult[]; captures: TraceCapture[] } {
  const wantCaptures = o.trace !== undefined || o.ftrace !== undefined || o.report !== undefined;
  const progress = createProgress(io.progressStream, !json && o.quiet !== true);
  const results: BenchResult[] = [];
  const captures: TraceCapture[] = [];
  const machine = newMachine(); // one PhysMem and slab cache for all the runs (no second first-touch)
  try {
    for (const s of strategies) {
      const run = runExperiment(params, s, {
        machine,
        trace: wantCaptures,
        onProgress: (phase, done, total) => progress.update(s, phase, done, total),
      });
      results.push(run.result);
      if (run.capture !== null) captures.push(run.capture);
    }
  } finally {
    progress.stop();
  }
  return { results, captures };
}

async function runDefault(o: RawOptions, io: CliIo): Promise<void> {
  const params = buildParams(o, parseSize(o.size ?? "320G"));
  const strategies = parseStrategies(o.strategies ?? "classic,zapRlock");
  const json = o.json === true;
  const c = colorsFor(io.isTTY && !json, io.env);
  const { results, captures } = runStrategies(o, io, params, strategies, json);
  const out: BenchJson = { context: benchContext(params), results };
  const wrote = await writeOutputs(o, out, captures);
  if (json) {
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const title = `munmap of ${formatBytes(params.sizeBytes)} (${group(params.sizeBytes / 4096)} pages, every page mapped), ${strategies.join(" vs ")}`;
  const text = renderRunText(out, c, title);
  io.stdout(o.quiet === true ? text.slice(text.indexOf("\n\n") + 2) : text);
  for (const line of wrote) io.stdout(`${c.dim("wrote")} ${line}\n`);
}

// ── history ─────────────────────────────────────────────────────────────────────────────

async function runHistoryCommand(o: RawOptions, io: CliIo): Promise<void> {
  const params = buildParams(o, parseSize(o.size ?? "320G"));
  const json = o.json === true;
  const c = colorsFor(io.isTTY && !json, io.env);
  const target = parseTarget(o, io.defaultWorkers);
  const wantCaptures = o.trace !== undefined || o.ftrace !== undefined || o.report !== undefined;
  let results: BenchResult[];
  let captures: TraceCapture[] = [];
  if (wantCaptures && target.queue === null) {
    // the traces stay in this process: run as before, one strategy after another
    ({ results, captures } = runStrategies(o, io, params, HISTORY_STRATEGIES, json));
  } else {
    if (wantCaptures) {
      throw new UsageError(
        "--trace, --ftrace and --report need the runs in this process, not --queue",
      );
    }
    const version = benchVersion();
    const jobs = HISTORY_STRATEGIES.map((s) => experimentJob(version, params, s));
    const out = await runWithProgress(jobs, target, io, !json && o.quiet !== true, "simulations", {
      isolate: true,
    });
    results = mergeExperiments(jobs, out);
  }
  const out: BenchJson = { context: benchContext(params, HISTORY_MODEL), results };
  const wrote = await writeOutputs(o, out, captures);
  if (json) {
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const parts: string[] = [];
  if (o.quiet !== true) {
    const title = `history: munmap of ${formatBytes(params.sizeBytes)} (${group(params.sizeBytes / 4096)} pages, every page mapped) under ${HISTORY_STRATEGIES.length} kernel designs`;
    parts.push(renderHeader(out, c, title), "");
  }
  parts.push(
    renderHistoryTable(results, c),
    "",
    renderKernels(results, c),
    "",
    renderHistorySummary(results, c),
    "",
    renderSimFigures(results, c),
    "",
  );
  io.stdout(parts.join("\n"));
  for (const line of wrote) io.stdout(`${c.dim("wrote")} ${line}\n`);
}

// ── campaigns: jobs on local workers or BullMQ, with a progress bar ─────────────────────

/** Runs the jobs where --workers/--queue say, with the campaign bar on stderr. */
async function runWithProgress(
  jobs: readonly CampaignJob[],
  target: CampaignTarget,
  io: CliIo,
  show: boolean,
  unit: string,
  opts: ExecuteOptions = {},
): Promise<Array<JobResult | undefined>> {
  const progress = createCampaignProgress(io.progressStream, show, jobs.length, unit);
  try {
    return await executeCampaign(jobs, target, {
      ...opts,
      onResult(i, r) {
        opts.onResult?.(i, r);
        progress.jobDone(r.kind === "explore" ? r.schedules : 1);
      },
      onSkip(i) {
        opts.onSkip?.(i);
        progress.jobDone(0);
      },
      notice: (m) => io.stderr(`mmlab-bench: ${m}\n`),
    });
  } finally {
    progress.stop();
  }
}

// ── explore ─────────────────────────────────────────────────────────────────────────────

async function runExploreCommand(o: RawOptions, io: CliIo): Promise<number> {
  const scenarios = exploreScenarios().map((s) => s.name);
  const scenario = o.scenario;
  if (scenario !== undefined && !scenarios.includes(scenario)) {
    throw new UsageError(`unknown --scenario "${scenario}" (known: ${scenarios.join(", ")})`);
  }
  const known = munmapStrategies().map((s) => s.name);
  const strategy = o.strategy ?? "all";
  if (strategy !== "all" && !known.includes(strategy)) {
    throw new UsageError(`unknown --strategy "${strategy}" (known: all, ${known.join(", ")})`);
  }
  const json = o.json === true;
  const schedules = parseCount(o.schedules ?? "1000", "--schedules", 1, 1_000_000);
  const firstSeed = parseSeed(o.seed ?? "1");
  if (firstSeed + schedules - 1 > 0xffffffff) {
    throw new UsageError(
      `invalid --seed "${o.seed}" (the last schedule's seed, --seed + --schedules - 1, must stay below 2^32)`,
    );
  }
  const target = parseTarget(o, io.defaultWorkers);
  const base = {
    strategies: strategy === "all" ? known : [strategy],
    schedules,
    firstSeed,
    jitter: parseFraction(o.jitter ?? "0.5", "--jitter"),
    shuffleTies: o.shuffleTies !== false,
    cost: parseProfile(o.cost ?? DEFAULTS.profile, "--cost"),
  };
  /** One scenario's exploration, cut into jobs for the target (in-process or workers). */
  const exploreOne = async (name: string): Promise<ExploreJson> => {
    const params = { ...base, scenario: name };
    const jobs = cutExplore({
      ...params,
      version: benchVersion(),
      ...(o.chunk === undefined ? {} : { chunk: parseCount(o.chunk, "--chunk", 1, 1_000_000) }),
    });
    const stopper = exploreStopper(jobs);
    const results = await runWithProgress(
      jobs,
      target,
      io,
      !json && o.quiet !== true,
      "schedules",
      stopper,
    );
    return exploreJson(params, mergeExplore(jobs, results, params.strategies));
  };
  if (scenario === undefined) {
    // Every scenario that is not opt-in (random runs only when named).
    const all: { scenarios: ExploreJson[] } = { scenarios: [] };
    for (const s of exploreScenarios()) {
      if (s.optIn !== true) all.scenarios.push(await exploreOne(s.name));
    }
    if (json) io.stdout(`${JSON.stringify(all, null, 2)}\n`);
    else io.stdout(renderExploreScenarios(all, colorsFor(io.isTTY, io.env)));
    return exploreAllExitCode(all);
  }
  const run = await exploreOne(scenario);
  if (json) {
    io.stdout(`${JSON.stringify(run, null, 2)}\n`);
  } else {
    const c = colorsFor(io.isTTY, io.env);
    io.stdout(strategy === "all" ? renderExploreAll(run, c) : renderExploreOne(run, c));
  }
  return exploreExitCode(run);
}

// ── sweep ───────────────────────────────────────────────────────────────────────────────

async function runSweepCommand(o: RawOptions, io: CliIo): Promise<void> {
  const sizes = parseSizes(o.size ?? "80G,160G,320G");
  const params = buildParams(o, Math.max(...sizes));
  const strategies = parseStrategies(o.strategies ?? "classic,zapRlock");
  if (o.jobs !== undefined && o.workers === undefined) {
    o.workers = String(parseCount(o.jobs, "--jobs", 1, 1024));
  }
  const target = parseTarget(o, io.defaultWorkers);
  const json = o.json === true;
  const c = colorsFor(io.isTTY && !json, io.env);
  const list = sweepJobs(params, sizes, strategies);
  const done = await runWithProgress(list, target, io, !json && o.quiet !== true, "simulations", {
    isolate: true,
  });
  const results = mergeExperiments(list, done);
  const sweep = sweepResult(list, results);
  const out = { context: benchContext(params), results, sweep };
  const wrote = await writeOutputs(o, out, [], sweep);
  if (json) {
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const title = `sweep: munmap of ${sizes.map(formatBytes).join(", ")} by ${strategies.join(", ")} (${list.length} simulations)`;
  const parts = [renderSweepTable(sweep, c), ""];
  if (o.quiet !== true) parts.unshift(renderHeader(out, c, title), "");
  io.stdout(`${parts.join("\n")}\n`);
  for (const line of wrote) io.stdout(`${c.dim("wrote")} ${line}\n`);
}

// ── replay ──────────────────────────────────────────────────────────────────────────────

/** One trace as before; several: one job each, their reports in the order given. */
async function runReplayTraces(
  traces: readonly string[],
  o: RawOptions & { strategies?: string },
  io: CliIo,
): Promise<number> {
  const json = o.json === true;
  const c = colorsFor(io.isTTY && !json, io.env);
  const target = parseTarget(o, io.defaultWorkers);
  if (traces.length === 1 && target.queue === null) {
    const { json: out, exitCode: code } = runReplayCommand(traces[0] as string, o);
    io.stdout(json ? `${JSON.stringify(out, null, 2)}\n` : renderReplay(out, c));
    return code;
  }
  const loaded = loadReplayJobs(traces, o);
  const done = await runWithProgress(
    loaded.map((l) => l.job),
    target,
    io,
    !json && o.quiet !== true,
    "traces",
  );
  const outs = loaded.map((l, i) => {
    const r = done[i];
    if (r?.kind !== "replay") throw new Error(`campaign: no replay result for ${traces[i]}`);
    return { json: replayJson(l.input, r), exitCode: r.exitCode };
  });
  if (traces.length === 1) {
    const only = outs[0] as (typeof outs)[number];
    io.stdout(json ? `${JSON.stringify(only.json, null, 2)}\n` : renderReplay(only.json, c));
    return only.exitCode;
  }
  if (json) io.stdout(`${JSON.stringify({ traces: outs.map((x) => x.json) }, null, 2)}\n`);
  else io.stdout(outs.map((x) => renderReplay(x.json, c)).join("\n"));
  return outs.some((x) => x.exitCode !== 0) ? 1 : 0;
}

// ── worker ──────────────────────────────────────────────────────────────────────────────

async function runWorkerCommand(
  o: { queue: string; concurrency?: string; lock: string },
  io: CliIo,
): Promise<number> {
  const q = parseQueueUrl(o.queue);
  const concurrency =
    o.concurrency === undefined
      ? (io.defaultWorkers ?? os.availableParallelism())
      : parseCount(o.concurrency, "--concurrency", 1, 1024);
  const lockMs = parseDuration(o.lock, "s", "--lock") / 1e6;
  if (lockMs < 100) throw new UsageError(`invalid --lock "${o.lock}" (at least 100ms)`);
  const { checkReachable, startQueueWorker } = await import("./campaign/queue.js");
  await checkReachable(q);
  const version = benchVersion();
  const log = (line: string) => io.stderr(`mmlab-bench worker: ${line}\n`);
  const worker = await startQueueWorker(q, { version, concurrency, lockMs, log });
  log(`mmlab ${version}, ${concurrency} at once, waiting for jobs on ${q.text}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      // a second Ctrl-C leaves at once
      process.once("SIGINT", () => process.exit(130));
      log("stopping: finishing the jobs in progress (Ctrl-C again to leave now)");
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await worker.close();
  log(`stopped after ${worker.completed()} job(s)`);
  return 0;
}

// ── hung-task ───────────────────────────────────────────────────────────────────────────

async function runHungTaskCommand(o: RawOptions, io: CliIo): Promise<void> {
  const base = buildParams(o, parseSize(o.size ?? "320G"));
  const params: HungTaskParams = {
    ...base,
    faulters: 0,
    threads: parseCount(o.writers ?? "4", "--writers", 1, 64),
    rounds: parseCount(o.rounds ?? "3", "--rounds", 1, 100),
  };
  const strategies = parseStrategies(o.strategies ?? "classic,zapRlock");
  const json = o.json === true;
  const c = colorsFor(io.isTTY && !json, io.env);
  const wantCaptures = o.trace !== undefined || o.ftrace !== undefined;
  const progress = createProgress(io.progressStream, !json && o.quiet !== true);
  const results: HungTaskResult[] = [];
  const captures: TraceCapture[] = [];
  try {
    for (const s of strategies) {
      const run = runHungTask(params, s, {
        trace: wantCaptures,
        onProgress: (rss, total) => progress.update(s, "populate", Math.min(rss, total), total),
      });
      results.push(run.result);
      if (run.capture !== null) captures.push(run.capture);
    }
  } finally {
    progress.stop();
  }
  const out = { context: benchContext(params), results };
  const wrote = await writeOutputs(o, out, captures);
  if (json) {
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const lines: string[] = [];
  if (o.quiet !== true) {
    lines.push(
      renderHeader(
        { context: out.context, results: [] },
        c,
        `hung-task: ${params.threads} threads × ${params.rounds} rounds of mmap(MAP_POPULATE) + munmap of ${formatBytes(Math.floor(params.sizeBytes / params.threads / 2097152) * 2097152)} each, plus ps`,
      ),
      "",
    );
  }
  for (const r of results) lines.push(renderHungTaskResult(r, c), "");
  lines.push(renderHungTaskVerdict(results, c), "");
  io.stdout(lines.join("\n"));
  for (const line of wrote) io.stdout(`${c.dim("wrote")} ${line}\n`);
}

export function renderHungTaskResult(r: HungTaskResult, c: Colors): string {
  const w = r.longestWait;
  const lines = [
    `${c.bold(r.strategy)} ${c.dim(`(${r.kernel}; rwsem ${r.rwsem})`)}`,
    `  ran ${formatNs(r.durationNs)} of virtual time; munmap held mmap_sem ${r.munmapHoldNsPerPage.toFixed(1)} ns per page`,
    `  ps: ${r.psWait.count} reads, wait max ${formatNs(r.psWait.max)}, p99 ${formatNs(r.psWait.p99)}`,
    `  longest mmap_sem wait: ${w.comm}:${w.pid} (${w.mode}) ${formatNs(w.waitNs)}`,
  ];
  const p = r.psLongest;
  if (p !== null && p.waitNs > 0) {
    const who = (xs: ReadonlyArray<{ pid: number; comm: string; mode: string }>) =>
      xs.length === 0 ? "nobody" : xs.map((x) => `${x.comm}:${x.pid} (${x.mode})`).join(", ");
    lines.push(
      `  ps's longest wait began at ${formatNs(p.requestedAt)}: held by ${who(p.holders)}; queued ahead of ps: ${who(p.queuedAhead)}`,
    );
  }
  if (r.hungTaskReports.length === 0) {
    lines.push(`  hung-task watchdog: ${c.green("no report")}`);
  } else {
    for (const h of r.hungTaskReports) {
      lines.push(
        `  ${c.red(h.message)} ${c.dim(`(at ${formatNs(h.time)}, blocked ${formatNs(h.blockedNs)})`)}`,
      );
    }
  }
  return lines.join("\n");
}

/** The honest conclusion: reached or not, and if not, what it would take. */
export function renderHungTaskVerdict(results: readonly HungTaskResult[], c: Colors): string {
  const lines = [c.bold("Verdict")];
  const timeout = results[0]?.hungTaskTimeoutNs ?? 120e9;
  if (timeout === 0) {
    lines.push("  the watchdog is off (--hung-task-timeout 0)");
    return lines.join("\n");
  }
  const reported = results.filter((r) => r.hungTaskReports.length > 0);
  for (const r of reported) {
    lines.push(
      `  ${r.strategy}: the watchdog reported ${r.hungTaskReports.length} task(s) blocked for more than ${formatNs(timeout)}`,
    );
  }
  const quiet = results.filter((r) => r.hungTaskReports.length === 0);
  if (quiet.length > 0) {
    let longest = quiet[0] as HungTaskResult;
    for (const r of quiet) if (r.longestWait.waitNs > longest.longestWait.waitNs) longest = r;
    const perPage = Math.max(...results.map((r) => r.munmapHoldNsPerPage));
    const pages = timeout / perPage;
    const bytes = pages * 4096;
    lines.push(
      `  ${quiet.map((r) => r.strategy).join(", ")}: no task was blocked for ${formatNs(timeout)}; the longest block was ${formatNs(longest.longestWait.waitNs)} (${longest.longestWait.comm}:${longest.longestWait.pid}, ${longest.strategy}), ps at most ${formatNs(Math.max(...quiet.map((r) => r.psWait.max)))}.`,
      `  What it would take: khungtaskd reports a D-state task it sees blocked across two checks, ${formatNs(timeout)} apart. At the ${perPage.toFixed(1)} ns per page the munmaps held mmap_sem here, one munmap would have to cover ${group(pages)} pages (${formatBytes(Math.round(bytes / 2 ** 30) * 2 ** 30)}, ${(bytes / PHYS_BYTES).toFixed(1)}x the modelled 384 GiB) to hold it that long, or about ${Math.ceil(timeout / ((perPage * (results[0]?.bytesPerThread ?? 1)) / 4096))} munmaps of ${formatBytes(results[0]?.bytesPerThread ?? 0)} would have to be queued ahead of ps. The model is not tuned to force it; lower --hung-task-timeout to watch the watchdog fire.`,
      `  The lock rule behind the blocks: with the v4.18 rwsem a reader (ps's down_read in proc_pid_cmdline_read) never passes a queued writer, so ps waits for the munmap holding mmap_sem for write, for every writer queued ahead of it, and for the read holders (MAP_POPULATE's __mm_populate) those writers wait for.`,
    );
  }
  return lines.join("\n");
}
