/** The `context` of BenchJson: version, machine, model and parameters of a run. */
import { readFileSync } from "node:fs";
import os from "node:os";
import { costProfile } from "@mmlab/mm-core";
import type { ExperimentParams } from "./params.js";
import type { BenchJson } from "./types.js";

/** The version of @mmlab/bench (package.json sits one level above src/ and dist/). */
export function benchVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export function machine(): BenchJson["context"]["machine"] {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** The model of the default run; `history` says that each result names its own kernel. */
export const MODEL_V4_18 = "linux v4.18 mm/mmap.c";

export function benchContext(params: ExperimentParams, model = MODEL_V4_18): BenchJson["context"] {
  const profile = costProfile(params.profile);
  return {
    version: benchVersion(),
    seed: params.seed,
    profile: profile.name,
    profileSource: profile.source,
    model,
    time: "virtual (ns)",
    machine: machine(),
    params: {
      sizeBytes: params.sizeBytes,
      readers: params.readers,
      faulters: params.faulters,
      writers: params.writers,
      rwsem: params.rwsem,
      tree: params.tree,
      levels: params.levels,
      cpus: params.cpus,
      hungTaskTimeoutNs: params.hungTaskTimeoutNs,
      psIntervalNs: params.psIntervalNs,
    },
  };
}
