/**
 * The statistics of an actor's operations around a teardown, computed the same way for the
 * probe (in C, native/munmap-probe.c) and for the model (here, on virtual time), and the
 * blocked / not-blocked verdict both sides are judged by.
 */
import type { ProbeDist, ProbeRun } from "./probe.js";

export interface ActorStats {
  baseline: ProbeDist;
  during: ProbeDist;
  /** the model never waits for a CPU (one per task): the same as during */
  duringLessCpuWait: ProbeDist;
  /** operations that started and ended in the middle 80% of the teardown */
  midOps: number;
  stallNs: number;
  stallFromNs: number;
}

/** Nearest-rank percentile of sorted values (0 when empty), as the probe computes it. */
function pct(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const k = Math.min(n, Math.max(1, Math.ceil(p * n - 1e-6)));
  return sorted[k - 1] as number;
}

function dist(values: number[]): ProbeDist {
  const s = Float64Array.from(values).sort();
  return {
    count: s.length,
    p50: pct(s, 0.5),
    p99: pct(s, 0.99),
    max: s.length ? (s[s.length - 1] as number) : 0,
  };
}

/**
 * Operations i < n ran from starts[i] to ends[i], one after another; the teardown ran from t0
 * to t1. baseline: those that ended before t0; during: those that overlap [t0, t1); the
 * stall: the longest gap between two completions from the last one before t0 to the first
 * one after t1 (measured from t0 if none came before).
 */
export function actorStats(
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
  n: number,
  t0: number,
  t1: number,
): ActorStats {
  const base: number[] = [];
  const over: number[] = [];
  let stall = 0;
  let stallFrom = t0;
  let prevEnd = t0;
  let mid = 0;
  const m0 = t0 + (t1 - t0) / 10;
  const m1 = t1 - (t1 - t0) / 10;
  for (let i = 0; i < n; i++) {
    const s = starts[i] as number;
    const e = ends[i] as number;
    if (e < t0) {
      base.push(e - s);
      prevEnd = e;
      continue;
    }
    if (s >= m0 && e <= m1) mid++;
    if (s < t1) over.push(e - s);
    if (e - prevEnd > stall) {
      stall = e - prevEnd;
      stallFrom = prevEnd;
    }
    prevEnd = e;
    if (e > t1) break;
  }
  const during = dist(over);
  return {
    baseline: dist(base),
    during,
    duringLessCpuWait: during,
    midOps: mid,
    stallNs: stall,
    stallFromNs: stallFrom - t0,
  };
}

/**
 * The verdict of one run.
 * - blocked: one operation overlapping the teardown took at least half of the teardown's time,
 *   not counting the time it was runnable and waiting for a CPU (it slept or spun on a lock).
 *   A busy machine stretches operations and the gaps between them by preempting them; it does
 *   not make them sleep.
 * - not blocked: otherwise, if at least one operation started and ended in the middle 80% of
 *   the teardown (the actor made progress while it was under way).
 * - null (not judged): neither; e.g. the actor was not given a CPU during the teardown.
 */
export const BLOCKED_FRACTION = 0.5;

export function isBlocked(
  r: { duringLessCpuWait: ProbeDist; midOps: number },
  teardownNs: number,
): boolean | null {
  if (r.duringLessCpuWait.count > 0 && r.duringLessCpuWait.max >= BLOCKED_FRACTION * teardownNs) {
    return true;
  }
  return r.midOps > 0 ? false : null;
}

/** A repetition on a busy machine: load beyond what the probe itself runs, or a descheduled teardown. */
export function busyReasons(r: ProbeRun, cpus: number): string[] {
  const reasons: string[] = [];
  const load = Math.max(r.loadavg[0], r.loadavg[1]);
  if (load > cpus - 1) reasons.push(`load ${load.toFixed(2)} on ${cpus} CPUs`);
  const onCpu = r.teardownNs > 0 ? r.teardownCpuNs / r.teardownNs : 1;
  if (onCpu < 0.8) reasons.push(`teardown on CPU ${(onCpu * 100).toFixed(0)}% of its time`);
  return reasons;
}

/** Median of a non-empty list (the lower middle for an even count, so it is a real sample). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}
