/**
 * The host comparison: the probe's repetitions summarised (medians, the blocked verdict of
 * the majority), beside the model's run of the same configuration; one table per teardown
 * method; the exit code (0 when every blocked / not-blocked verdict agrees, 1 otherwise).
 */
import Table from "cli-table3";
import type { Colors } from "../colors.js";
import { formatBytes, formatNs, formatRatio } from "../format.js";
import type { Fit } from "./fit.js";
import type { HostKernel } from "./kernels.js";
import type { ModelRun } from "./model.js";
import { type Actor, METHODS, type Method, type ProbeOutput } from "./probe.js";
import { busyReasons, isBlocked, median } from "./stats.js";

export interface MeasuredSide {
  p99Ns: number;
  maxNs: number;
  stallNs: number;
  teardownNs: number;
  baselineP50Ns: number;
  /** worst operation during the teardown less its run-queue wait (the verdict's figure) */
  lessCpuWaitMaxNs: number;
  /** repetitions in which the actor was blocked, of those in which it ran during the teardown */
  blockedReps: number;
  judgedReps: number;
  reps: number;
  /** majority of the judged repetitions; null when none was judged */
  blocked: boolean | null;
  /** why the machine looked busy in some repetition (empty: it did not) */
  busy: string[];
  exhausted: boolean;
}

export interface ModelSide {
  p99Ns: number;
  maxNs: number;
  stallNs: number;
  teardownNs: number;
  baselineP50Ns: number;
  blocked: boolean | null;
}

export interface HostRow {
  method: Method;
  actor: Actor;
  measured: MeasuredSide;
  model: ModelSide;
  agree: boolean;
  /** model teardown / measured teardown */
  teardownRatio: number;
}

export interface HostJson {
  context: {
    version: string;
    machine: { node: string; cpus: number; cpuModel: string; os: string };
    kernel: HostKernel;
    /** --strategy given: the model's strategy is not the one uname picked */
    strategyOverride: boolean;
    sizeBytes: number;
    thp: boolean;
    reps: number;
    baselineNs: number;
    profile: { name: string; source: string; fitted: boolean };
    time: string;
    /** the probe outputs were read from a file, not measured now */
    fromProbeFile: string | null;
  };
  fit: Fit | null;
  rows: HostRow[];
  /** "mapfixed/procread" for every row whose verdicts differ */
  disagreements: string[];
  probe: ProbeOutput[];
}

/** The measured side of one probe output. */
export function measuredSide(o: ProbeOutput): MeasuredSide {
  const verdicts = o.runs.map((r) => isBlocked(r, r.teardownNs));
  const judged = verdicts.filter((v) => v !== null);
  const blockedReps = judged.filter((v) => v).length;
  // The figures come from the judged repetitions (all of them when none was judged).
  const judgedRuns = judged.length === 0 ? o.runs : o.runs.filter((_, i) => verdicts[i] !== null);
  const busy = new Set<string>();
  for (const r of o.runs) for (const why of busyReasons(r, o.cpus)) busy.add(why);
  return {
    p99Ns: median(judgedRuns.map((r) => r.during.p99)),
    maxNs: median(judgedRuns.map((r) => r.during.max)),
    lessCpuWaitMaxNs: median(judgedRuns.map((r) => r.duringLessCpuWait.max)),
    stallNs: median(o.runs.map((r) => r.stallNs)),
    teardownNs: median(o.runs.map((r) => r.teardownNs)),
    baselineP50Ns: median(o.runs.map((r) => r.baseline.p50)),
    blockedReps,
    judgedReps: judged.length,
    reps: o.runs.length,
    blocked: judged.length === 0 ? null : blockedReps * 2 > judged.length,
    busy: [...busy],
    exhausted: o.runs.some((r) => r.exhausted),
  };
}

export function modelSide(m: ModelRun): ModelSide {
  return {
    p99Ns: m.during.p99,
    maxNs: m.during.max,
    stallNs: m.stallNs,
    teardownNs: m.teardownNs,
    baselineP50Ns: m.baseline.p50,
    blocked: isBlocked(m, m.teardownNs),
  };
}

export function hostRow(o: ProbeOutput, m: ModelRun): HostRow {
  if (o.actor === "none") throw new RangeError("a probe run without an actor has no row");
  const measured = measuredSide(o);
  const model = modelSide(m);
  return {
    method: o.method,
    actor: o.actor,
    measured,
    model,
    agree: measured.blocked === model.blocked,
    teardownRatio: measured.teardownNs > 0 ? model.teardownNs / measured.teardownNs : Number.NaN,
  };
}

export function disagreements(rows: readonly HostRow[]): string[] {
  return rows
    .filter((r) => !r.agree)
    .map((r) => `${r.method}/${r.actor}${r.measured.blocked === null ? " (not judged)" : ""}`);
}

export function hostExitCode(json: HostJson): 0 | 1 {
  return json.disagreements.length === 0 ? 0 : 1;
}

const METHOD_TITLES: Record<Method, string> = {
  munmap: "munmap(2)",
  mapfixed: "mmap(MAP_FIXED, PROT_NONE) over the mapping",
  dontneed: "madvise(MADV_DONTNEED)",
};

function yesNo(b: boolean | null, c: Colors): string {
  return b === null ? c.dim("n/a") : b ? c.yellow("yes") : "no";
}

