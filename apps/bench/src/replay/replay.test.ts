import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../test-cli.js";
import { knownGenerations } from "./command.js";
import { parseMaps } from "./maps.js";
import { parseReplay, type ReplayInput, type ReplayResult, runReplay } from "./replay.js";

const dir = fileURLToPath(new URL("../../fixtures/", import.meta.url));
const text = (f: string) => readFileSync(`${dir}${f}`, "utf8");
/** The recording machine's vm.mmap_min_addr (fixtures/README.md). */
const MIN_ADDR = 4096;

function input(name: string, children: Record<number, string> = {}): ReplayInput {
  return {
    trace: { text: text(`${name}.strace`), name: `${name}.strace` },
    startMaps: { entries: parseMaps(text(`${name}.start.maps`)), name: `${name}.start.maps` },
    expectMaps: [
      { pid: null, entries: parseMaps(text(`${name}.final.maps`)), name: `${name}.final.maps` },
      ...Object.entries(children).map(([pid, f]) => ({
        pid: Number(pid),
        entries: parseMaps(text(f)),
        name: f,
      })),
    ],
  };
}

function replayFixture(name: string, children: Record<number, string> = {}): ReplayResult {
  const i = input(name, children);
  return runReplay(i, parseReplay(i), { mmapMinAddr: MIN_ADDR, generation: knownGenerations()[0] });
}

/** Every return value and every layout matched; nothing skipped, nothing refused. */
function expectFaithful(r: ReplayResult, minCalls: number): void {
  expect(r.modelError).toBeNull();
  expect(r.firstMismatch).toBeNull();
  expect(r.mismatched).toBe(0);
  expect(r.matched).toBe(r.replayed);
  expect(r.replayed).toBeGreaterThanOrEqual(minCalls);
  expect(r.skipped).toEqual({});
  expect(r.layouts.length).toBeGreaterThan(0);
  for (const l of r.layouts) expect(l.firstDifference).toBeNull();
}

describe("replaying the recorded fixtures against Linux 6.18", () => {
  it("c-mm: every mm call and errno path, file-backed mappings", () => {
    const r = replayFixture("c-mm");
    expectFaithful(r, 50);
    expect(r.processes).toEqual([
      { pid: 1891, threads: [1891], origin: "start maps", replayed: r.replayed, skipped: 0 },
    ]);
  });

  it("c-threads: three threads share one mm", () => {
    const r = replayFixture("c-threads");
    expectFaithful(r, 30);
    expect(r.processes).toHaveLength(1);
    expect(r.processes[0]?.threads).toEqual([1896, 1897, 1898, 1899]);
  });

  it("c-fork: the child's own mm, checked against its own final maps", () => {
    const r = replayFixture("c-fork", { 1905: "c-fork.1905.final.maps" });
    expectFaithful(r, 20);
    expect(r.processes.map((p) => [p.pid, p.origin])).toEqual([
      [1904, "start maps"],
      [1905, "fork copy"],
    ]);
    expect(r.processes[1]?.replayed).toBe(4);
    expect(r.layouts.map((l) => [l.pid, l.matched])).toEqual([
      [1904, true],
      [1905, true],
    ]);
  });

  it("cat", () => {
    expectFaithful(replayFixture("cat"), 25);
  });

  it("ls", () => {
    expectFaithful(replayFixture("ls"), 35);
  });

  it("python3", () => {
    expectFaithful(replayFixture("python3"), 45);
  });

  it("node: six threads with unfinished/resumed calls", () => {
    const r = replayFixture("node");
    expectFaithful(r, 170);
    expect(r.processes[0]?.threads.length).toBe(7);
  });
});

