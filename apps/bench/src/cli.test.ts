import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "./program.js";
import type { BenchJson, BenchResult, HungTaskResult, SweepResult } from "./types.js";

interface Ran {
  code: number;
  out: string;
  err: string;
}

async function run(
  args: string[],
  opts: { isTTY?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  let out = "";
  let err = "";
  const code = await main(args, {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    progressStream: null,
    isTTY: opts.isTTY ?? false,
    env: opts.env ?? {},
    defaultWorkers: 1,
  });
  return { code, out, err };
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);
const SMALL = ["--size", "256M"];

describe("bad flags and values: one line on stderr, a usage hint, exit code 2", () => {
  it.each([
    [["--bogus"], "unknown option '--bogus'", "mmlab-bench --help"],
    [["--sise", "4G"], "(Did you mean --size?)", "mmlab-bench --help"],
    [["frobnicate"], "unknown command 'frobnicate'", "mmlab-bench --help"],
    [["--size"], "argument missing", "mmlab-bench --help"],
    [["--size", "4X"], 'invalid --size "4X"', "mmlab-bench --help"],
    [["--size", "1000"], "multiple of 4 KiB", "mmlab-bench --help"],
    [["--size", "400G"], "384 GiB", "mmlab-bench --help"],
    [["--strategies", "classic,fast"], 'unknown --strategies "fast"', "mmlab-bench --help"],
    [["--strategies", "classic,classic"], "listed twice", "mmlab-bench --help"],
    [["--profile", "xeon"], 'unknown --profile "xeon"', "mmlab-bench --help"],
    [["--readers", "-1"], 'invalid --readers "-1"', "mmlab-bench --help"],
    [["--faulters", "x"], 'invalid --faulters "x"', "mmlab-bench --help"],
    [["--writers", "1.5"], 'invalid --writers "1.5"', "mmlab-bench --help"],
    [["--rwsem", "v6.8"], "expected v4.18 or v5.3", "mmlab-bench --help"],
    [["--tree", "avl"], "expected rb or maple", "mmlab-bench --help"],
    [["--levels", "3"], "expected 4 or 5", "mmlab-bench --help"],
    [["--hung-task-timeout", "soon"], 'invalid --hung-task-timeout "soon"', "mmlab-bench --help"],
    [["--ps-interval", "0"], "at least 1us", "mmlab-bench --help"],
    [["--seed", "abc"], 'invalid --seed "abc"', "mmlab-bench --help"],
    [["--cpus", "0"], 'invalid --cpus "0"', "mmlab-bench --help"],
    [["--export-json"], "argument missing", "mmlab-bench --help"],
    [["--trace"], "argument missing", "mmlab-bench --help"],
    [["sweep", "--size", "80G,80G"], "listed twice", "mmlab-bench sweep --help"],
    [["sweep", "--jobs", "0"], 'invalid --jobs "0"', "mmlab-bench sweep --help"],
    [["sweep", "--trace", "t.json"], "unknown option '--trace'", "mmlab-bench sweep --help"],
    [
      ["hung-task", "--faulters", "2"],
      "unknown option '--faulters'",
      "mmlab-bench hung-task --help",
    ],
    [["hung-task", "--rounds", "0"], 'invalid --rounds "0"', "mmlab-bench hung-task --help"],
    [["hung-task", "--writers", "0"], 'invalid --writers "0"', "mmlab-bench hung-task --help"],
  ])("%j", async (args, what, hint) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.endsWith("\n")).toBe(true);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    expect(r.err.startsWith("mmlab-bench: error: ")).toBe(true);
    expect(r.err).toContain(what);
    expect(r.err).toContain(`(see '${hint}')`);
  });

  it("--help and --version exit 0 on stdout", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("Usage: mmlab-bench");
    expect(help.out).toContain("--hung-task-timeout <secs>");
    expect(help.out).toContain("hung-task");
    const sweepHelp = await run(["sweep", "--help"]);
    expect(sweepHelp.out).toContain("--jobs <n>");
    const v = await run(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe("--json: the documented schema", () => {
  it("has the context and one result per strategy, every figure a number", async () => {
    const r = await run([...SMALL, "--json", "--seed", "3", "--faulters", "2", "--writers", "1"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    const json = JSON.parse(r.out) as BenchJson;
    expect(Object.keys(json)).toEqual(["context", "results"]);
    const c = json.context;
    expect(Object.keys(c).sort()).toEqual(
      ["version", "seed", "profile", "profileSource", "model", "time", "machine", "params"].sort(),
    );
    expect(c.seed).toBe(3);
    expect(c.profile).toBe("e5-2680-v4.18");
    expect(c.time).toBe("virtual (ns)");
    expect(c.model).toBe("linux v4.18 mm/mmap.c");
    expect(Object.keys(c.machine).sort()).toEqual(["cpuModel", "cpus", "node", "os"]);
    expect(c.params).toEqual({
      sizeBytes: 256 * 1024 ** 2,
      readers: 1,
      faulters: 2,
      writers: 1,
      rwsem: "v4.18",
      tree: "rb",
      levels: 4,
      cpus: null,
      hungTaskTimeoutNs: 120e9,
      psIntervalNs: 10e6,
    });
    expect(json.results.map((x) => x.strategy)).toEqual(["classic", "zapRlock"]);
    for (const res of json.results) {
      expect(Object.keys(res).sort()).toEqual(
        [
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
        ].sort(),
      );
      expect(res.pages).toBe(65536);
      for (const d of [res.psWait, res.faultWait, res.writerWait]) {
        expect(Object.keys(d).sort()).toEqual(
          ["count", "total", "min", "max", "mean", "p50", "p90", "p99"].sort(),
        );
        expect(Object.values(d).every((v) => typeof v === "number")).toBe(true);
      }
      expect(Object.keys(res.sim.wallMs).sort()).toEqual(["measured", "populate"]);
      expect(res.sim.peakRssBytes).toBeGreaterThan(0);
      expect(Array.isArray(res.hungTaskReports)).toBe(true);
    }
  });

  it("is deterministic: the same seed gives the same results (wall-clock figures aside)", async () => {
    const strip = (out: string) =>
      (JSON.parse(out) as BenchJson).results.map(({ sim: _sim, ...rest }: BenchResult) => rest);
    const a = await run([...SMALL, "--json", "--seed", "42"]);
    const b = await run([...SMALL, "--json", "--seed", "42"]);
    expect(strip(a.out)).toEqual(strip(b.out));
  });

  it("--export-json writes the same object to a file", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mmlab-bench-"));
    const file = path.join(dir, "out.json");
    const r = await run([...SMALL, "--strategies", "zapRlock", "--export-json", file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote JSON results: ${file}`);
    const json = JSON.parse(readFileSync(file, "utf8")) as BenchJson;
    expect(json.results.map((x) => x.strategy)).toEqual(["zapRlock"]);
    expect(json.results[0]?.exclusiveHoldNs).toBeLessThan(20e3);
  });
});

describe("--trace, --ftrace, --report", () => {
  it("write the renderers' files from the measured phase of each strategy", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mmlab-bench-"));
    const [trace, ftrace, report] = ["t.json", "t.txt", "r.html"].map((f) => path.join(dir, f));
    const r = await run([
      "--size",
      "64M",
      "--trace",
      trace as string,
      "--ftrace",
      ftrace as string,
      "--report",
      report as string,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Chrome trace (Perfetto, chrome://tracing): ${trace}`);
    const events = (JSON.parse(readFileSync(trace as string, "utf8")) as { traceEvents: unknown[] })
      .traceEvents;
    expect(events.length).toBeGreaterThan(10);
    const text = readFileSync(ftrace as string, "utf8");
    expect(text).toContain("# tracer: function_graph");
    expect(text).toContain("unmap_region");
    const html = readFileSync(report as string, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("zapRlock");
  });
});

describe("human output", () => {
  it("prints the header, one row per strategy, the summary and the simulation's figures", async () => {
    const r = await run(SMALL);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).not.toMatch(ANSI);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe(
      "munmap of 256 MiB (65,536 pages, every page mapped), classic vs zapRlock",
    );
    expect(r.out).toMatch(/^runtime: node v\d+/m);
    expect(r.out).toMatch(/^model: +linux v4.18 mm\/mmap.c, rwsem v4.18, rb VMA tree/m);
    expect(r.out).toMatch(/^seed: +1 +time: virtual \(ns\)/m);
    expect(r.out).toContain("│ exclusive hold │");
    expect(r.out).toMatch(/│ classic +│ +14\.01 ms │ +14\.01 ms │/);
    expect(r.out).toMatch(/│ zapRlock +│ +14\.01 ms │ +8\.00 µs │/);
    expect(r.out).toMatch(/zapRlock holds mmap_sem exclusively 1,751x shorter than classic/);
    expect(r.out).toContain("Simulation (this machine, wall clock)");
    expect(r.out).toMatch(/peak RSS \d/);
  });

  it("colours only on a TTY without NO_COLOR; --quiet drops the header", async () => {
    const tty = await run([...SMALL, "--strategies", "zapRlock"], { isTTY: true });
    expect(tty.out).toMatch(ANSI);
    const noColor = await run([...SMALL, "--strategies", "zapRlock"], {
      isTTY: true,
      env: { NO_COLOR: "1" },
    });
    expect(noColor.out).not.toMatch(ANSI);
    const quiet = await run([...SMALL, "--strategies", "zapRlock", "--quiet"]);
    expect(quiet.out).not.toContain("runtime:");
    expect(quiet.out).toContain("│ zapRlock");
  });
});

describe("sweep", () => {
  it("prints the sizes × strategies table with the paper column, and --json carries the rows", async () => {
    const r = await run(["sweep", "--size", "256M,128M", "--quiet"]);
    expect(r.code).toBe(0);
    const rows = r.out.split("\n").filter((l) => l.startsWith("│"));
    expect(rows[0]).toMatch(/size.*strategy.*munmap.*exclusive hold.*paper.*model \/ paper/);
    expect(
      rows.slice(1).map((l) =>
        l
          .split("│")
          .map((s) => s.trim())
          .slice(1, 3),
      ),
    ).toEqual([
      ["128 MiB", "classic"],
      ["128 MiB", "zapRlock"],
      ["256 MiB", "classic"],
      ["256 MiB", "zapRlock"],
    ]);
    expect(r.out).toContain("5.01 / 9.13 / 17.92 s");
    const j = await run(["sweep", "--size", "128M", "--json"]);
    const json = JSON.parse(j.out) as BenchJson & { sweep: SweepResult };
    expect(json.sweep.rows.map((x) => [x.sizeBytes, x.strategy])).toEqual([
      [128 * 1024 ** 2, "classic"],
      [128 * 1024 ** 2, "zapRlock"],
    ]);
    expect(json.results).toHaveLength(2);
    expect(json.sweep.rows[1]?.paper).toEqual({ exclusiveHoldNs: 8000 });
  });
});

describe("hung-task", () => {
  it("reports honestly: no 120 s block at this size, and what it would take", async () => {
    const r = await run([
      "hung-task",
      "--size",
      "2G",
      "--writers",
      "2",
      "--rounds",
      "1",
      "--quiet",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("hung-task watchdog: no report");
    expect(r.out).toMatch(/no task was blocked for 120\.00 s; the longest block was/);
    expect(r.out).toMatch(/one munmap would have to cover [\d,]+ pages \(2\.09 TiB/);
    expect(r.out).toContain("never passes a queued writer");
  });

  it("with a 20 ms watchdog, ps is reported under classic and not under zapRlock", async () => {
    const r = await run([
      "hung-task",
      "--size",
      "2G",
      "--writers",
      "2",
      "--rounds",
      "2",
      "--hung-task-timeout",
      "0.02",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const { results } = JSON.parse(r.out) as { results: HungTaskResult[] };
    const [classic, zap] = results;
    expect(classic?.hungTaskReports.some((h) => h.comm === "ps" && h.pid === 14018)).toBe(true);
    expect(classic?.hungTaskReports[0]?.message).toBe(
      "INFO: task ps:14018 blocked for more than 0.02 seconds.",
    );
    expect(zap?.hungTaskReports).toEqual([]);
    // read off the lock: when ps's longest wait began, a munmap_test thread held mmap_sem
    expect(classic?.psLongest?.waitNs).toBe(classic?.psWait.max);
    expect(classic?.psLongest?.holders.some((h) => h.comm === "munmap_test")).toBe(true);
    expect(zap?.psWait.max).toBeLessThan(classic?.psWait.max ?? 0);
  });
});
