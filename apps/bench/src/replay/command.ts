/**
 * `mmlab-bench replay TRACE [--maps [PID=]START]... [--expect-maps [PID=]FINAL]...`: reads the files,
 * parses all of them (bad input: exit 2, nothing run), replays the log through mm-core,
 * prints the fidelity summary and, with --strategies, the recorded workload's mmap_sem
 * behaviour under each munmap strategy. Exit 0 when every return value and layout matched,
 * 1 otherwise.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { MmStruct, munmapStrategies, munmapStrategy } from "@mmlab/mm-core";
import { Sim } from "@mmlab/sched";
import Table from "cli-table3";
import type { Colors } from "../colors.js";
import { benchVersion, machine } from "../context.js";
import { formatNs, group } from "../format.js";
import { UsageError } from "../params.js";
import { formatMapsEntry, type MapsEntry, parseMaps } from "./maps.js";
import {
  type Generation,
  type ProcessSummary,
  parseReplay,
  type ReplayInput,
  type ReplayResult,
  runReplay,
} from "./replay.js";

export interface ReplayCommandOptions {
  maps?: string[];
  expectMaps?: string[];
  generation?: string;
  mmapMinAddr?: string;
  strategies?: string;
}

/** The per-strategy figures of the recorded workload. */
export interface StrategyRow {
  strategy: string;
  kernel: string;
  matched: number;
  replayed: number;
  layoutMatched: boolean | null;
  virtualNs: number;
  /** mmap_sem held exclusively, summed over the calls, and the longest single hold */
  exclusiveTotalNs: number;
  exclusiveMax: { ns: number; line: number; call: string } | null;
  /** mmap_sem held shared by the calls (after a downgrade) */
  sharedTotalNs: number;
  /** calls that downgraded mmap_sem */
  downgrades: number;
}

/** `mmlab-bench replay --json`. */
export interface ReplayJson {
  context: {
    version: string;
    machine: ReturnType<typeof machine>;
    trace: string;
    startMaps: string | null;
    /** --maps PID=FILE: the layouts of processes right after their `execve`-th execve */
    execMaps: { pid: number; execve: number; file: string }[];
    expectMaps: string[];
    time: "virtual (ns)";
  };
  replay: Omit<ReplayResult, "timings">;
  strategies: StrategyRow[];
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** "[PID=]FILE": the pid (null without one) and the parsed maps file. */
function mapsSpec(spec: string): { pid: number | null; entries: MapsEntry[]; name: string } {
  const m = /^(\d+)=(.+)$/.exec(spec);
  const pid = m === null ? null : Number(m[1]);
  const path = m === null ? spec : (m[2] as string);
  return { pid, entries: parseMaps(readText(path), basename(path)), name: basename(path) };
}

/** Reads and parses every input file; ReplayInputError / UsageError on bad input. */
export function loadReplayInput(trace: string, o: ReplayCommandOptions): ReplayInput {
  const input: ReplayInput = { trace: { text: readText(trace), name: basename(trace) } };
  input.execMaps = [];
  for (const spec of o.maps ?? []) {
    const { pid, entries, name } = mapsSpec(spec);
    if (pid !== null) {
      input.execMaps.push({ pid, entries, name });
    } else if (input.startMaps !== undefined) {
      throw new UsageError(
        `--maps ${spec}: the first process already has ${input.startMaps.name} (give the others as PID=FILE)`,
      );
    } else {
      input.startMaps = { entries, name };
    }
  }
  input.expectMaps = (o.expectMaps ?? []).map(mapsSpec);
  return input;
}

/** The generations to try, newest first; mm-core refuses the ones it does not model. */
const GENERATIONS = ["v6.18", "v6.8", "v4.19"];

/** The generations this mm-core models (MmStruct throws a RangeError for the others). */
export function knownGenerations(): Generation[] {
  return GENERATIONS.filter((g) => {
    try {
      new MmStruct(new Sim(), { generation: g as Generation });
      return true;
    } catch {
      return false;
    }
  }) as Generation[];
}

/** --generation: default the newest one mm-core models (the recording machine runs 6.18). */
export function parseGeneration(text: string | undefined): Generation {
  const known = knownGenerations();
  const g = text ?? known[0] ?? "v6.8";
  if (!(known as string[]).includes(g)) {
    throw new UsageError(`invalid --generation "${g}" (known: ${known.join(", ")})`);
  }
  return g as Generation;
}

export function parseMinAddr(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new UsageError(`invalid --mmap-min-addr "${text}" (bytes, e.g. 4096 or 0x10000)`);
  }
  return v;
}

