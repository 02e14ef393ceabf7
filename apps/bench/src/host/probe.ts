/**
 * The host probe (native/munmap-probe.c): compiled at first use with the system's `cc` into
 * a cache directory (one binary per hash of the source and flags, so an edited source is
 * rebuilt), run once per (teardown method, actor), its JSON validated.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const METHODS = ["munmap", "mapfixed", "dontneed"] as const;
export type Method = (typeof METHODS)[number];
export const ACTORS = ["procread", "fault", "mmapsmall"] as const;
export type Actor = (typeof ACTORS)[number];

/** count and latency percentiles (ns) of a set of actor operations */
export interface ProbeDist {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** One repetition of one configuration; every time in ns of CLOCK_MONOTONIC. */
export interface ProbeRun {
  populateNs: number;
  /** the populating thread's own CPU time (CLOCK_THREAD_CPUTIME_ID) */
  populateCpuNs: number;
  teardownNs: number;
  /** the teardown thread's own CPU time during the teardown (CLOCK_THREAD_CPUTIME_ID) */
  teardownCpuNs: number;
  /** the probe's CPU time for the repetition (getrusage) */
  cpuNs: number;
  /** /proc/loadavg's 1-minute load before and after */
  loadavg: [number, number];
  ops: number;
  /** the fault actor ran out of fresh pages */
  exhausted: boolean;
  /** operations that ended before the teardown began */
  baseline: ProbeDist;
  /** operations that overlap the teardown */
  during: ProbeDist;
  /**
   * the same operations less the time they spent runnable, waiting for a CPU: all of an
   * operation that switched out voluntarily (slept), only the CPU time of one that did not
   */
  duringLessCpuWait: ProbeDist;
  /** operations that started and ended in the middle 80% of the teardown */
  midOps: number;
  /** longest interval without a completed operation around the teardown */
  stallNs: number;
  /** where that interval began, relative to the teardown's start */
  stallFromNs: number;
}

export interface ProbeOutput {
  probe: "munmap-probe";
  sizeBytes: number;
  pages: number;
  method: Method;
  actor: Actor | "none";
  thp: boolean;
  baselineNs: number;
  gapNs: number;
  cpus: number;
  runs: ProbeRun[];
}

/** The host cannot run the probe (no cc, not Linux x86_64): the CLI exits 2 with the message. */
export class ProbeUnavailable extends Error {
  override name = "ProbeUnavailable";
}

const CFLAGS = ["-O2", "-Wall", "-Wextra", "-pthread"];

/** native/munmap-probe.c from src/host/ (sources, tests) or dist/ (the built CLI). */
export function probeSourcePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ["../../native/munmap-probe.c", "../native/munmap-probe.c"]) {
    const p = path.resolve(here, rel);
    if (existsSync(p)) return p;
  }
  throw new Error("mmlab-bench: native/munmap-probe.c is missing from this installation");
}

/** Where compiled probes go: $MMLAB_CACHE_DIR, else $XDG_CACHE_HOME/mmlab, else ~/.cache/mmlab. */
export function probeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MMLAB_CACHE_DIR) return env.MMLAB_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "mmlab");
}

/** Throws ProbeUnavailable off Linux x86_64. */
export function checkProbePlatform(platform = process.platform, arch = process.arch): void {
  if (platform !== "linux" || arch !== "x64") {
    throw new ProbeUnavailable(
      `the host probe runs on Linux x86_64 only (this machine is ${platform} ${arch})`,
    );
  }
}

