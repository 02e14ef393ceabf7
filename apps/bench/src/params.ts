/**
 * Experiment parameters: defaults, and the parsers the CLI uses for sizes, durations and
 * lists. Every parser throws `UsageError` with a one-line message on bad input.
 */
import { existsSync, readFileSync } from "node:fs";
import {
  COST_PROFILES,
  type CostModel,
  costModelFromJson,
  munmapStrategies,
  registerCostProfile,
} from "@mmlab/mm-core";

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
const PAGE_SIZE = 4096;
/** The profile machine's memory (384 GB), which is also PhysMem's default size. */
export const PHYS_BYTES = 384 * GiB;

/** Everything one run of the experiment depends on (one strategy at a time). */
export interface ExperimentParams {
  sizeBytes: number;
  profile: string;
  readers: number;
  faulters: number;
  writers: number;
  rwsem: "v4.18" | "v5.3";
  tree: "maple" | "rb";
  levels: 4 | 5;
  /** null: as many CPUs as tasks (the 32-core machine of the patch was never saturated) */
  cpus: number | null;
  hungTaskTimeoutNs: number;
  psIntervalNs: number;
  seed: number;
}

export const DEFAULTS: ExperimentParams = Object.freeze({
  sizeBytes: 320 * GiB,
  profile: "e5-2680-v4.18",
  readers: 1,
  faulters: 4,
  writers: 0,
  rwsem: "v4.18",
  tree: "rb",
  levels: 4,
  cpus: null,
  hungTaskTimeoutNs: 120e9,
  psIntervalNs: 10e6,
  seed: 1,
});

/** A bad flag or value: the CLI prints its message on one line and exits with code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: MiB,
  mb: MiB,
  mib: MiB,
  g: GiB,
  gb: GiB,
  gib: GiB,
  t: 1024 * GiB,
  tb: 1024 * GiB,
  tib: 1024 * GiB,
};

/**
 * "320G", "320GB", "320GiB", "512M", "1.5T" or a byte count. Binary units throughout, as the
 * patch's "320GB" is 83,886,080 pages of 4 KiB. Must be a positive multiple of 4 KiB that
 * fits the modelled 384 GiB.
 */
export function parseSize(text: string, flag = "--size"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m === null ? undefined : SIZE_UNITS[(m[2] ?? "").toLowerCase()];
  if (m === null || unit === undefined) {
    throw new UsageError(`invalid ${flag} "${text}" (expected e.g. 320G, 512M, 4GiB or bytes)`);
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isFinite(bytes) || bytes <= 0 || bytes % PAGE_SIZE !== 0) {
    throw new UsageError(`invalid ${flag} "${text}" (must be a positive multiple of 4 KiB)`);
  }
  if (bytes > PHYS_BYTES - GiB) {
    throw new UsageError(
      `invalid ${flag} "${text}" (more than the modelled machine's 384 GiB allows: at most 383G)`,
    );
  }
  return bytes;
}

/** A comma-separated list of sizes, no duplicates. */
export function parseSizes(text: string, flag = "--size"): number[] {
  const parts = text.split(",").filter((s) => s.trim() !== "");
  if (parts.length === 0)
    throw new UsageError(`invalid ${flag} "${text}" (expected e.g. 80G,160G)`);
  const sizes = parts.map((s) => parseSize(s, flag));
  if (new Set(sizes).size !== sizes.length) {
    throw new UsageError(`invalid ${flag} "${text}" (a size is listed twice)`);
  }
  return sizes;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

/** "10ms", "1s", "500us", or a bare number in `defaultUnit`. Returns ns. */
export function parseDuration(text: string, defaultUnit: "ms" | "s", flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?\s*$/.exec(text);
  if (m === null) {
    const eg = defaultUnit === "s" ? "seconds, e.g. 120 or 30s" : "e.g. 10ms, 2s, 500us";
    throw new UsageError(`invalid ${flag} "${text}" (expected ${eg})`);
  }
  const ns = Number(m[1]) * (DURATION_UNITS[m[2] ?? defaultUnit] ?? 1);
  if (!Number.isFinite(ns)) throw new UsageError(`invalid ${flag} "${text}"`);
  return Math.round(ns);
}

/** A non-negative (or positive) integer flag value. */
export function parseCount(text: string, flag: string, min = 0, max = 4096): number {
  if (!/^\s*\d+\s*$/.test(text)) {
    throw new UsageError(`invalid ${flag} "${text}" (expected an integer from ${min} to ${max})`);
  }
  const n = Number(text);
  if (n < min || n > max) {
    throw new UsageError(`invalid ${flag} "${text}" (expected an integer from ${min} to ${max})`);
  }
  return n;
}

/** One of a fixed set of words. */
export function parseChoice<T extends string>(
  text: string,
  flag: string,
  choices: readonly T[],
): T {
  const found = choices.find((c) => c === text);
  if (found === undefined) {
    throw new UsageError(`invalid ${flag} "${text}" (expected ${choices.join(" or ")})`);
  }
  return found;
}

/** Comma-separated munmap strategy names, each registered in mm-core; no duplicates. */
export function parseStrategies(text: string): string[] {
  const known = munmapStrategies().map((s) => s.name);
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (names.length === 0)
    throw new UsageError(`invalid --strategies "${text}" (expected e.g. classic,zapRlock)`);
  for (const name of names) {
    if (!known.includes(name)) {
      throw new UsageError(`unknown --strategies "${name}" (known: ${known.join(", ")})`);
    }
  }
  if (new Set(names).size !== names.length) {
    throw new UsageError(`invalid --strategies "${text}" (a strategy is listed twice)`);
  }
  return names;
}

/**
 * A cost profile: a name of mm-core's, or the path of a JSON profile (as written by
 * `mmlab-bench host --save-profile`), which is read, checked and registered in mm-core under
 * its path so that everything taking a profile name accepts it.
 */
export function parseProfile(text: string, flag = "--profile"): string {
  if (COST_PROFILES[text] !== undefined) return text;
  if (!existsSync(text)) {
    throw new UsageError(
      `unknown ${flag} "${text}" (known: ${Object.keys(COST_PROFILES).join(", ")}, or a JSON file written by host --save-profile)`,
    );
  }
  loadProfileFile(text, flag);
  return text;
}

/** Reads and registers a profile file (again in a worker thread, whose mm-core is its own). */
export function loadProfileFile(file: string, flag = "--profile"): void {
  let model: CostModel;
  try {
    model = costModelFromJson(JSON.parse(readFileSync(file, "utf8")));
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^@mmlab\/mm-core: /, "") : String(err);
    throw new UsageError(`invalid ${flag} file "${file}": ${why}`);
  }
  registerCostProfile(file, model);
}

/** A fraction from 0 to 1 ("0.5", ".25", "1"). */
export function parseFraction(text: string, flag: string): number {
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) || !(Number(text) <= 1)) {
    throw new UsageError(`invalid ${flag} "${text}" (expected a number from 0 to 1, e.g. 0.5)`);
  }
  return Number(text);
}

/** A seed: an integer from 0 to 2^32 - 1. */
export function parseSeed(text: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) > 0xffffffff) {
    throw new UsageError(`invalid --seed "${text}" (expected an integer from 0 to 4294967295)`);
  }
  return Number(text);
}