export function parseStrategyList(text: string | undefined): string[] {
  if (text === undefined) return [];
  const known = munmapStrategies().map((s) => s.name);
  if (text === "all") return known;
  const list = text.split(",").map((s) => s.trim());
  for (const s of list) {
    if (!known.includes(s)) {
      throw new UsageError(
        `unknown strategy "${s}" in --strategies (known: all, ${known.join(", ")})`,
      );
    }
  }
  return list;
}

/** What one trace's replay produced, before the submitter adds its context. */
export interface ReplayOutcome {
  replay: Omit<ReplayResult, "timings">;
  strategies: StrategyRow[];
  exitCode: 0 | 1;
}

/** Replays one parsed input under the base strategy, then under each of `strategies`. */
export function replayOutcome(
  input: ReplayInput,
  opts: { generation: Generation; mmapMinAddr?: number; strategies: readonly string[] },
): ReplayOutcome {
  const parsed = parseReplay(input); // every line checked before anything runs
  const base = {
    generation: opts.generation,
    ...(opts.mmapMinAddr === undefined ? {} : { mmapMinAddr: opts.mmapMinAddr }),
  };
  const main = runReplay(input, parsed, base);
  const rows: StrategyRow[] = [];
  for (const name of opts.strategies) {
    const r = name === main.strategy ? main : runReplay(input, parsed, { ...base, strategy: name });
    rows.push(strategyRow(r));
  }
  const { timings: _t, ...replay } = main;
  const ok =
    main.modelError === null && main.mismatched === 0 && main.layouts.every((l) => l.matched);
  return { replay, strategies: rows, exitCode: ok ? 0 : 1 };
}

/** The `--json` object of one trace: this machine's context around an outcome. */
export function replayJson(input: ReplayInput, outcome: ReplayOutcome): ReplayJson {
  // the first process's first image: --maps FILE, or its first --maps PID=FILE
  const firstPid = outcome.replay.processes[0]?.pid;
  const first =
    input.startMaps === undefined
      ? (input.execMaps ?? []).find((m) => m.pid === firstPid)
      : undefined;
  const nth = new Map<number | undefined, number>([[firstPid, 1]]); // its first execve: the start
  return {
    context: {
      version: benchVersion(),
      machine: machine(),
      trace: input.trace.name,
      startMaps: input.startMaps?.name ?? first?.name ?? null,
      execMaps: (input.execMaps ?? [])
        .filter((m) => m !== first)
        .map((m) => {
          const execve = (nth.get(m.pid) ?? 0) + 1; // its successful execves in the log
          nth.set(m.pid, execve);
          return { pid: m.pid, execve, file: m.name };
        }),
      expectMaps: (input.expectMaps ?? []).map((m) => m.name),
      time: "virtual (ns)",
    },
    replay: outcome.replay,
    strategies: outcome.strategies,
  };
}

/** Runs the whole command; returns the JSON object and the exit code. */
export function runReplayCommand(
  trace: string,
  o: ReplayCommandOptions,
): { json: ReplayJson; exitCode: 0 | 1 } {
  const generation = parseGeneration(o.generation);
  const mmapMinAddr = parseMinAddr(o.mmapMinAddr);
  const strategies = parseStrategyList(o.strategies);
  const input = loadReplayInput(trace, o);
  const outcome = replayOutcome(input, {
    generation,
    strategies,
    ...(mmapMinAddr === undefined ? {} : { mmapMinAddr }),
  });
  return { json: replayJson(input, outcome), exitCode: outcome.exitCode };
}