/** Path of the compiled probe, building it first if the cache has no binary for this source. */
export function buildProbe(env: NodeJS.ProcessEnv = process.env): string {
  checkProbePlatform();
  const src = probeSourcePath();
  const hash = createHash("sha256")
    .update(readFileSync(src))
    .update(CFLAGS.join(" "))
    .digest("hex")
    .slice(0, 16);
  const dir = probeCacheDir(env);
  const bin = path.join(dir, `munmap-probe-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const cc = spawnSync("cc", [...CFLAGS, "-o", tmp, src], { encoding: "utf8", env });
  if (cc.error !== undefined && (cc.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new ProbeUnavailable(
      "no C compiler: `cc` is not on PATH (Debian: apt-get install build-essential)",
    );
  }
  if (cc.status !== 0) {
    throw new Error(`mmlab-bench: cc failed to build the probe:\n${cc.stderr ?? ""}`);
  }
  renameSync(tmp, bin); // atomic: a concurrent build leaves one complete binary
  return bin;
}

export interface ProbeConfig {
  sizeBytes: number;
  method: Method;
  actor: Actor | "none";
  reps: number;
  baselineMs: number;
  thp: boolean;
}

/** Runs the probe once (all repetitions of one configuration) and validates its JSON. */
export function runProbe(bin: string, c: ProbeConfig): ProbeOutput {
  const args = [String(c.sizeBytes), c.method, c.actor, String(c.reps), String(c.baselineMs)];
  if (c.thp) args.push("thp");
  const out = execFileSync(bin, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  return validateProbeOutput(JSON.parse(out));
}

// ── Validation ──────────────────────────────────────────────────────────────────────────

function fail(where: string, what: string): never {
  throw new TypeError(`invalid probe output: ${where} ${what}`);
}

function num(o: Record<string, unknown>, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`${where}.${k}`, "is not a finite number");
  return v;
}

function nonNeg(o: Record<string, unknown>, k: string, where: string): number {
  const v = num(o, k, where);
  if (v < 0) fail(`${where}.${k}`, "is negative");
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(where, "is not an object");
  return v as Record<string, unknown>;
}

function dist(v: unknown, where: string): ProbeDist {
  const o = obj(v, where);
  const d = {
    count: nonNeg(o, "count", where),
    p50: nonNeg(o, "p50", where),
    p99: nonNeg(o, "p99", where),
    max: nonNeg(o, "max", where),
  };
  if (!(d.p50 <= d.p99 && d.p99 <= d.max)) fail(where, "is not ordered (p50 <= p99 <= max)");
  return d;
}

function run(v: unknown, where: string): ProbeRun {
  const o = obj(v, where);
  const load = o.loadavg;
  if (!Array.isArray(load) || load.length !== 2 || !load.every((x) => typeof x === "number")) {
    fail(`${where}.loadavg`, "is not [number, number]");
  }
  if (typeof o.exhausted !== "boolean") fail(`${where}.exhausted`, "is not a boolean");
  const r: ProbeRun = {
    populateNs: nonNeg(o, "populateNs", where),
    populateCpuNs: nonNeg(o, "populateCpuNs", where),
    teardownNs: nonNeg(o, "teardownNs", where),
    teardownCpuNs: nonNeg(o, "teardownCpuNs", where),
    cpuNs: nonNeg(o, "cpuNs", where),
    loadavg: [load[0] as number, load[1] as number],
    ops: nonNeg(o, "ops", where),
    exhausted: o.exhausted,
    baseline: dist(o.baseline, `${where}.baseline`),
    during: dist(o.during, `${where}.during`),
    duringLessCpuWait: dist(o.duringLessCpuWait, `${where}.duringLessCpuWait`),
    midOps: nonNeg(o, "midOps", where),
    stallNs: nonNeg(o, "stallNs", where),
    stallFromNs: num(o, "stallFromNs", where),
  };
  if (r.baseline.count + r.during.count > r.ops) fail(where, "counts more operations than it ran");
  if (r.midOps > r.during.count) fail(`${where}.midOps`, "exceeds during.count");
  if (r.duringLessCpuWait.count !== r.during.count || r.duringLessCpuWait.max > r.during.max) {
    fail(`${where}.duringLessCpuWait`, "does not match during");
  }
  return r;
}

/** Checks the shape and the sanity of a probe's JSON; TypeError naming the first bad field. */
export function validateProbeOutput(v: unknown): ProbeOutput {
  const o = obj(v, "output");
  if (o.probe !== "munmap-probe") fail("output.probe", 'is not "munmap-probe"');
  const method = o.method;
  if (typeof method !== "string" || !(METHODS as readonly string[]).includes(method)) {
    fail("output.method", `is not one of ${METHODS.join(", ")}`);
  }
  const actor = o.actor;
  if (typeof actor !== "string" || ![...ACTORS, "none"].includes(actor)) {
    fail("output.actor", `is not one of ${ACTORS.join(", ")}, none`);
  }
  if (typeof o.thp !== "boolean") fail("output.thp", "is not a boolean");
  if (!Array.isArray(o.runs) || o.runs.length === 0) fail("output.runs", "is empty");
  const sizeBytes = nonNeg(o, "sizeBytes", "output");
  const pages = nonNeg(o, "pages", "output");
  if (pages * 4096 !== sizeBytes) fail("output.pages", "is not sizeBytes / 4096");
  return {
    probe: "munmap-probe",
    sizeBytes,
    pages,
    method: method as Method,
    actor: actor as Actor | "none",
    thp: o.thp,
    baselineNs: nonNeg(o, "baselineNs", "output"),
    gapNs: nonNeg(o, "gapNs", "output"),
    cpus: nonNeg(o, "cpus", "output"),
    runs: o.runs.map((r, i) => run(r, `output.runs[${i}]`)),
  };
}
