#!/usr/bin/env node
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
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { exploreScenarios, munmapStrategies } from "@mmlab/mm-core";
import { Command, CommanderError } from "commander";
import { type Colors, colorsFor } from "./colors.js";
import { benchContext } from "./context.js";
import { runExperiment } from "./experiment.js";
import { exploreExitCode, renderExploreAll, renderExploreOne, runExplore } from "./explore.js";
import { formatBytes, formatNs, group } from "./format.js";
import {
  HISTORY_MODEL,
  HISTORY_STRATEGIES,
  renderHistorySummary,
  renderHistoryTable,
  renderKernels,
} from "./history.js";
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
import { renderReplay, runReplayCommand } from "./replay/command.js";
import { ReplayInputError } from "./replay/strace.js";
import { renderSweepTable, runSweep, sweepJobs } from "./sweep.js";
import type { BenchJson, BenchResult, HungTaskResult, TraceCapture } from "./types.js";

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** where progress bars go (shown only if it is a TTY); null: none */
  progressStream: NodeJS.WriteStream | null;
  /** stdout is a terminal (colours) */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** sweep through worker threads (default) or in this thread (tests) */
  sweepMode?: "workers" | "inline";
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
  quiet?: boolean;
  json?: boolean;
  exportJson?: string;
  trace?: string;
  ftrace?: string;
  report?: string;
  // explore
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
    "--profile <name>",
    "cost profile (e5-2680-v4.18, e5-2680-v4.18-v6run, alios-v4.9-320g)",
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
  jobs: ["--jobs <n>", "worker threads (default: this machine's CPUs)"],
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
  const commands = ["sweep", "hung-task", "history", "explore", "replay"];
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
        "sizes by strategies in worker threads, beside the patch series' published figures",
      ),
    ["size", ...COMMON.slice(0, 3), "faulters", "writers", ...COMMON.slice(3), "jobs", "report"],
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
      "trace",
      "ftrace",
      "report",
    ],
    DEFAULT_STRINGS,
  ).action(async (o: RawOptions) => {
    await runHistoryCommand(o, io);
  });

  program
    .command("explore")
    .description(
      "run a scenario under many seeded schedules and stop at the first broken invariant (exit 1 when one is found, like a test runner; finding the stack-expansion race under zapRlock and v4.20 is the expected demonstration)",
    )
    .option("--scenario <name>", "scenario to explore", "stack-expansion")
    .option(
      "--strategy <name>",
      "munmap strategy, or all (classic, zapRlock, v4.20, v5.8, perVmaLock)",
      "all",
    )
    .option("--schedules <n>", "schedules to try per strategy", "1000")
    .option("--seed <n>", "seed of the first schedule (the i-th uses seed + i)", "1")
    .option("--jitter <f>", "cost-model jitter fraction, 0 to 1", "0.5")
    .option("--no-shuffle-ties", "run simultaneous events in order instead of shuffling them")
    .option("--cost <profile>", "base cost profile", DEFAULTS.profile)
    .option("--json", "print the results as one JSON object on stdout")
    .addHelpText(
      "after",
      "\nExit codes: 0 no schedule broke an invariant, 1 one did (or a runtime error), 2 bad flags.\nExpected for stack-expansion: the race is found under zapRlock and v4.20 within 1,000\nschedules, nothing under classic, v5.8 and perVmaLock; so the default run exits 1.\nReplay a failure with the printed line: mmlab-bench explore ... --seed S --schedules 1",
    )
    .action((o: RawOptions) => {
      exitCode = runExploreCommand(o, io);
    });

  program
    .command("replay")
    .description(
      "replay a program's strace -f -y log through mm-core: check every return value against the recording and the final layout against the kernel's /proc/PID/maps; optionally under each munmap strategy",
    )
    .argument("<trace>", "strace -f -y log (see apps/bench/fixtures/README.md)")
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
    .addHelpText(
      "after",
      "\nExit codes: 0 every return value and layout matched, 1 a mismatch (or a call mm-core does\nnot model), 2 bad flags or a malformed/truncated input file (nothing is replayed).",
    )
    .action((trace: string, o: RawOptions & { strategies?: string }) => {
      const { json, exitCode: code } = runReplayCommand(trace, o);
      if (o.json === true) io.stdout(`${JSON.stringify(json, null, 2)}\n`);
      else io.stdout(renderReplay(json, colorsFor(io.isTTY, io.env)));
      exitCode = code;
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      io.stderr(usageLine(err.message, hint));
      return 2;
    }
    if (err instanceof UsageError || err instanceof ReplayInputError) {
      io.stderr(usageLine(err.message, hint));
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
  try {
    for (const s of strategies) {
      const run = runExperiment(params, s, {
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
  const { results, captures } = runStrategies(o, io, params, HISTORY_STRATEGIES, json);
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

// ── explore ─────────────────────────────────────────────────────────────────────────────

function runExploreCommand(o: RawOptions, io: CliIo): number {
  const scenarios = exploreScenarios().map((s) => s.name);
  const scenario = o.scenario ?? "stack-expansion";
  if (!scenarios.includes(scenario)) {
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
  const run = runExplore({
    scenario,
    strategies: strategy === "all" ? known : [strategy],
    schedules,
    firstSeed,
    jitter: parseFraction(o.jitter ?? "0.5", "--jitter"),
    shuffleTies: o.shuffleTies !== false,
    cost: parseProfile(o.cost ?? DEFAULTS.profile, "--cost"),
  });
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
  const jobs = o.jobs === undefined ? undefined : parseCount(o.jobs, "--jobs", 1, 64);
  const json = o.json === true;
  const c = colorsFor(io.isTTY && !json, io.env);
  const list = sweepJobs(params, sizes, strategies);
  const show = !json && o.quiet !== true && io.progressStream?.isTTY === true;
  const run = await runSweep(list, {
    mode: io.sweepMode ?? "workers",
    ...(jobs === undefined ? {} : { threads: jobs }),
    onDone: (done, total) => {
      if (show) io.progressStream?.write(`\r ${done}/${total} simulations done`);
    },
  });
  if (show) io.progressStream?.write("\r\x1b[K");
  const out = { context: benchContext(params), results: run.results, sweep: run.sweep };
  const wrote = await writeOutputs(o, out, [], run.sweep);
  if (json) {
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const title = `sweep: munmap of ${sizes.map(formatBytes).join(", ")} by ${strategies.join(", ")} (${list.length} simulations on worker threads)`;
  const parts = [renderSweepTable(run.sweep, c), ""];
  if (o.quiet !== true) parts.unshift(renderHeader(out, c, title), "");
  io.stdout(`${parts.join("\n")}\n`);
  for (const line of wrote) io.stdout(`${c.dim("wrote")} ${line}\n`);
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

/** Run as a program (bin, node dist/cli.js), not when imported by tests. */
function isEntry(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return pathToFileURL(realpathSync(arg)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`mmlab-bench: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
