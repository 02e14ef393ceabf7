/**
 * `mmlab-bench host`: the munmap experiment on this machine's kernel (the probe) beside the
 * model of the closest modelled kernel with a cost profile fitted to this machine.
 *
 *   uname -r ──► closest modelled kernel (kernels.ts) ──────────────────┐
 *   probe × (method, actor), N repetitions ──► fit (fit.ts) ──► model × (method, actor)
 *                         └──────────────── compare (compare.ts) ◄──────┘
 *
 * Exit codes: 0 every blocked / not-blocked verdict agrees, 1 one differs (named), 2 bad
 * input, no cc, not Linux x86_64, a size that does not fit in memory.
 */
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { type CostModel, costModelToJson, costProfile, munmapStrategy } from "@mmlab/mm-core";
import type { Command } from "commander";
import { colorsFor } from "../colors.js";
import { benchVersion, machine } from "../context.js";
import { formatBytes } from "../format.js";
import {
  parseChoice,
  parseCount,
  parseDuration,
  parseProfile,
  parseSize,
  UsageError,
} from "../params.js";
import {
  disagreements,
  type HostJson,
  hostExitCode,
  hostRow,
  renderFit,
  renderHostHeader,
  renderHostTables,
  renderHostVerdict,
} from "./compare.js";
import { type Fit, fitProfile } from "./fit.js";
import { closestModel, type HostKernel } from "./kernels.js";
import { faultAreaBytes, runModel } from "./model.js";
import {
  ACTORS,
  type Actor,
  buildProbe,
  METHODS,
  type ProbeOutput,
  runProbe,
  validateProbeOutput,
} from "./probe.js";