/** One table per teardown method. */
export function renderHostTables(json: HostJson, c: Colors): string {
  const parts: string[] = [];
  for (const method of METHODS) {
    const rows = json.rows.filter((r) => r.method === method);
    if (rows.length === 0) continue;
    const td = rows[0] as HostRow;
    parts.push(
      `${c.bold(METHOD_TITLES[method])} ${c.dim(`teardown measured ${formatNs(td.measured.teardownNs)} (median), model ${formatNs(td.model.teardownNs)} with the ${td.actor} actor`)}`,
    );
    const table = new Table({
      head: [
        "actor",
        "measured p99",
        "measured max",
        "model p99",
        "model max",
        "blocked? measured",
        "model",
        "teardown model/measured",
      ],
      style: { head: [], border: [], compact: true },
      colAligns: ["left", "right", "right", "right", "right", "right", "right", "right"],
    });
    for (const r of rows) {
      const verdict = `${yesNo(r.measured.blocked, c)} (${r.measured.blockedReps}/${r.measured.judgedReps})`;
      table.push([
        r.actor + (r.measured.busy.length > 0 ? c.dim(" busy") : ""),
        formatNs(r.measured.p99Ns),
        formatNs(r.measured.maxNs),
        formatNs(r.model.p99Ns),
        formatNs(r.model.maxNs),
        verdict,
        r.agree ? yesNo(r.model.blocked, c) : c.red(`${r.model.blocked ? "yes" : "no"} ≠`),
        formatRatio(r.model.teardownNs, r.measured.teardownNs),
      ]);
    }
    parts.push(table.toString(), "");
  }
  return parts.join("\n");
}

/** What ran, which model stands for the host and why, the busy warning. */
export function renderHostHeader(json: HostJson, c: Colors): string {
  const x = json.context;
  const lines = [
    c.bold(
      `host: ${formatBytes(x.sizeBytes)} anonymous, ${x.thp ? "THP (MADV_HUGEPAGE)" : "4 KiB pages (MADV_NOHUGEPAGE)"}, ${x.reps} repetition(s) per run, baseline ${formatNs(x.baselineNs)}`,
    ),
    `${c.dim("kernel:")} ${x.machine.os} ${c.dim(`(${x.machine.cpuModel}, ${x.machine.cpus} CPUs)`)}`,
    `${c.dim("model:")} ${x.kernel.strategy}, rwsem ${x.kernel.rwsem}, ${x.kernel.tree} tree, mm-core generation ${x.kernel.generation}${x.strategyOverride ? " (--strategy)" : ""}`,
    `${c.dim("why:")} ${x.kernel.why}`,
    `${c.dim("profile:")} ${x.profile.name} ${c.dim(`(${x.profile.source})`)}`,
    `${c.dim("time:")} ${x.time}`,
  ];
  if (x.fromProbeFile !== null) lines.push(`${c.dim("probe:")} read from ${x.fromProbeFile}`);
  if (x.thp) {
    lines.push(
      c.yellow(
        "THP: the model maps 4 KiB pages; its per-page costs come from the THP run (a fit, not a prediction)",
      ),
    );
  }
  const busy = json.rows.filter((r) => r.measured.busy.length > 0);
  if (busy.length > 0) {
    const why = [...new Set(busy.flatMap((r) => r.measured.busy))].slice(0, 4).join("; ");
    lines.push(
      c.yellow(
        `busy machine: ${busy.length} of ${json.rows.length} runs were measured while it was busy (${why}); their latencies include time spent waiting for a CPU`,
      ),
    );
  }
  const idle = json.rows.filter((r) => r.measured.judgedReps < r.measured.reps);
  if (idle.length > 0) {
    lines.push(
      c.yellow(
        `not judged: in ${idle.map((r) => `${r.method}/${r.actor} (${r.measured.reps - r.measured.judgedReps} of ${r.measured.reps})`).join(", ")} the actor neither slept through half of the teardown nor completed an operation inside it (not given a CPU)`,
      ),
    );
  }
  const tired = json.rows.filter((r) => r.measured.exhausted);
  if (tired.length > 0) {
    lines.push(c.yellow("the fault actor ran out of fresh pages in some repetition"));
  }
  return lines.join("\n");
}

/** The fit and its inputs. */
export function renderFit(fit: Fit, c: Colors): string {
  const i = fit.inputs;
  const ns = (v: number | null) => (v === null ? "—" : formatNs(v));
  const p = fit.profile;
  return [
    c.bold("Fit"),
    `  measured: populate ${ns(i.populateNsPerPage)}/page and munmap ${ns(i.munmapTeardownNs)} of CPU (${i.pages} pages), baseline p50 procread ${ns(i.baselineP50Ns.procread)}, fault ${ns(i.baselineP50Ns.fault)}, mmap+munmap ${ns(i.baselineP50Ns.mmapsmall)}`,
    ...fit.notes.map((n) => `  ${n}`),
    `  fitted: syscall ${p.syscall} ns, lockOp ${p.lockOp} ns, anonFault ${p.anonFault} ns, cmdlineRead ${p.cmdlineRead} ns, pteZap ${p.pteZap} ns, pageFree ${p.pageFree} ns, populatePage ${p.populatePage} ns`,
  ].join("\n");
}

/** The verdict line. */
export function renderHostVerdict(json: HostJson, c: Colors): string {
  if (json.disagreements.length === 0) {
    const n = json.rows.length;
    return c.green(`every blocked / not-blocked verdict agrees (${n} run${n === 1 ? "" : "s"})`);
  }
  return c.red(
    `verdicts differ for ${json.disagreements.join(", ")} (${json.disagreements.length} of ${json.rows.length} runs)`,
  );
}