export function strategyRow(r: ReplayResult): StrategyRow {
  let exclusiveTotalNs = 0;
  let sharedTotalNs = 0;
  let downgrades = 0;
  let max: StrategyRow["exclusiveMax"] = null;
  for (const t of r.timings) {
    exclusiveTotalNs += t.exclusiveNs;
    sharedTotalNs += t.sharedNs;
    if (t.exclusiveNs > 0 && t.sharedNs > 0) downgrades++;
    if (max === null || t.exclusiveNs > max.ns) {
      max = { ns: t.exclusiveNs, line: t.line, call: t.name };
    }
  }
  return {
    strategy: r.strategy,
    kernel: munmapStrategy(r.strategy).kernel,
    matched: r.matched,
    replayed: r.replayed,
    layoutMatched: r.layouts.length === 0 ? null : r.layouts.every((l) => l.matched),
    virtualNs: r.virtualNs,
    exclusiveTotalNs,
    exclusiveMax: max,
    sharedTotalNs,
    downgrades,
  };
}

/** How a process's mm came to be, in words. */
function originText(p: ProcessSummary): string {
  const by = p.parent === null ? "" : `child of pid ${p.parent}, `;
  switch (p.origin) {
    case "start maps":
      return `${by}start maps ${p.maps}`;
    case "default layout":
      return `${by}mm-core's default layout`;
    case "fork":
      return `${by}dup_mmap() of its parent's mm`;
    case "shared":
      return `${by}shares its parent's mm (vfork)`;
    case "exec maps":
      return `${by}exec'd, on ${p.maps}`;
    case "unknown image":
      return `${by}exec'd an image without --maps`;
  }
}

function processCounts(p: ProcessSummary): string {
  const threads = p.threads.length > 1 ? `${p.threads.length - 1} threads, ` : "";
  const calls = `${group(p.replayed)} call${p.replayed === 1 ? "" : "s"} replayed`;
  return `${threads}${calls}${p.skipped > 0 ? `, ${group(p.skipped)} skipped` : ""}`;
}

function entryText(e: MapsEntry | null): string {
  return e === null ? "(none)" : formatMapsEntry(e).trimEnd();
}