export interface HostIo {
  stdout(text: string): void;
  /** progress lines (a TTY only); null: none */
  progress: ((text: string) => void) | null;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

interface HostOptions {
  size: string;
  thp?: boolean;
  reps: string;
  baseline: string;
  methods: string;
  actors: string;
  strategy?: string;
  profile?: string;
  saveProfile?: string;
  saveProbe?: string;
  fromProbe?: string;
  json?: boolean;
  report?: string;
  quiet?: boolean;
}

/** A recorded set of probe outputs (--save-probe / --from-probe; the tests' fixtures). */
export interface ProbeFile {
  /** uname -r of the machine that ran it */
  release: string;
  machine: HostJson["context"]["machine"];
  recordedAt: string;
  outputs: ProbeOutput[];
}

function parseList<T extends string>(text: string, flag: string, known: readonly T[]): T[] {
  const xs = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (xs.length === 0)
    throw new UsageError(`invalid ${flag} "${text}" (expected ${known.join(",")})`);
  const out = xs.map((x) => parseChoice(x, flag, known));
  if (new Set(out).size !== out.length) {
    throw new UsageError(`invalid ${flag} "${text}" (a value is listed twice)`);
  }
  return out;
}

/** MemAvailable from /proc/meminfo in bytes, or null. */
function memAvailable(): number | null {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

function readProbeFile(file: string): ProbeFile {
  try {
    const o = JSON.parse(readFileSync(file, "utf8")) as ProbeFile;
    if (typeof o.release !== "string" || !Array.isArray(o.outputs) || o.outputs.length === 0) {
      throw new TypeError("expected { release, machine, outputs: [...] }");
    }
    return { ...o, outputs: o.outputs.map(validateProbeOutput) };
  } catch (err) {
    throw new UsageError(
      `invalid --from-probe file "${file}": ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Adds the `host` command to the program; `setExit` receives its exit code. */
export function registerHostCommand(
  program: Command,
  io: HostIo,
  setExit: (code: number) => void,
): void {
  program
    .command("host")
    .description(
      "the munmap experiment on this machine's kernel (a C probe built with cc) beside the model of the closest modelled kernel, with a cost profile fitted to this machine",
    )
    .option("--size <size>", "mapping size (binary units)", "4G")
    .option("--thp", "MADV_HUGEPAGE instead of MADV_NOHUGEPAGE (the model still maps 4 KiB pages)")
    .option("--reps <n>", "repetitions of each probe run (the median is shown)", "3")
    .option("--baseline <duration>", "actor baseline before the teardown", "100ms")
    .option("--methods <list>", "teardown methods", METHODS.join(","))
    .option("--actors <list>", "concurrent actors", ACTORS.join(","))
    .option("--strategy <name>", "munmap strategy of the model (default: from uname -r)")
    .option("--profile <name|file>", "cost profile for the model instead of fitting one")
    .option("--save-profile <file>", "write the fitted cost profile (JSON, for --profile)")
    .option("--save-probe <file>", "write the probe's outputs (JSON, for --from-probe)")
    .option("--from-probe <file>", "read recorded probe outputs instead of running the probe")
    .option("--json", "print both sides as one JSON object on stdout")
    .option("--report <file>", "write a self-contained HTML report of the comparison")
    .option("--quiet", "no header, no fit")
    .addHelpText(
      "after",
      "\nExit codes: 0 every blocked / not-blocked verdict agrees, 1 one differs (it is named),\n2 bad flags, no cc (Debian: apt-get install build-essential), not Linux x86_64, a size that\ndoes not fit in this machine's available memory.",
    )
    .action(async (o: HostOptions) => {
      setExit(await runHost(o, io));
    });
}

async function runHost(o: HostOptions, io: HostIo): Promise<number> {
  const reps = parseCount(o.reps, "--reps", 1, 20);
  const baselineNs = parseDuration(o.baseline, "ms", "--baseline");
  if (baselineNs < 1e6 || baselineNs > 10e9) {
    throw new UsageError(`invalid --baseline "${o.baseline}" (from 1ms to 10s)`);
  }
  const methods = parseList(o.methods, "--methods", METHODS);
  const actors = parseList(o.actors, "--actors", ACTORS);
  const profileKey = o.profile === undefined ? null : parseProfile(o.profile);
  if (o.strategy !== undefined) munmapStrategyOrUsage(o.strategy);

  // ── The measured side: run the probe, or read a recording ───────────────────────────
  let outputs: ProbeOutput[];
  let release: string;
  let mach = machine();
  if (o.fromProbe !== undefined) {
    const file = readProbeFile(o.fromProbe);
    outputs = file.outputs.filter(
      (x) => methods.includes(x.method) && actors.includes(x.actor as Actor),
    );
    if (outputs.length === 0)
      throw new UsageError(
        `--from-probe "${o.fromProbe}" has no run of the chosen methods and actors`,
      );
    release = file.release;
    mach = file.machine;
  } else {
    const sizeBytes = parseSize(o.size);
    const avail = memAvailable();
    const need = sizeBytes + faultAreaBytes(sizeBytes) + 256 * 1024 ** 2;
    if (avail !== null && need > avail * 0.9) {
      throw new UsageError(
        `invalid --size "${o.size}" (the probe needs about ${formatBytes(need)}; this machine has ${formatBytes(avail)} available)`,
      );
    }
    release = os.release();
    const bin = buildProbe(io.env);
    outputs = [];
    const total = methods.length * actors.length;
    for (const method of methods) {
      for (const actor of actors) {
        io.progress?.(
          `probe ${outputs.length + 1}/${total}: ${method} with ${actor}, ${reps} repetition(s)`,
        );
        outputs.push(
          runProbe(bin, {
            sizeBytes,
            method,
            actor,
            reps,
            baselineMs: baselineNs / 1e6,
            thp: o.thp === true,
          }),
        );
      }
    }
    if (o.saveProbe !== undefined) {
      const file: ProbeFile = {
        release,
        machine: mach,
        recordedAt: new Date().toISOString(),
        outputs,
      };
      writeFileSync(o.saveProbe, `${JSON.stringify(file, null, 2)}\n`);
    }
  }
  const first = outputs[0] as ProbeOutput;

  // ── The model side ───────────────────────────────────────────────────────────────────
  const picked = closestModel(release);
  const kernel: HostKernel =
    o.strategy === undefined
      ? picked
      : {
          ...picked,
          strategy: o.strategy,
          why: `--strategy ${o.strategy} (uname picked ${picked.strategy}: ${picked.why})`,
        };
  let fit: Fit | null = null;
  let cost: CostModel;
  if (profileKey !== null) cost = costProfile(profileKey);
  else {
    fit = fitProfile(outputs, kernel, `host-${release}`);
    cost = fit.profile;
  }
  const rows = outputs.map((x) => {
    io.progress?.(`model: ${x.method} with ${x.actor}`);
    const m = runModel({
      sizeBytes: x.sizeBytes,
      method: x.method,
      actor: x.actor as Actor,
      baselineNs: x.baselineNs,
      gapNs: x.gapNs,
      cost,
      kernel,
    });
    return hostRow(x, m);
  });
  const json: HostJson = {
    context: {
      version: benchVersion(),
      machine: mach,
      kernel,
      strategyOverride: o.strategy !== undefined,
      sizeBytes: first.sizeBytes,
      thp: first.thp,
      reps: first.runs.length,
      baselineNs: first.baselineNs,
      profile: { name: cost.name, source: cost.source, fitted: fit !== null },
      time: "measured: CLOCK_MONOTONIC ns on this machine; model: virtual ns",
      fromProbeFile: o.fromProbe ?? null,
    },
    fit,
    rows,
    disagreements: disagreements(rows),
    probe: outputs,
  };

  // ── Outputs ─────────────────────────────────────────────────────────────────────────
  const wrote: string[] = [];
  if (o.saveProfile !== undefined && fit !== null) {
    writeFileSync(o.saveProfile, costModelToJson(fit.profile));
    wrote.push(`cost profile: ${o.saveProfile} (use it with --profile ${o.saveProfile})`);
  }
  if (o.saveProbe !== undefined && o.fromProbe === undefined)
    wrote.push(`probe outputs: ${o.saveProbe}`);
  if (o.report !== undefined) {
    const { renderHostReport } = await import("../report/host.js");
    writeFileSync(o.report, renderHostReport(json));
    wrote.push(`HTML report: ${o.report}`);
  }
  if (o.json === true) {
    io.stdout(`${JSON.stringify(json, null, 2)}\n`);
    return hostExitCode(json);
  }
  const c = colorsFor(io.isTTY, io.env);
  const parts: string[] = [];
  if (o.quiet !== true) parts.push(renderHostHeader(json, c), "");
  parts.push(renderHostTables(json, c));
  if (o.quiet !== true && fit !== null) parts.push(renderFit(fit, c), "");
  parts.push(renderHostVerdict(json, c), "");
  for (const line of wrote) parts.push(`${c.dim("wrote")} ${line}`);
  io.stdout(`${parts.join("\n")}\n`);
  return hostExitCode(json);
}

function munmapStrategyOrUsage(name: string): void {
  try {
    munmapStrategy(name);
  } catch (err) {
    throw new UsageError(
      `unknown --strategy "${name}" (${err instanceof Error ? (/known: [^)]*/.exec(err.message)?.[0] ?? "") : ""})`,
    );
  }
}
