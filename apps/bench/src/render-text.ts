/**
 * The human output of the default command, in hyperfine/mitata style: a context header, one
 * table row per strategy, a summary, then the simulation's own figures on this machine.
 */
import Table from "cli-table3";
import type { Colors } from "./colors.js";
import { formatBytes, formatMs, formatNs, formatRatio, group } from "./format.js";
import type { BenchJson, BenchResult } from "./types.js";

/** The context header (mitata's `clk:`/`cpu:`/`runtime:` lines, plus the model's). */
export function renderHeader(json: BenchJson, c: Colors, title: string): string {
  const { context } = json;
  const p = context.params;
  const m = context.machine;
  const lines = [
    c.bold(title),
    `${c.dim("runtime:")} node ${m.node} (${m.os}) ${c.dim("cpu:")} ${m.cpuModel} × ${m.cpus}`,
    `${c.dim("model:")}   ${context.model}, rwsem ${p.rwsem}, ${p.tree} VMA tree, ${p.levels}-level page tables`,
    `${c.dim("profile:")} ${context.profile} ${c.dim(`(${context.profileSource})`)}`,
    `${c.dim("seed:")}    ${context.seed}   ${c.dim("time:")} ${context.time}   ${c.dim("cpus:")} ${p.cpus ?? "one per task"}   ${c.dim("hung_task_timeout:")} ${p.hungTaskTimeoutNs === 0 ? "off" : formatNs(p.hungTaskTimeoutNs)}`,
    `${c.dim("load:")}    ${p.readers} ps reading /proc/PID/cmdline every ${formatNs(p.psIntervalNs)}, ${p.faulters} faulting thread${p.faulters === 1 ? "" : "s"}, ${p.writers} mmap/munmap thread${p.writers === 1 ? "" : "s"}`,
  ];
  return lines.join("\n");
}

/** A column of a results table: its heading and how a result fills it. */
export interface ResultColumn {
  head: string;
  cell(r: BenchResult, c: Colors): string;
}

/** The columns the tables of the commands pick from. */
export const RESULT_COLUMNS = {
  strategy: { head: "strategy", cell: (r, c) => c.bold(r.strategy) },
  munmap: { head: "munmap", cell: (r) => formatNs(r.munmapLatencyNs) },
  exclusiveHold: {
    head: "exclusive hold",
    cell: (r, c) =>
      r.exclusiveHoldNs >= 1e9
        ? c.red(formatNs(r.exclusiveHoldNs))
        : c.green(formatNs(r.exclusiveHoldNs)),
  },
  sharedHold: { head: "shared hold", cell: (r) => formatNs(r.sharedHoldNs) },
  psWaitMax: { head: "ps wait max", cell: (r) => formatNs(r.psWait.max) },
  psWaitP99: { head: "ps wait p99", cell: (r) => formatNs(r.psWait.p99) },
  faultWaitMax: { head: "fault wait max", cell: (r) => formatNs(r.faultWait.max) },
  hungTasks: {
    head: "hung tasks",
    cell: (r, c) =>
      r.hungTaskReports.length === 0 ? "0" : c.red(String(r.hungTaskReports.length)),
  },
} satisfies Record<string, ResultColumn>;

/** A table with one row per result; the first column is left-aligned, the rest right. */
export function renderResultColumns(
  results: readonly BenchResult[],
  columns: readonly ResultColumn[],
  c: Colors,
): string {
  const table = new Table({
    head: columns.map((col) => col.head),
    style: { head: [], border: [], compact: true },
    colAligns: columns.map((_, i) => (i === 0 ? "left" : "right")),
  });
  for (const r of results) table.push(columns.map((col) => col.cell(r, c)));
  return table.toString();
}

/** The results table of the default command: one row per strategy. */
export function renderTable(results: readonly BenchResult[], c: Colors): string {
  const k = RESULT_COLUMNS;
  return renderResultColumns(
    results,
    [
      k.strategy,
      k.munmap,
      k.exclusiveHold,
      k.sharedHold,
      k.psWaitMax,
      k.psWaitP99,
      k.faultWaitMax,
      k.hungTasks,
    ],
    c,
  );
}

/** hyperfine's "Summary" block: who holds mmap_sem exclusively for less, by how much. */
export function renderSummary(results: readonly BenchResult[], c: Colors): string {
  if (results.length === 0) return "";
  const sorted = [...results].sort((a, b) => a.exclusiveHoldNs - b.exclusiveHoldNs);
  const best = sorted[0] as BenchResult;
  const lines = [c.bold("Summary")];
  for (const other of sorted.slice(1)) {
    lines.push(
      `  ${c.cyan(best.strategy)} holds mmap_sem exclusively ${c.green(formatRatio(other.exclusiveHoldNs, best.exclusiveHoldNs))} shorter than ${c.magenta(other.strategy)} (${formatNs(best.exclusiveHoldNs)} vs ${formatNs(other.exclusiveHoldNs)})`,
    );
  }
  for (const r of results) {
    const hung = r.hungTaskReports[0];
    lines.push(
      `  ${r.strategy}: munmap of ${group(r.pages)} pages took ${formatNs(r.munmapLatencyNs)}; ps waited at most ${formatNs(r.psWait.max)} (${r.psWait.count} reads), faults at most ${formatNs(r.faultWait.max)} (${r.faultWait.count} faults)${r.writerWait.count > 0 ? `, mmap/munmap at most ${formatNs(r.writerWait.max)}` : ""}${hung === undefined ? "" : `; ${c.red(hung.message)}`}`,
    );
  }
  return lines.join("\n");
}

/**
 * The simulation's own cost on this machine: wall time per phase, ns per page, and beside it
 * the process's kernel CPU time and page faults in the phase (first-touch costs), peak RSS.
 */
export function renderSimFigures(results: readonly BenchResult[], c: Colors): string {
  const lines = [c.bold("Simulation (this machine, wall clock)")];
  let peak = 0;
  for (const r of results) {
    const phase = (name: string, ms: number, sysMs: number, faults: number) =>
      `${name.padEnd(13)}${formatMs(ms).padStart(8)} (${((ms * 1e6) / r.pages).toFixed(1)} ns/page)  ${c.dim(`sys ${formatMs(sysMs).padStart(7)}, ${group(faults).padStart(7)} page faults`)}`;
    const { wallMs: w, sysMs, pageFaults: pf } = r.sim;
    lines.push(
      `  ${r.strategy.padEnd(10)} ${phase("populate", w.populate, sysMs.populate, pf.populate)}`,
      `  ${"".padEnd(10)} ${phase("munmap phase", w.measured, sysMs.measured, pf.measured)}`,
    );
    peak = Math.max(peak, r.sim.peakRssBytes);
  }
  lines.push(`  peak RSS ${formatBytes(peak)}`);
  return lines.join("\n");
}

export function renderRunText(json: BenchJson, c: Colors, title: string): string {
  return [
    renderHeader(json, c, title),
    "",
    renderTable(json.results, c),
    "",
    renderSummary(json.results, c),
    "",
    renderSimFigures(json.results, c),
    "",
  ].join("\n");
}
