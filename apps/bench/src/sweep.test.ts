import { describe, expect, it } from "vitest";
import { executeCampaign } from "./campaign/execute.js";
import { mergeExperiments } from "./campaign/merge.js";
import { colorsFor } from "./colors.js";
import { DEFAULTS, GiB, MiB } from "./params.js";
import { renderSweepTable, sweepJobs, sweepResult, sweepRow } from "./sweep.js";
import type { BenchResult } from "./types.js";

const NONE = { count: 0, total: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 };
/** A result as a worker would return it, for the row arithmetic only. */
function result(
  strategy: string,
  munmapLatencyNs: number,
  exclusiveHoldNs: number,
  sharedHoldNs = 0,
): BenchResult {
  return {
    strategy,
    kernel: "",
    pages: 0,
    munmapLatencyNs,
    exclusiveHoldNs,
    sharedHoldNs,
    psWait: NONE,
    faultWait: NONE,
    writerWait: NONE,
    hungTaskReports: [],
    sim: {
      wallMs: { populate: 0, measured: 0 },
      sysMs: { populate: 0, measured: 0 },
      pageFaults: { populate: 0, measured: 0 },
      peakRssBytes: 0,
    },
  };
}

describe("sweep", () => {
  it("orders jobs by size, then strategy as given", () => {
    const jobs = sweepJobs(DEFAULTS, [320 * GiB, 80 * GiB], ["zapRlock", "classic"]);
    expect(jobs.map((j) => [j.params.sizeBytes / GiB, j.strategy])).toEqual([
      [80, "zapRlock"],
      [80, "classic"],
      [320, "zapRlock"],
      [320, "classic"],
    ]);
  });

  it("puts the published figure and model/paper beside each row", () => {
    const [j80c, j80z, j160c, j100c] = [
      ...sweepJobs(DEFAULTS, [80 * GiB], ["classic", "zapRlock"]),
      ...sweepJobs(DEFAULTS, [160 * GiB, 100 * GiB], ["classic"]).reverse(),
    ];
    if (!j80c || !j80z || !j160c || !j100c) throw new Error("jobs");
    const c80 = sweepRow(j80c, result("classic", 4.48e9, 4.48e9));
    expect(c80.paper).toEqual({ munmapNs: 5.01e9 });
    expect(c80.ratio).toBeCloseTo(4.48 / 5.01, 10);
    const z80 = sweepRow(j80z, result("zapRlock", 4.48e9, 8e3));
    expect(z80.paper).toEqual({ exclusiveHoldNs: 8e3 });
    expect(z80.ratio).toBe(1);
    expect(sweepRow(j160c, result("classic", 8.96e9, 8.96e9)).ratio).toBeCloseTo(8.96 / 9.13, 10);
    const c100 = sweepRow(j100c, result("classic", 5.6e9, 5.6e9));
    expect(c100.paper).toBeUndefined();
    expect(c100.ratio).toBeUndefined();
    const table = renderSweepTable({ rows: [c80, z80] }, colorsFor(false, {}));
    expect(table).toMatch(/80 GiB │ classic +│ +4\.48 s │ +4\.48 s │ +munmap 5\.01 s │ +0\.89x/);
    expect(table).toMatch(
      /80 GiB │ zapRlock +│ +4\.48 s │ +8\.00 µs │ +exclusive ~8\.00 µs │ +1\.00x/,
    );
  });

  it("marks the rows the profile was calibrated to, and adds the v7 ftrace's unmap_region at 80 GB", () => {
    const [j80c, j80z, j320c] = [
      ...sweepJobs(DEFAULTS, [80 * GiB], ["classic", "zapRlock"]),
      ...sweepJobs(DEFAULTS, [320 * GiB], ["classic"]),
    ];
    if (!j80c || !j80z || !j320c) throw new Error("jobs");
    const c80 = sweepRow(j80c, result("classic", 4.48e9, 4.48e9));
    const z80 = sweepRow(j80z, result("zapRlock", 4.48e9, 8e3, 4.479e9));
    const c320 = sweepRow(j320c, result("classic", 17.92e9, 17.92e9));
    expect([c80.calibrated, z80.calibrated, c320.calibrated]).toEqual([undefined, true, true]);
    expect(z80.ftrace).toEqual({ unmapRegionNs: 2_485_684_000 });
    expect(z80.ftraceRatio).toBeCloseTo(4.479 / 2.485684, 10);
    expect(c80.ftrace).toBeUndefined();
    // Another profile was not calibrated to these figures.
    const other = sweepRow(
      { ...j320c, params: { ...j320c.params, profile: "alios-v4.9-320g" } },
      result("classic", 18e9, 18e9),
    );
    expect(other.calibrated).toBeUndefined();
    const table = renderSweepTable({ rows: [c80, z80, c320] }, colorsFor(false, {}));
    expect(table).toMatch(/80 GiB │ classic .*│ +0\.89x │ +— │ +— │/);
    expect(table).toMatch(/80 GiB │ zapRlock .*│ +1\.00x \(calibrated\) │ +2\.49 s │ +1\.80x │/);
    expect(table).toMatch(/320 GiB │ classic .*│ +1\.00x \(calibrated\) │/);
    expect(table).toContain("agreement by construction, not a prediction");
  });

  it("runs one simulation per worker and gives the same figures as in-thread", async () => {
    const jobs = sweepJobs(DEFAULTS, [64 * MiB, 128 * MiB], ["classic", "zapRlock"]);
    const run = async (workers: number) =>
      sweepResult(
        jobs,
        mergeExperiments(jobs, await executeCampaign(jobs, { workers, queue: null, fresh: false })),
      );
    const pooled = await run(2);
    const inline = await run(1);
    expect(pooled).toEqual(inline);
    expect(pooled.rows.map((r) => r.strategy)).toEqual([
      "classic",
      "zapRlock",
      "classic",
      "zapRlock",
    ]);
    const [c64, z64, c128] = pooled.rows;
    expect(c64?.exclusiveHoldNs).toBeGreaterThan(1e6);
    expect(z64?.exclusiveHoldNs).toBeLessThan(20e3);
    expect(c128?.munmapLatencyNs).toBeGreaterThan(1.9 * (c64?.munmapLatencyNs ?? 0));
  }, 30_000);
});
