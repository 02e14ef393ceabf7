import { describe, expect, it } from "vitest";
import { type ExploreJson, type ExploreParams, runExplore } from "../explore.js";
import { runCli } from "../test-cli.js";
import { cutExplore, type ExploreJob, exploreChunk, jobId } from "./jobs.js";
import { exploreStopper, mergeExplore } from "./merge.js";
import { type JobRunner, runCampaign } from "./run.js";
import { type JobResult, runJob } from "./run-job.js";

const BASE: ExploreParams = {
  scenario: "stack-expansion",
  strategies: ["classic", "zapRlock"],
  schedules: 100,
  firstSeed: 1,
  jitter: 0.5,
  shuffleTies: true,
  cost: "e5-2680-v4.18",
};

/** The JSON without the wall times, which are the only thing allowed to differ. */
function withoutWall(json: ExploreJson): unknown {
  return { ...json, results: json.results.map(({ wallMs: _w, ...r }) => r) };
}

/** Runs jobs in this thread but finishes them in an order of our choosing (delay per job). */
function delayedRunner(concurrency: number, delayMs: (job: ExploreJob) => number): JobRunner {
  return {
    concurrency,
    run: async (job) => {
      const r = runJob(job);
      await new Promise((res) => setTimeout(res, delayMs(job as ExploreJob)));
      return r;
    },
    close: async () => {},
  };
}

describe("campaign jobs: cutting and ids", () => {
  it("covers every seed once, strategy by strategy, whatever the scenario and strategy names", () => {
    const jobs = cutExplore({
      ...BASE,
      scenario: "some-future-scenario",
      strategies: ["a", "b"],
      schedules: 25,
      firstSeed: 7,
      chunk: 10,
      version: "1.2.3",
    });
    expect(jobs.map((j) => [j.strategy, j.firstSeed, j.schedules])).toEqual([
      ["a", 7, 10],
      ["a", 17, 10],
      ["a", 27, 5],
      ["b", 7, 10],
      ["b", 17, 10],
      ["b", 27, 5],
    ]);
    expect(jobs.every((j) => j.scenario === "some-future-scenario" && j.version === "1.2.3")).toBe(
      true,
    );
  });

  it("chunks depend on the schedule count only: 10 to 1,000 per job", () => {
    expect([1, 100, 1000, 64_000, 100_000, 1_000_000].map(exploreChunk)).toEqual([
      10, 10, 16, 1000, 1000, 1000,
    ]);
  });

  it("ids are a hash of version and parameters: stable, key-order free, different for any change", () => {
    const [job] = cutExplore({ ...BASE, version: "0.0.0", chunk: 10 });
    const j = job as ExploreJob;
    const reordered = Object.fromEntries(Object.entries(j).reverse()) as ExploreJob;
    expect(jobId(j)).toMatch(/^explore-[0-9a-f]{32}$/);
    expect(jobId(reordered)).toBe(jobId(j));
    expect(jobId({ ...j, version: "0.0.1" })).not.toBe(jobId(j));
    expect(jobId({ ...j, cost: "alios-v4.9-320g" })).not.toBe(jobId(j));
    expect(jobId({ ...j, firstSeed: 2 })).not.toBe(jobId(j));
  });
});

