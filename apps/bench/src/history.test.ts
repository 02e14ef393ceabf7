import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HISTORY_MODEL, HISTORY_STRATEGIES } from "./history.js";
import { isUsageError, runCli } from "./test-cli.js";
import type { BenchJson, BenchResult } from "./types.js";

const HINT = "mmlab-bench history --help";
const SMALL = ["history", "--size", "128M", "--faulters", "2"];

describe("history: bad flags and values exit 2 with one line", () => {
  it.each([
    [["--strategies", "classic"], "unknown option '--strategies'"],
    [["--jobs", "2"], "unknown option '--jobs'"],
    [["--size", "4X"], 'invalid --size "4X"'],
    [["--size", "400G"], "384 GiB"],
    [["--levels", "3"], "expected 4 or 5"],
    [["--faulters", "x"], 'invalid --faulters "x"'],
    [["--profile", "xeon"], 'unknown --profile "xeon"'],
    [["--seed", "-1"], 'invalid --seed "-1"'],
  ])("%j", async (args, what) => {
    const r = await runCli(["history", ...args]);
    expect(r.err).toContain(what);
    expect(isUsageError(r, what, HINT)).toBe(true);
  });
});

describe("history --json", () => {
  it("has one result per strategy, oldest design first, in the BenchJson schema", async () => {
    const r = await runCli([...SMALL, "--json", "--seed", "5"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    const json = JSON.parse(r.out) as BenchJson;
    expect(Object.keys(json)).toEqual(["context", "results"]);
    expect(json.context.model).toBe(HISTORY_MODEL);
    expect(json.context.seed).toBe(5);
    expect(json.context.params.sizeBytes).toBe(128 * 1024 ** 2);
    expect(json.results.map((x) => x.strategy)).toEqual([...HISTORY_STRATEGIES]);
    const base = [
      "strategy",
      "kernel",
      "pages",
      "munmapLatencyNs",
      "exclusiveHoldNs",
      "sharedHoldNs",
      "psWait",
      "faultWait",
      "writerWait",
      "hungTaskReports",
      "sim",
    ];
    for (const res of json.results) {
      const keys = res.strategy === "perVmaLock" ? [...base, "vmaLock"] : base;
      expect(Object.keys(res).sort()).toEqual(keys.sort());
      expect(res.pages).toBe(32768);
    }
    const by = (s: string) => json.results.find((x) => x.strategy === s) as BenchResult;
    expect(by("v4.20").kernel).toContain("dd2283f2605e");
    expect(by("v5.8").kernel).toContain("246c320a8cfe");
    // classic: the whole munmap exclusive; the others downgrade after microseconds (the VMA
    // above the mapping is the faulters' region, not a stack, so v5.8 downgrades too)
    expect(by("classic").sharedHoldNs).toBe(0);
    expect(by("classic").exclusiveHoldNs).toBeGreaterThan(0.999 * by("classic").munmapLatencyNs);
    for (const s of ["zapRlock", "v4.20", "v5.8", "perVmaLock"]) {
      expect(by(s).exclusiveHoldNs).toBeLessThan(20e3);
      expect(by(s).sharedHoldNs).toBeGreaterThan(0);
      expect(by(s).faultWait.max).toBeLessThan(by("classic").faultWait.max);
    }
    // perVmaLock: most faults never touched mmap_sem; the tasks' counts add up
    const v = by("perVmaLock").vmaLock;
    expect(v).toBeDefined();
    expect(Object.keys(v ?? {}).sort()).toEqual(["aborts", "lockFreeFaults", "retries", "tasks"]);
    expect(v?.lockFreeFaults).toBeGreaterThan(10 * by("perVmaLock").faultWait.count);
    expect(v?.tasks.map((t) => t.comm)).toEqual(["faulter0", "faulter1"]);
    expect(v?.tasks.reduce((s, t) => s + t.lockFreeFaults, 0)).toBe(v?.lockFreeFaults);
    expect(v?.tasks.reduce((s, t) => s + t.mmapSemAcquisitions, 0)).toBe(
      by("perVmaLock").faultWait.count,
    );
    expect(by("perVmaLock").faultWait.count).toBe(v?.aborts);
  });

  it("is deterministic: the same seed gives the same results (wall-clock figures aside)", async () => {
    const strip = (out: string) =>
      (JSON.parse(out) as BenchJson).results.map(({ sim: _sim, ...rest }: BenchResult) => rest);
    const a = await runCli([...SMALL, "--json", "--seed", "42"]);
    const b = await runCli([...SMALL, "--json", "--seed", "42"]);
    expect(strip(b.out)).toEqual(strip(a.out));
  });

  it("without a VMA above the mapping but the stack, v5.8 and perVmaLock keep the write lock", async () => {
    const r = await runCli(["history", "--size", "64M", "--faulters", "0", "--json"]);
    const json = JSON.parse(r.out) as BenchJson;
    const shared = json.results.map((x) => [x.strategy, x.sharedHoldNs > 0]);
    expect(shared).toEqual([
      ["classic", false],
      ["zapRlock", true],
      ["v4.20", true],
      ["v5.8", false],
      ["perVmaLock", false],
    ]);
  });
});

describe("history: human output and --report", () => {
  it("prints one row per strategy, the kernels, the summary and the lock-free faults", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mmlab-history-"));
    const report = path.join(dir, "h.html");
    const r = await runCli([...SMALL, "--report", report]);
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe(
      "history: munmap of 128 MiB (32,768 pages, every page mapped) under 5 kernel designs",
    );
    const rows = lines
      .filter((l) => l.startsWith("│"))
      .map((l) =>
        l
          .split("│")
          .slice(1, -1)
          .map((s) => s.trim()),
      );
    expect(rows[0]).toEqual([
      "strategy",
      "munmap",
      "exclusive hold",
      "shared hold",
      "ps wait max",
      "fault wait max",
      "faults w/o mmap_sem",
      "hung tasks",
    ]);
    expect(rows.slice(1).map((x) => x[0])).toEqual([...HISTORY_STRATEGIES]);
    expect(rows[1]?.[2]).toBe("7.01 ms"); // classic: the whole munmap exclusive
    expect(rows[3]?.[2]).toBe("7.50 µs"); // v4.20
    expect(rows[1]?.[6]).toMatch(/^0 of \d+$/);
    expect(rows[5]?.[6]).toMatch(/^[\d,]+ of [\d,]+$/);
    expect(r.out).toMatch(/^ {2}v5\.8 +v5\.8 mm\/mmap\.c __do_munmap\(\)/m);
    expect(r.out).toMatch(/v4\.20: holds mmap_sem exclusively [\d,]+x shorter than classic/);
    expect(r.out).toMatch(/faulter0:\d+: [\d,]+ faults without mmap_sem, 1 mmap_sem acquisition/);
    expect(r.out).toContain(`wrote HTML report: ${report}`);
    const html = readFileSync(report, "utf8");
    for (const s of HISTORY_STRATEGIES) expect(html).toContain(`data-strategy="${s}"`);
    expect(html).toContain("faults without mmap_sem");
  });
});