/** The text summary. */
export function renderReplay(json: ReplayJson, c: Colors): string {
  const r = json.replay;
  const x = json.context;
  const pids = r.processes.map((p) => p.pid);
  const out: string[] = [
    c.bold(
      `replay ${x.trace}: ${group(r.callsInLog)} calls from ${pids.length} process${pids.length === 1 ? "" : "es"} (${r.processes.map((p) => `pid ${p.pid}${p.threads.length > 1 ? ` + ${p.threads.length - 1} thread${p.threads.length > 2 ? "s" : ""}` : ""}`).join(", ")})`,
    ),
    `${c.dim("model:")}   mm-core, ${r.generation} placement rules, munmap ${r.strategy}   ${c.dim("time:")} ${x.time}`,
    `${c.dim("start:")}   ${x.startMaps ?? "mm-core's default process layout (no --maps)"}`,
  ];
  for (const m of x.execMaps) {
    const which = m.execve === 1 ? "its execve" : `its execve #${m.execve}`;
    out.push(`${c.dim("exec:")}    ${m.file} (pid ${m.pid} after ${which})`);
  }
  out.push("");
  if (r.processes.length > 1) {
    out.push("processes:");
    for (const p of r.processes) out.push(`  pid ${p.pid}: ${originText(p)}, ${processCounts(p)}`);
  }
  const fd = r.fdCalls > 0 ? ` (+ ${group(r.fdCalls)} openat/close applied to the fd table)` : "";
  if (r.mismatched === 0) {
    out.push(
      `return values: ${c.green(`${group(r.matched)} of ${group(r.replayed)} matched`)}${fd}`,
    );
  } else {
    out.push(
      `return values: ${group(r.matched)} of ${group(r.replayed)} matched, ${c.red(`${group(r.mismatched)} mismatched`)}${fd}`,
    );
    const m = r.firstMismatch;
    if (m !== null) {
      out.push(
        `  first mismatch, line ${m.line} (pid ${m.pid}): ${m.call}`,
        `    kernel returned ${m.expectedText}, the model ${c.red(m.actualText)}`,
      );
    }
  }
  if (r.modelError !== null) {
    const e = r.modelError;
    out.push(
      c.red(`  the model stopped at line ${e.line} (pid ${e.pid}): ${e.call}`),
      `    ${e.message}`,
    );
  }
  if (r.layouts.length > 1) {
    const all = r.layoutsMatched === r.layouts.length;
    const text = `${r.layoutsMatched} of ${r.layoutsCompared} processes matched`;
    const uncompared = r.layouts.length - r.layoutsCompared;
    out.push(
      `final layouts: ${all ? c.green(text) : c.red(text)}${uncompared > 0 ? ` (${uncompared} of ${r.layouts.length} snapshots not compared)` : ""}`,
    );
  }
  for (const l of r.layouts) {
    if (!l.compared) {
      out.push(`layout:        ${c.red(`${l.file} not compared`)}: ${l.reason}`);
    } else if (l.matched) {
      out.push(
        `layout:        ${c.green(`${l.file} matched`)} (pid ${l.pid}, ${l.entries} entries)`,
      );
    } else {
      const d = l.firstDifference;
      out.push(
        `layout:        ${c.red(`${l.file} differs`)} (pid ${l.pid}): first at entry ${(d?.index ?? 0) + 1} (${d?.fields.join(", ")})`,
        `    kernel: ${entryText(d?.expected ?? null)}`,
        `    model:  ${entryText(d?.actual ?? null)}`,
      );
    }
  }
  if (r.layouts.length === 0 && r.modelError === null) {
    out.push(`layout:        ${c.dim("not checked (no --expect-maps)")}`);
  }
  const skipped = Object.entries(r.skipped);
  if (skipped.length > 0) {
    out.push(`not replayed:  ${skipped.map(([n, k]) => `${n} x${k}`).join(", ")}`);
  }
  if (r.notes.length > 0) {
    out.push("notes:");
    for (const n of r.notes) out.push(`  - ${n}`);
  }
  out.push("");
  if (json.strategies.length > 0) out.push(renderStrategies(json.strategies, c), "");
  return out.join("\n");
}

/** The recorded workload under each munmap strategy (calls replayed one after another). */
export function renderStrategies(rows: readonly StrategyRow[], c: Colors): string {
  const table = new Table({
    head: [
      "strategy",
      "returns",
      "layout",
      "virtual time",
      "exclusive hold",
      "longest exclusive",
      "shared hold",
      "downgrades",
    ],
    style: { head: [], border: [], compact: true },
    colAligns: ["left", "right", "left", "right", "right", "right", "right", "right"],
  });
  for (const r of rows) {
    table.push([
      c.bold(r.strategy),
      `${group(r.matched)}/${group(r.replayed)}`,
      r.layoutMatched === null ? "–" : r.layoutMatched ? c.green("match") : c.red("differs"),
      formatNs(r.virtualNs),
      formatNs(r.exclusiveTotalNs),
      r.exclusiveMax === null
        ? "–"
        : `${formatNs(r.exclusiveMax.ns)} (${r.exclusiveMax.call}, line ${r.exclusiveMax.line})`,
      formatNs(r.sharedTotalNs),
      group(r.downgrades),
    ]);
  }
  return table.toString();
}