describe("the replay engine", () => {
  it("counts a return value that differs and names the first one", () => {
    const i = input("c-mm");
    // The kernel's answer to the first anonymous mmap, changed by one page.
    i.trace.text = i.trace.text.replace(
      "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc0000",
      "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc1000",
    );
    const r = runReplay(i, parseReplay(i), { mmapMinAddr: MIN_ADDR });
    expect(r.mismatched).toBe(1);
    expect(r.firstMismatch).toMatchObject({
      line: 3,
      pid: 1891,
      expected: 0x7ffff7fc1000,
      actual: 0x7ffff7fc0000,
      expectedText: "0x7ffff7fc1000",
      actualText: "0x7ffff7fc0000",
    });
  });

  it("reports the first layout difference", () => {
    const i = input("cat");
    const expected = i.expectMaps?.[0];
    if (expected === undefined) throw new Error("no expected maps");
    expected.entries = expected.entries.map((e, k) => (k === 2 ? { ...e, perms: "r-xp" } : e));
    const r = runReplay(i, parseReplay(i), { mmapMinAddr: MIN_ADDR });
    expect(r.layouts[0]?.firstDifference).toMatchObject({ index: 2, fields: ["perms"] });
  });

  it("a vfork child's execve gives the child a new mm and leaves its parent's alone", () => {
    const plain = replayFixture("cat");
    const i = input("cat");
    const lines = i.trace.text.split("\n");
    // cat vforks a child right after its first mmap; the child execs and maps in its new image.
    lines.splice(
      3,
      0,
      "1986  vfork()                           = 1990",
      '1990  execve("/usr/bin/true", ["true"], 0x7fffffffe668 /* 39 vars */) = 0',
      "1990  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fbe000",
    );
    i.trace.text = lines.join("\n");
    const r = runReplay(i, parseReplay(i), {
      mmapMinAddr: MIN_ADDR,
      generation: knownGenerations()[0],
    });
    expect(r.firstMismatch).toBeNull();
    expect(r.modelError).toBeNull();
    expect(r.replayed).toBe(plain.replayed); // every call of the parent, none of the child's
    expect(r.layouts[0]?.firstDifference).toBeNull();
  });

  it("runs each call as a task with the recorded tid, in virtual time", () => {
    const r = replayFixture("c-threads");
    expect(r.virtualNs).toBeGreaterThan(0);
    expect(new Set(r.timings.map((t) => t.pid))).toEqual(new Set([1896, 1897, 1898, 1899]));
    const munmaps = r.timings.filter((t) => t.name === "munmap");
    expect(munmaps.length).toBeGreaterThan(0);
    for (const t of munmaps) expect(t.exclusiveNs).toBeGreaterThan(0);
  });
});

describe("mmlab-bench replay", () => {
  const args = (name: string) => [
    "replay",
    `${dir}${name}.strace`,
    "--maps",
    `${dir}${name}.start.maps`,
    "--expect-maps",
    `${dir}${name}.final.maps`,
    "--mmap-min-addr",
    "4096",
  ];

  it("prints the summary and exits 0 when everything matched", async () => {
    const r = await runCli(args("c-mm"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^replay c-mm\.strace: 65 calls from 1 process \(pid 1891\)\n/);
    expect(r.out).toMatch(/return values: \d+ of \d+ matched/);
    expect(r.out).toContain("layout:        c-mm.final.maps matched (pid 1891, 33 entries)");
  });

  it("--expect-maps pid=file checks a fork child; --json gives the same figures", async () => {
    const r = await runCli([
      ...args("c-fork"),
      "--expect-maps",
      `1905=${dir}c-fork.1905.final.maps`,
      "--json",
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { replay: ReplayResult };
    expect(json.replay.layouts.map((l) => [l.pid, l.matched])).toEqual([
      [1904, true],
      [1905, true],
    ]);
    expect(json.replay.mismatched).toBe(0);
  });

  it("--strategies all tabulates the recorded workload's mmap_sem holds per strategy", async () => {
    const r = await runCli([...args("c-threads"), "--strategies", "all"]);
    expect(r.code).toBe(0);
    for (const s of ["classic", "zapRlock", "v4.20", "v5.8", "perVmaLock"]) {
      expect(r.out).toMatch(new RegExp(`│ ${s.replace(".", "\\.")} +│`));
    }
  });

  it("exits 1 on a mismatch", async () => {
    const r = await runCli([
      "replay",
      `${dir}cat.strace`,
      "--maps",
      `${dir}cat.start.maps`,
      "--expect-maps",
      `${dir}ls.final.maps`,
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("layout:        ls.final.maps differs");
  });

  it("exits 2 naming the line of a malformed or truncated log, and runs nothing", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const tmp = mkdtempSync(`${tmpdir()}/replay-`);
    const lines = text("c-mm.strace").split("\n");
    writeFileSync(
      `${tmp}/cut.strace`,
      `${lines.slice(0, 30).join("\n")}\n${(lines[30] as string).slice(0, 40)}`,
    );
    const cut = await runCli(["replay", `${tmp}/cut.strace`, "--maps", `${dir}c-mm.start.maps`]);
    expect(cut.code).toBe(2);
    expect(cut.out).toBe("");
    expect(cut.err).toBe(
      `mmlab-bench: error: cut.strace:31: truncated call (no closing parenthesis): ${JSON.stringify((lines[30] as string).slice(0, 40))} (see 'mmlab-bench replay --help')\n`,
    );
    writeFileSync(
      `${tmp}/bad.maps`,
      "555555554000-555555556000 r--p 00000000 fe:00 1 /a\nnonsense\n",
    );
    const bad = await runCli(["replay", `${dir}c-mm.strace`, "--maps", `${tmp}/bad.maps`]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('bad.maps:2: not a /proc/PID/maps line: "nonsense"');
    const gen = await runCli(["replay", `${dir}c-mm.strace`, "--generation", "v9"]);
    expect(gen.code).toBe(2);
    expect(gen.err).toMatch(/invalid --generation "v9"/);
  });
});
