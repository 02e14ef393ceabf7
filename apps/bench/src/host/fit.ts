/**
 * A cost profile fitted to the host from the probe's outputs. Each group of costs is scaled so
 * that the model's own operation, run with nothing else going on, takes what the probe
 * measured (medians over every repetition):
 *
 *   syscall, lockOp, vma*        × (mmapsmall baseline p50 / the model's mmap+munmap at base)
 *   anonFault                    = fault baseline p50 - the rest of the model's fault
 *   cmdlineRead                  = procread baseline p50 - the rest of the model's
 *                                  open + read + close
 *   pteZap, pageFree, pmdStep,   × (munmap teardown's CPU time / zapCostNs(base, pages))
 *   pgtableFree, tlbFlush
 *   populatePage                 = populate's CPU time / pages
 *
 * The teardown and populate figures are the thread's own CPU time (CLOCK_THREAD_CPUTIME_ID),
 * not wall time: on a busy machine the wall time includes waiting for a CPU, which the model
 * (one CPU per task) does not have. The baselines are p50s, which a busy machine moves little.
 *
 * A missing actor or method leaves its group at the base profile (said in `notes`). These
 * figures are calibrated to the host: the teardown times and baselines of the model are then
 * fits, not predictions; what the model predicts is who waits for whom.
 */
import { type CostModel, E5_2680_V4_18, zapCostNs } from "@mmlab/mm-core";
import type { HostKernel } from "./kernels.js";
import { modelOpNs } from "./model.js";
import type { Actor, ProbeOutput } from "./probe.js";
import { median } from "./stats.js";

export interface FitInputs {
  pages: number;
  /** populate's CPU time per page */
  populateNsPerPage: number | null;
  /** munmap's CPU time */
  munmapTeardownNs: number | null;
  baselineP50Ns: Record<Actor, number | null>;
}

export interface Fit {
  profile: CostModel;
  inputs: FitInputs;
  /** the model's operations at the base profile, before scaling */
  base: { name: string; mmapsmallNs: number; zapNs: number };
  /** what was scaled by how much, what stayed at the base */
  notes: string[];
}

const VMA_GROUP = [
  "syscall",
  "lockOp",
  "vmaLookup",
  "vmaSplit",
  "vmaSpecialCheck",
  "vmaDetach",
  "vmaFree",
  "vmaInsert",
] as const;
const ZAP_GROUP = ["pteZap", "pageFree", "pmdStep", "pgtableFree", "tlbFlush"] as const;

function medianOf(xs: number[]): number | null {
  return xs.length === 0 ? null : median(xs);
}

/** The measured figures the fit uses, from every probe output given. */
export function fitInputs(outputs: readonly ProbeOutput[]): FitInputs {
  const pages = outputs[0]?.pages ?? 0;
  const runsOf = (pred: (o: ProbeOutput) => boolean) => outputs.filter(pred).flatMap((o) => o.runs);
  const baseline = (a: Actor) =>
    medianOf(
      runsOf((o) => o.actor === a)
        .filter((r) => r.baseline.count > 0)
        .map((r) => r.baseline.p50),
    );
  return {
    pages,
    populateNsPerPage: medianOf(runsOf(() => true).map((r) => r.populateCpuNs / pages)),
    munmapTeardownNs: medianOf(runsOf((o) => o.method === "munmap").map((r) => r.teardownCpuNs)),
    baselineP50Ns: {
      procread: baseline("procread"),
      fault: baseline("fault"),
      mmapsmall: baseline("mmapsmall"),
    },
  };
}

function round(ns: number): number {
  return Math.round(ns * 10) / 10;
}

/** Fits a profile named `name` for `kernel` from the probe outputs (all of one size). */
export function fitProfile(
  outputs: readonly ProbeOutput[],
  kernel: HostKernel,
  name: string,
  base: CostModel = E5_2680_V4_18,
): Fit {
  const inputs = fitInputs(outputs);
  const notes: string[] = [];
  const p: Record<string, number | string> = { ...base };
  const k = kernel;

  const current = () => p as unknown as CostModel;
  // The zap group first: the mmap+munmap pair's munmap zaps (an empty range) too.
  const zapBase = zapCostNs(base, inputs.pages);
  if (inputs.munmapTeardownNs !== null && inputs.pages > 0) {
    const f = inputs.munmapTeardownNs / zapBase;
    for (const key of ZAP_GROUP) p[key] = round((base[key] as number) * f);
    notes.push(`zap costs ×${f.toFixed(3)} (munmap's CPU time for ${inputs.pages} pages)`);
  } else notes.push("zap costs: base profile (no munmap run)");

  // The VMA group: the pair costs A + f·B, A without the group, B the group at the base.
  const mmapsmallBase = modelOpNs("mmapsmall", base, k);
  const measuredSmall = inputs.baselineP50Ns.mmapsmall;
  if (measuredSmall !== null) {
    const zeroed = { ...current() };
    for (const key of VMA_GROUP) (zeroed as Record<string, number | string>)[key] = 0;
    const rest = modelOpNs("mmapsmall", zeroed, k);
    const group = modelOpNs("mmapsmall", current(), k) - rest;
    const f = Math.max(0, (measuredSmall - rest) / group);
    for (const key of VMA_GROUP) p[key] = (base[key] as number) * f;
    notes.push(`syscall, lock and VMA costs ×${f.toFixed(3)} (mmap+munmap of 64 KiB)`);
  } else notes.push("syscall, lock and VMA costs: base profile (no mmapsmall run)");

  // Single-field fits: the field is what the measured operation costs beyond the rest.
  const single = (actor: Actor, key: "anonFault" | "cmdlineRead") => {
    const measured = inputs.baselineP50Ns[actor];
    if (measured === null) {
      notes.push(`${key}: base profile (no ${actor} run)`);
      return;
    }
    const rest = modelOpNs(actor, { ...current(), [key]: 0 }, k);
    p[key] = Math.max(0, measured - rest);
    notes.push(
      `${key} = ${actor} baseline p50 ${measured} ns - ${Math.round(rest)} ns modelled around it`,
    );
  };
  single("fault", "anonFault");
  single("procread", "cmdlineRead");
  // Rounded last, so that each fit above used the exact figures.
  for (const key of [...VMA_GROUP, "anonFault", "cmdlineRead"] as const)
    p[key] = round(p[key] as number);

  if (inputs.populateNsPerPage !== null) p.populatePage = round(inputs.populateNsPerPage);
  notes.push(
    `not measured, kept from ${base.name}: munlockPage, mlockPage, pteProtect (the experiment does not use them)`,
  );
  const thp = outputs.some((o) => o.thp);
  p.name = name;
  p.source = `fitted by mmlab-bench host to ${kernel.release}${thp ? " (THP run: per 4 KiB page equivalents)" : ""}, ${inputs.pages} pages, from ${base.name}`;
  return {
    profile: Object.freeze(p) as unknown as CostModel,
    inputs,
    base: { name: base.name, mmapsmallNs: mmapsmallBase, zapNs: zapBase },
    notes,
  };
}
