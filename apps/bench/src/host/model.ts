/**
 * The probe's experiment in the model, in virtual time: one process maps the same size with
 * every page populated, one actor runs (a ps process reading /proc/PID/cmdline, a thread
 * first-touching pages of another VMA, a thread doing mmap(64 KiB) + munmap), and after the
 * same baseline the mapping is torn down with the same method: munmap(2) under the chosen
 * strategy, mmap(MAP_FIXED, PROT_NONE) over it (mmap_region() unmaps the old pages under the
 * write lock) or madvise(MADV_DONTNEED) (zap_page_range() under the read lock). The actor
 * records every operation's start and end; the figures are computed as the probe computes
 * them (stats.ts). Deterministic: one run stands for the probe's repetitions.
 */
import {
  type CostModel,
  charge,
  doPageFault,
  isErrValue,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  Process,
  procPidCmdlineRead,
  sysMadvise,
  sysMmap,
  sysMunmap,
} from "@mmlab/mm-core";
import { Sim, sleep } from "@mmlab/sched";
import type { HostKernel } from "./kernels.js";
import type { Actor, Method } from "./probe.js";
import { type ActorStats, actorStats } from "./stats.js";

/** What sits above the probe's mappings in a real process: its shared libraries. */
const LIBS_BYTES = 2 * 1024 * 1024;
const PAGE = 4096;
const SMALL = 64 * 1024;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** As the probe: the actor keeps going 50 ms after the teardown returns. */
const TAIL_NS = 50e6;

export interface ModelConfig {
  sizeBytes: number;
  method: Method;
  actor: Actor;
  baselineNs: number;
  /** pause between two actor operations (the probe's busy-wait gap) */
  gapNs: number;
  cost: CostModel;
  kernel: Pick<HostKernel, "strategy" | "rwsem" | "tree" | "generation">;
}

export interface ModelRun extends ActorStats {
  populateNs: number;
  teardownNs: number;
  ops: number;
}

/** The fault actor's VMA, as the probe sizes it: a quarter of the mapping, at least 64 MiB. */
export function faultAreaBytes(sizeBytes: number): number {
  return Math.max(sizeBytes / 4, 16384 * PAGE);
}

/** Runs the experiment once in the model. */
export function runModel(c: ModelConfig): ModelRun {
  const sim = new Sim({ seed: 1, hungTaskTimeoutNs: 0 });
  const proc = new Process(sim, {
    comm: "munmap-probe",
    pid: 15000,
    argv: ["./munmap-probe", String(c.sizeBytes), c.method, c.actor],
    cost: c.cost,
    munmap: c.kernel.strategy,
    tree: c.kernel.tree,
    rwsem: c.kernel.rwsem,
    generation: c.kernel.generation,
  });
  const mm = proc.mm;
  const faultPages = faultAreaBytes(c.sizeBytes) / PAGE;

  // Setup, placed top-down as the probe's mmap(NULL) places it: the libraries' VMA, below it
  // the mapping, populated (MAP_POPULATE stands for the probe's one write per page), below
  // that the fault actor's VMA. The VMA above the mapping is then a library, not the stack
  // (next to a VM_GROWSDOWN stack v5.8's munmap would not downgrade).
  let populateNs = 0;
  let big = 0;
  let faultArea = 0;
  const setup = proc.spawnThread("munmap-probe", function* () {
    const libs = yield* sysMmap(mm, 0, LIBS_BYTES, PROT_READ, ANON);
    if (isErrValue(libs)) throw new Error(`mmlab-bench: model mmap failed: ${libs}`);
    const t = sim.now;
    big = yield* sysMmap(mm, 0, c.sizeBytes, RW, ANON | MAP_POPULATE);
    if (isErrValue(big)) throw new Error(`mmlab-bench: model mmap failed: ${big}`);
    populateNs = sim.now - t;
    // As the probe: VM_NOHUGEPAGE on the mapping (so the 64 KiB mappings placed below it do
    // not merge with it), and VM_NOHUGEPAGE | VM_DONTCOPY on the fault actor's VMA (so it
    // does not merge with it either).
    yield* sysMadvise(mm, big, c.sizeBytes, MADV_NOHUGEPAGE);
    if (c.actor === "fault") {
      faultArea = yield* sysMmap(mm, 0, faultPages * PAGE, RW, ANON);
      if (isErrValue(faultArea)) throw new Error(`mmlab-bench: model mmap failed: ${faultArea}`);
      yield* sysMadvise(mm, faultArea, faultPages * PAGE, MADV_NOHUGEPAGE);
      yield* sysMadvise(mm, faultArea, faultPages * PAGE, MADV_DONTFORK);
    }
  });
  sim.run();
  if (setup.state !== "dead") throw new Error("mmlab-bench: model setup did not finish");

  // Baseline, teardown, tail.
  const starts: number[] = [];
  const ends: number[] = [];
  let stop = false;
  let t0 = Number.NaN;
  let t1 = Number.NaN;
  let ret = 0;
  proc.spawnThread("munmap-probe", function* () {
    yield sleep(c.baselineNs);
    t0 = sim.now;
    if (c.method === "munmap") ret = yield* sysMunmap(mm, big, c.sizeBytes);
    else if (c.method === "mapfixed") {
      const r = yield* sysMmap(mm, big, c.sizeBytes, PROT_NONE, ANON | MAP_FIXED);
      ret = isErrValue(r) ? r : 0;
    } else ret = yield* sysMadvise(mm, big, c.sizeBytes, MADV_DONTNEED);
    t1 = sim.now;
    yield sleep(TAIL_NS);
    stop = true;
  });

  let next = 0;
  const body = function* () {
    while (!stop) {
      const s = sim.now;
      if (c.actor === "procread") {
        yield* charge(mm.cost.syscall); // open("/proc/PID/cmdline")
        yield* procPidCmdlineRead(proc); // read()
        yield* charge(mm.cost.syscall); // close()
      } else if (c.actor === "fault") {
        if (next >= faultPages) break;
        yield* doPageFault(mm, faultArea + next++ * PAGE, { write: true });
      } else {
        const a = yield* sysMmap(mm, 0, SMALL, RW, ANON);
        if (isErrValue(a)) throw new Error(`mmlab-bench: model mmap(64 KiB) failed: ${a}`);
        yield* sysMunmap(mm, a, SMALL);
      }
      starts.push(s);
      ends.push(sim.now);
      yield sleep(c.gapNs);
    }
  };
  if (c.actor === "procread") sim.spawn("ps", body, { pid: 14018 });
  else proc.spawnThread(c.actor, body);
  sim.run();
  if (ret !== 0) throw new Error(`mmlab-bench: model ${c.method} returned ${ret}`);
  return {
    populateNs,
    teardownNs: t1 - t0,
    ops: starts.length,
    ...actorStats(starts, ends, starts.length, t0, t1),
  };
}

/**
 * What one operation of `actor` costs in the model with nothing else running: the p50 of a
 * short baseline on an empty mm (the fit compares it with the probe's baseline).
 */
export function modelOpNs(actor: Actor, cost: CostModel, kernel: ModelConfig["kernel"]): number {
  const r = runModel({
    sizeBytes: 16 * PAGE,
    method: "munmap",
    actor,
    baselineNs: 1e6,
    gapNs: 10_000,
    cost,
    kernel,
  });
  return r.baseline.p50;
}
