import { describe, expect, it } from "vitest";
import type { ExploreJson } from "./explore.js";
import { isUsageError, runCli } from "./test-cli.js";

const HINT = "mmlab-bench explore --help";

describe("explore: bad flags and values exit 2 with one line", () => {
  it.each([
    [["--bogus"], "unknown option '--bogus'"],
    [["--size", "4G"], "unknown option '--size'"],
    [["--strategy", "fast"], 'unknown --strategy "fast" (known: all, classic, zapRlock'],
    [["--scenario", "fork-bomb"], 'unknown --scenario "fork-bomb" (known: stack-expansion'],
    [["--schedules", "0"], 'invalid --schedules "0"'],
    [["--schedules", "ten"], 'invalid --schedules "ten"'],
    [["--jitter", "1.5"], 'invalid --jitter "1.5"'],
    [["--jitter", "-0.1"], 'invalid --jitter "-0.1"'],
    [["--seed", "x"], 'invalid --seed "x"'],
    [["--seed", "4294967295", "--schedules", "2"], "must stay below 2^32"],
    [["--cost", "xeon"], 'unknown --cost "xeon"'],
    [["--strategy"], "argument missing"],
  ])("%j", async (args, what) => {
    const r = await runCli(["explore", ...args]);
    expect(r.err).toContain(what);
    expect(isUsageError(r, what, HINT)).toBe(true);
  });

  it("--help documents the exit codes and the expected outcome", async () => {
    const r = await runCli(["explore", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--no-shuffle-ties");
    expect(r.out).toContain("Exit codes: 0 no schedule broke an invariant, 1 one did");
    expect(r.out).toContain("found under zapRlock and v4.20");
    const top = await runCli(["--help"]);
    expect(top.out).toMatch(/explore \[options\]/);
    expect(top.out).toMatch(/history \[options\]/);
  });
});

describe("explore --scenario fork-fault (the 6.4 fork race, fb49c455323f)", () => {
  it("finds it under perVmaLock at the first schedule (exit 1) and not under v6.4.y (exit 0)", async () => {
    const bug = await runCli(["explore", "--scenario", "fork-fault", "--strategy", "perVmaLock"]);
    expect(bug.code).toBe(1);
    expect(bug.out).toContain("fork-fault under perVmaLock: 1 schedule(s)");
    expect(bug.out).toContain("lost-write: when fork returned, the child read");
    const fixed = await runCli([
      "explore",
      "--scenario",
      "fork-fault",
      "--strategy",
      "v6.4.y",
      "--schedules",
      "5",
    ]);
    expect(fixed.code).toBe(0);
    expect(fixed.out).toContain("fork-fault under v6.4.y: 5 schedule(s)");
    expect(fixed.out).toContain("no violation found");
  }, 60_000);
});

describe("explore: exit codes, the failure report and its replay line", () => {
  it("finds the race under v4.20 (exit 1) and the printed replay reproduces it", async () => {
    const r = await runCli([
      "explore",
      "--scenario",
      "stack-expansion",
      "--strategy",
      "v4.20",
      "--schedules",
      "100",
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("");
    expect(r.out).toContain(
      "stack-expansion under v4.20: 20 schedule(s), 864 steps checked: FAILED at schedule seed 20",
    );
    expect(r.out).toMatch(/^lost-page: worker:4001 wrote frame 0x209 at 0x7ffffffdc000/m);
    expect(r.out).toMatch(/mmap_sem: downgrade_write\(\)/);
    const line = r.out.split("\n").find((l) => l.startsWith("replay: "));
    expect(line).toBe(
      "replay: mmlab-bench explore --scenario stack-expansion --strategy v4.20 --seed 20 --schedules 1 --jitter 0.5 --cost e5-2680-v4.18",
    );
    // run exactly what was printed
    const args = (line as string).replace("replay: mmlab-bench ", "").split(" ");
    const again = await runCli(args);
    expect(again.code).toBe(1);
    expect(again.out).toContain(
      "stack-expansion under v4.20: 1 schedule(s), 28 steps checked: FAILED at schedule seed 20",
    );
    const failure = (out: string) => out.slice(out.indexOf("lost-page:"), out.indexOf("\nwall:"));
    expect(failure(again.out)).toBe(failure(r.out));
  });

  it("finds nothing under classic (exit 0)", async () => {
    const r = await runCli([
      "explore",
      "--scenario",
      "stack-expansion",
      "--strategy",
      "classic",
      "--schedules",
      "50",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "stack-expansion under classic: 50 schedule(s), 2175 steps checked: no violation found",
    );
    expect(r.out).not.toContain("replay:");
  });

  it("--strategy all (the default): a table of every strategy, exit 1 as two of them fail", async () => {
    const r = await runCli(["explore", "--scenario", "stack-expansion", "--schedules", "30"]);
    expect(r.code).toBe(1);
    const rows = r.out
      .split("\n")
      .filter((l) => l.startsWith("│"))
      .map((l) =>
        l
          .split("│")
          .slice(1, 4)
          .map((s) => s.trim()),
      );
    expect(rows).toEqual([
      ["strategy", "result", "schedules"],
      ["classic", "no violation", "30"],
      ["zapRlock", "lost-page at seed 20", "20"],
      ["v4.20", "lost-page at seed 20", "20"],
      ["v5.8", "no violation", "30"],
      ["v6.1", "no violation", "30"],
      ["v6.3", "no violation", "30"],
      ["perVmaLock", "no violation", "30"],
      ["v6.4.y", "no violation", "30"],
      ["v6.5", "no violation", "30"],
    ]);
    expect(r.out.match(/^replay: /gm)).toHaveLength(2);
    expect(r.out).toContain("violations found under zapRlock, v4.20 (exit code 1)");
    expect(r.out).toContain("is the expected demonstration");
  }, 60_000);

  it("--json: context and one result per strategy; deterministic apart from wall time", async () => {
    const args = ["explore", "--scenario", "stack-expansion", "--schedules", "25", "--seed", "3"];
    const a = await runCli([...args, "--json"]);
    const b = await runCli([...args, "--json"]);
    expect(a.code).toBe(1);
    const ja = JSON.parse(a.out) as ExploreJson;
    const jb = JSON.parse(b.out) as ExploreJson;
    expect(ja.context).toMatchObject({
      scenario: "stack-expansion",
      schedules: 25,
      firstSeed: 3,
      jitter: 0.5,
      shuffleTies: true,
      cost: "e5-2680-v4.18",
      time: "virtual (ns)",
    });
    expect(ja.results.map((x) => [x.strategy, x.failure?.seed ?? null])).toEqual([
      ["classic", null],
      ["zapRlock", 20],
      ["v4.20", 20],
      ["v5.8", null],
      ["v6.1", null],
      ["v6.3", null],
      ["perVmaLock", null],
      ["v6.4.y", null],
      ["v6.5", null],
    ]);
    const f = ja.results[2]?.failure;
    expect(f?.kind).toBe("lost-page");
    expect(f?.replay).toEqual({
      scenario: "stack-expansion",
      strategy: "v4.20",
      seed: 20,
      jitter: 0.5,
      shuffleTies: true,
      cost: "e5-2680-v4.18",
    });
    expect(f?.replayCommand).toContain("--seed 20 --schedules 1");
    expect(f?.trace.length).toBeGreaterThan(5);
    const strip = (j: ExploreJson) => j.results.map(({ wallMs: _w, ...rest }) => rest);
    expect(strip(jb)).toEqual(strip(ja));
  }, 60_000);

  it("without --scenario: every scenario but random, and a scenario x strategy summary", async () => {
    const r = await runCli(["explore", "--schedules", "20"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("");
    const summary = r.out.slice(r.out.indexOf("Summary: per scenario and strategy"));
    const rows = summary
      .split("\n")
      .filter((l) => l.startsWith("│"))
      .map((l) =>
        l
          .split("│")
          .slice(1, -1)
          .map((x) => x.trim()),
      );
    expect(rows).toEqual([
      [
        "scenario",
        "classic",
        "zapRlock",
        "v4.20",
        "v5.8",
        "v6.1",
        "v6.3",
        "perVmaLock",
        "v6.4.y",
        "v6.5",
      ],
      [
        "stack-expansion",
        "not in 20",
        "found after 20",
        "found after 20",
        "not in 20",
        "not in 20",
        "not in 20",
        "not in 20",
        "not in 20",
        "not in 20",
      ],
      [
        "fork-fault",
        "not in 20",
        "not in 20",
        "not in 20",
        "not in 20",
        "not in 20",
        "not in 20",
        "found after 1",
        "not in 20",
        "not in 20",
      ],
      [
        "stack-guard-gone",
        "n/a",
        "n/a",
        "n/a",
        "n/a",
        "found after 15",
        "found after 3",
        "n/a",
        "n/a",
        "not in 20",
      ],
      [
        "stackrot",
        "n/a",
        "n/a",
        "n/a",
        "n/a",
        "not in 20",
        "found after 1",
        "n/a",
        "n/a",
        "not in 20",
      ],
    ]);
    expect(r.out).toContain("stack-guard-gone under v6.1: 15 schedule(s)");
    expect(r.out).toMatch(
      /^maple-node-rewritten: @mmlab\/vma-tree: maple leaf 1 rewritten under a walker/m,
    );
    expect(r.out).toContain(
      "replay: mmlab-bench explore --scenario stackrot --strategy v6.3 --seed 1 --schedules 1 --jitter 0.5 --cost e5-2680-v4.18",
    );
    const j = JSON.parse((await runCli(["explore", "--schedules", "3", "--json"])).out) as {
      scenarios: ExploreJson[];
    };
    expect(j.scenarios.map((x) => x.context.scenario)).toEqual([
      "stack-expansion",
      "fork-fault",
      "stack-guard-gone",
      "stackrot",
    ]);
    expect(j.scenarios[3]?.results[0]?.notApplicable).toBe(
      "rb-tree: this strategy has no maple nodes to walk",
    );
  }, 120_000);

  it("--no-shuffle-ties and --jitter reach the explorer and its replay line", async () => {
    const r = await runCli([
      "explore",
      "--scenario",
      "stack-expansion",
      "--strategy",
      "zapRlock",
      "--schedules",
      "200",
      "--jitter",
      "0.3",
      "--no-shuffle-ties",
      "--json",
    ]);
    const j = JSON.parse(r.out) as ExploreJson;
    expect(j.context.shuffleTies).toBe(false);
    expect(j.context.jitter).toBe(0.3);
    const f = j.results[0]?.failure;
    expect(r.code).toBe(f === null ? 0 : 1);
    if (f != null) {
      expect(f.replayCommand).toContain("--jitter 0.3 --no-shuffle-ties");
      const again = await runCli([...f.replayCommand.split(" ").slice(1), "--json"]);
      expect((JSON.parse(again.out) as ExploreJson).results[0]?.failure?.message).toBe(f.message);
    }
  });
});
