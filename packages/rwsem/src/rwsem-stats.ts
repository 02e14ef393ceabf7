/**
 * DOC: statistics taken from the lock itself (what lock_stat reports as waittime and
 * holdtime, split by read/write: kernel/locking/lockdep.c lock_stat — v4.19).
 *
 * Two sources:
 * - the sim front end keeps every AcquisitionRecord (history) and summarises it exactly;
 * - the async front end, which may run for days, keeps exact count/total/min/max and the
 *   most recent SAMPLE_LIMIT samples per series for the percentiles (a ring that grows from
 *   small, so an idle semaphore costs little memory).
 */
import type { AcquisitionRecord, Distribution, RwsemStats } from "./types.js";

/** Percentiles of the async front end are over at most this many recent samples per series. */
export const SAMPLE_LIMIT = 65536;
const SAMPLE_INITIAL = 64;

/** An empty distribution: count 0, statistics NaN. */
export function emptyDistribution(): Distribution {
  return {
    count: 0,
    total: 0,
    min: Number.NaN,
    max: Number.NaN,
    mean: Number.NaN,
    p50: Number.NaN,
    p90: Number.NaN,
    p99: Number.NaN,
  };
}

/** Nearest-rank percentile of an ascending array: the smallest value >= p% of the samples. */
function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] ?? Number.NaN;
}

/** Summarise samples (copied and sorted; the input is left alone). */
export function distributionOf(samples: ArrayLike<number>): Distribution {
  const n = samples.length;
  if (n === 0) return emptyDistribution();
  const sorted = Float64Array.from(samples).sort();
  let total = 0;
  for (let i = 0; i < n; i++) total += sorted[i] as number;
  return {
    count: n,
    total,
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
    mean: total / n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
  };
}

/** Exact stats from a full history (sim front end). Held locks contribute their wait only. */
export function statsFromHistory(history: ReadonlyArray<AcquisitionRecord>): RwsemStats {
  const sharedWait: number[] = [];
  const sharedHold: number[] = [];
  const exclWait: number[] = [];
  const exclHold: number[] = [];
  for (let i = 0; i < history.length; i++) {
    const r = history[i] as AcquisitionRecord;
    const wait = r.acquiredAt - r.requestedAt;
    if (r.mode === "read") {
      sharedWait.push(wait);
      if (!Number.isNaN(r.releasedAt)) sharedHold.push(r.releasedAt - r.acquiredAt);
      continue;
    }
    exclWait.push(wait);
    if (!Number.isNaN(r.downgradedAt)) {
      // exclusive until the downgrade, shared after it
      exclHold.push(r.downgradedAt - r.acquiredAt);
      if (!Number.isNaN(r.releasedAt)) sharedHold.push(r.releasedAt - r.downgradedAt);
    } else if (!Number.isNaN(r.releasedAt)) {
      exclHold.push(r.releasedAt - r.acquiredAt);
    }
  }
  return {
    shared: { wait: distributionOf(sharedWait), hold: distributionOf(sharedHold) },
    exclusive: { wait: distributionOf(exclWait), hold: distributionOf(exclHold) },
  };
}

/** One series: exact count/total/min/max plus a ring of recent samples. */
export class SampleSeries {
  count: number;
  total: number;
  min: number;
  max: number;
  private ring: Float64Array;
  private pos: number;

  constructor() {
    this.count = 0;
    this.total = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.ring = new Float64Array(SAMPLE_INITIAL);
    this.pos = 0;
  }

  add(v: number): void {
    if (this.pos === this.ring.length) {
      if (this.ring.length < SAMPLE_LIMIT) {
        const bigger = new Float64Array(this.ring.length * 2);
        bigger.set(this.ring);
        this.ring = bigger;
      } else {
        this.pos = 0; // full: overwrite the oldest
      }
    }
    this.ring[this.pos++] = v;
    this.count++;
    this.total += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  summary(): Distribution {
    if (this.count === 0) return emptyDistribution();
    const kept = Math.min(this.count, this.ring.length);
    const d = distributionOf(this.ring.subarray(0, kept));
    d.count = this.count;
    d.total = this.total;
    d.min = this.min;
    d.max = this.max;
    d.mean = this.total / this.count;
    return d;
  }
}

/**
 * Hold starts of anonymous read holds (the async front end's upRead() carries no identity):
 * a growable FIFO ring of acquisition times; each upRead() ends the oldest outstanding hold.
 */
export class HoldStartQueue {
  private buf: Float64Array;
  private headIdx: number;
  length: number;

  constructor() {
    this.buf = new Float64Array(16);
    this.headIdx = 0;
    this.length = 0;
  }

  push(t: number): void {
    const cap = this.buf.length;
    if (this.length === cap) {
      const bigger = new Float64Array(cap * 2);
      for (let i = 0; i < cap; i++) bigger[i] = this.buf[(this.headIdx + i) % cap] as number;
      this.buf = bigger;
      this.headIdx = 0;
    }
    this.buf[(this.headIdx + this.length) % this.buf.length] = t;
    this.length++;
  }

  shift(): number {
    if (this.length === 0) return Number.NaN;
    const t = this.buf[this.headIdx] as number;
    this.headIdx = (this.headIdx + 1) % this.buf.length;
    this.length--;
    return t;
  }
}
