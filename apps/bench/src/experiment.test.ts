import { describe, expect, it } from "vitest";
import { runExperiment } from "./experiment.js";
import { DEFAULTS, type ExperimentParams, GiB, MiB } from "./params.js";

const small = (over: Partial<ExperimentParams> = {}): ExperimentParams => ({
  ...DEFAULTS,
  sizeBytes: 1 * GiB,
  ...over,
});

/** The results without the wall-clock figures (sim), which differ from run to run. */
function virtualOnly(r: ReturnType<typeof runExperiment>["result"]) {
  const { sim: _sim, ...rest } = r;
  return rest;
}

describe("the experiment at 1 GiB", () => {
  const classic = runExperiment(small(), "classic").result;
  const zap = runExperiment(small(), "zapRlock").result;

  it("unmaps every populated page", () => {
    expect(classic.pages).toBe(GiB / 4096);
    expect(zap.pages).toBe(GiB / 4096);
  });

  it("classic holds mmap_sem exclusively for the whole munmap", () => {
    expect(classic.sharedHoldNs).toBe(0);
    // the hold is the syscall minus its entry and the final up_write's own cost
    expect(classic.exclusiveHoldNs).toBeGreaterThan(0.999 * classic.munmapLatencyNs);
    expect(classic.exclusiveHoldNs).toBeLessThanOrEqual(classic.munmapLatencyNs);
    expect(classic.munmapLatencyNs).toBeGreaterThan(50e6); // tens of ms per GiB
  });

  it("zapRlock holds it exclusively for microseconds and zaps under the read lock", () => {
    expect(zap.exclusiveHoldNs).toBeGreaterThan(0);
    expect(zap.exclusiveHoldNs).toBeLessThan(20e3);
    expect(zap.sharedHoldNs).toBeGreaterThan(0.999 * zap.munmapLatencyNs - zap.exclusiveHoldNs);
    expect(classic.exclusiveHoldNs / zap.exclusiveHoldNs).toBeGreaterThan(1000);
  });

  it("ps and the faulters wait for the whole munmap under classic only", () => {
    // ps asks again within one interval (10 ms ± 10%) of the munmap's start, then waits it out
    expect(classic.psWait.max).toBeGreaterThan(
      classic.munmapLatencyNs - 1.1 * DEFAULTS.psIntervalNs,
    );
    expect(classic.faultWait.max).toBeGreaterThan(0.9 * classic.munmapLatencyNs);
    expect(zap.psWait.max).toBeLessThan(20e3);
    expect(zap.faultWait.max).toBeLessThan(20e3);
    // every 10 ms ps reads once: under zapRlock it keeps reading during the zap
    expect(zap.psWait.count).toBeGreaterThan(classic.psWait.count);
    expect(zap.faultWait.count).toBeGreaterThan(classic.faultWait.count);
    expect(classic.hungTaskReports).toEqual([]);
    expect(zap.hungTaskReports).toEqual([]);
  });

  it("is deterministic: the same seed gives the same results", () => {
    const again = runExperiment(small(), "zapRlock").result;
    expect(virtualOnly(again)).toEqual(virtualOnly(zap));
    const other = runExperiment(small({ seed: 7 }), "zapRlock").result;
    expect(other.psWait.count).toBeGreaterThan(0);
  });
});

describe("the experiment's variations", () => {
  it("a writer during a zapRlock zap waits for the whole zap, and ps queues behind it (v4.18)", () => {
    const r = runExperiment(small({ sizeBytes: 512 * MiB, writers: 1 }), "zapRlock").result;
    expect(r.writerWait.count).toBeGreaterThan(0);
    expect(r.writerWait.max).toBeGreaterThan(0.5 * r.sharedHoldNs);
    expect(r.psWait.max).toBeGreaterThan(0.1 * r.sharedHoldNs);
    expect(r.exclusiveHoldNs).toBeLessThan(20e3);
  });

  it("runs on the maple tree, 5-level page tables, the v5.3 rwsem and 2 CPUs", () => {
    const r = runExperiment(
      small({ sizeBytes: 256 * MiB, tree: "maple", levels: 5, rwsem: "v5.3", cpus: 2 }),
      "zapRlock",
    ).result;
    expect(r.pages).toBe((256 * MiB) / 4096);
    expect(r.exclusiveHoldNs).toBeLessThan(20e3);
  });

  it("captures the measured phase for the renderers", () => {
    const { capture } = runExperiment(small({ sizeBytes: 64 * MiB }), "classic", { trace: true });
    expect(capture).not.toBeNull();
    if (capture === null) return;
    expect(capture.strategy).toBe("classic");
    expect(capture.events.every((e) => e.time >= capture.t0)).toBe(true);
    const names = new Set(capture.events.map((e) => ("name" in e ? e.name : e.type)));
    expect(names.has("SyS_munmap")).toBe(true);
    expect(names.has("do_munmap")).toBe(true);
    const ps = capture.tasks.find((t) => t.comm === "ps");
    expect(ps).toEqual({ pid: 14018, tgid: 14018, comm: "ps" });
    const munmap = capture.tasks.find((t) => t.comm === "munmap_test");
    expect(munmap?.tgid).toBe(15000);
  });
});