describe("campaign merge: identical to the serial run whatever the finishing order", () => {
  it("explore: the lowest failing seed wins even when a higher one finishes first; nothing above it is issued", async () => {
    const serial = runExplore(BASE);
    const jobs = cutExplore({ ...BASE, version: "0.0.0", chunk: 5 });
    // the later a job's seeds, the sooner it finishes
    const runner = delayedRunner(8, (j) => Math.max(0, 60 - j.firstSeed));
    const stopper = exploreStopper(jobs);
    let issued = 0;
    const results = await runCampaign(jobs, runner, {
      skip: (i) => stopper.skip(i),
      onResult: (i, r) => {
        issued++;
        stopper.onResult(i, r);
      },
    });
    const merged = mergeExplore(jobs, results, BASE.strategies);
    expect(merged.map(({ wallMs: _w, ...r }) => r)).toEqual(
      serial.results.map(({ wallMs: _w, ...r }) => r),
    );
    const zap = merged[1];
    expect(zap?.failure?.seed).toBe(20);
    expect(zap?.schedules).toBe(20);
    // classic: all 20 jobs; zapRlock: at most the 8 in flight beyond seed 20 — not all 20
    expect(issued).toBeLessThan(40);
    const zapRan = results.filter((r, i) => r !== undefined && jobs[i]?.strategy === "zapRlock");
    expect(zapRan.length).toBeLessThan(20);
  });

  it("a failed job fails the campaign with its error", async () => {
    const jobs = cutExplore({ ...BASE, version: "0.0.0", chunk: 50 });
    const failing: JobRunner = {
      concurrency: 2,
      run: async (job) => {
        if ((job as ExploreJob).firstSeed === 51) throw new Error("worker lost");
        return runJob(job) as JobResult;
      },
      close: async () => {},
    };
    await expect(runCampaign(jobs, failing)).rejects.toThrow("worker lost");
  });
});

describe("--workers: tinypool workers print what one process prints", () => {
  it("explore: same JSON (wall times aside), text and exit code with 1 and 2 workers", async () => {
    const args = ["explore", "--schedules", "30", "--chunk", "7"];
    const one = await runCli([...args, "--json", "--workers", "1"]);
    const two = await runCli([...args, "--json", "--workers", "2"]);
    expect(one.code).toBe(1);
    expect(two.code).toBe(1);
    expect(two.err).toBe("");
    expect(withoutWall(JSON.parse(two.out))).toEqual(withoutWall(JSON.parse(one.out)));
    // and the serial explorer of before, one explore() over all seeds per strategy
    const serial = runExplore({
      ...BASE,
      strategies: ["classic", "zapRlock", "v4.20", "v5.8", "perVmaLock", "v6.4.y"],
      schedules: 30,
    });
    expect(withoutWall(JSON.parse(one.out))).toEqual(
      withoutWall(JSON.parse(JSON.stringify(serial))),
    );
    const text = (out: string) => out.replace(/ *[\d.]+ (ms|s)\b/g, "");
    const oneText = await runCli([...args, "--workers", "1"]);
    const twoText = await runCli([...args, "--workers", "2"]);
    expect(text(twoText.out)).toBe(text(oneText.out));
  }, 60_000);

  it("replay of several traces: one job each, same JSON with 1 and 2 workers, exit code of the worst", async () => {
    const fx = new URL("../../fixtures/", import.meta.url).pathname;
    const traces = ["c-mm", "c-threads", "cat"].map((n) => `${fx}${n}.strace`);
    const one = await runCli(["replay", ...traces, "--json", "--workers", "1"]);
    const two = await runCli(["replay", ...traces, "--json", "--workers", "2"]);
    expect(two.err).toBe("");
    expect(two.code).toBe(one.code);
    const a = JSON.parse(one.out) as { traces: Array<{ context: { trace: string } }> };
    expect(a.traces.map((t) => t.context.trace)).toEqual([
      "c-mm.strace",
      "c-threads.strace",
      "cat.strace",
    ]);
    expect(JSON.parse(two.out)).toEqual(a);
    // each trace as the one-trace command replays it, with its maps beside it
    const single = await runCli([
      "replay",
      traces[1] as string,
      "--maps",
      `${fx}c-threads.start.maps`,
      "--expect-maps",
      `${fx}c-threads.final.maps`,
      "--json",
    ]);
    expect(a.traces[1]).toEqual(JSON.parse(single.out));
  }, 60_000);

  it("replay: --maps with several traces is a usage error", async () => {
    const r = await runCli(["replay", "a.strace", "b.strace", "--maps", "x.maps"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("with several traces");
  });
});
