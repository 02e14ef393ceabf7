import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { UsageError } from "../params.js";
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

/**
 * A process tree's fixture: NAME.start.maps (the first process), NAME.PID[.K].start.maps (a
 * process right after its (K-th) execve), NAME.final.maps and NAME.PID.final.maps.
 */
function treeInput(name: string, { childStarts = true } = {}): ReplayInput {
  const filesOf = (kind: string) =>
    readdirSync(dir)
      .map((f) => new RegExp(`^${name}\\.(\\d+)(?:\\.(\\d+))?\\.${kind}\\.maps$`).exec(f))
      .filter((m) => m !== null)
      .map((m) => ({ pid: Number(m[1]), k: Number(m[2] ?? 1), file: m[0] }))
      .sort((a, b) => a.pid - b.pid || a.k - b.k);
  const maps = (f: string) => ({ entries: parseMaps(text(f)), name: f });
  return {
    trace: { text: text(`${name}.strace`), name: `${name}.strace` },
    startMaps: maps(`${name}.start.maps`),
    execMaps: childStarts ? filesOf("start").map(({ pid, file }) => ({ pid, ...maps(file) })) : [],
    expectMaps: [
      { pid: null, ...maps(`${name}.final.maps`) },
      ...filesOf("final").map(({ pid, file }) => ({ pid, ...maps(file) })),
    ],
  };
}

function replayTree(name: string, opts: { childStarts?: boolean } = {}): ReplayResult {
  const i = treeInput(name, opts);
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
      {
        pid: 1891,
        parent: null,
        threads: [1891],
        origin: "start maps",
        maps: "c-mm.start.maps",
        replayed: r.replayed,
        skipped: 0,
      },
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
      [1905, "fork"],
    ]);
    expect(r.processes[1]?.replayed).toBe(4);
    expect(r.layouts.map((l) => [l.pid, l.matched])).toEqual([
      [1904, true],
      [1905, true],
    ]);
  });

  it("c-fork-file: the fork child's mm is dup_mmap()'s, its fds the same open files", () => {
    const r = replayTree("c-fork-file");
    expectFaithful(r, 15);
    expect(r.processes.map((p) => [p.pid, p.parent, p.origin, p.replayed])).toEqual([
      [6732, null, "start maps", 18],
      [6740, 6732, "fork", 1],
    ]);
    // the child maps the file right after the mapping it inherited, through the fd it
    // inherited: one struct file, so the kernel merged them (a copy of the layout would not)
    const child = treeInput("c-fork-file").expectMaps?.find((m) => m.pid === 6740);
    expect(
      child?.entries
        .filter((e) => e.path === "/tmp/mmlab-fork-file.dat")
        .map((e) => [e.start.toString(16), e.end.toString(16)]),
    ).toEqual([["7ffff7fb8000", "7ffff7fbe000"]]);
    expect([r.layoutsCompared, r.layoutsMatched]).toEqual([2, 2]);
    // sysFork ran as a task of the forking tid and held the parent's mmap_sem for write
    const fork = r.timings.find((t) => t.name === "clone");
    expect(fork).toMatchObject({ pid: 6732, line: 25 });
    expect(fork?.exclusiveNs).toBeGreaterThan(0);
  });

  it("c-spawn: fork, vfork and posix_spawnp children replayed on their own layouts after execve", () => {
    const r = replayTree("c-spawn");
    expectFaithful(r, 60);
    expect(r.processes.map((p) => [p.pid, p.parent, p.origin, p.maps])).toEqual([
      [11022, null, "start maps", "c-spawn.start.maps"],
      [11023, 11022, "exec maps", "c-spawn.11023.start.maps"],
      [11029, 11022, "exec maps", "c-spawn.11029.start.maps"],
      [11057, 11022, "exec maps", "c-spawn.11057.start.maps"],
    ]);
    // the fork child's munmap and mmap before its execve, then its new image's 16 calls
    // the parent's fork counts as one of its calls (vfork and clone3 share its mm: they do not)
    expect(r.processes.map((p) => p.replayed)).toEqual([21, 18, 16, 16]);
    // exec tears down the fork child's own mm (exit_mmap); a vfork child's is its parent's
    expect(r.timings.filter((t) => t.name === "exit_mmap").map((t) => t.pid)).toEqual([11023]);
    expect([r.layoutsCompared, r.layoutsMatched, r.layouts.length]).toEqual([4, 4, 4]);
  });

  it("c-spawn: posix_spawnp's child prints its failed execves before clone3 returns in the parent", () => {
    const r = replayTree("c-spawn");
    const i = treeInput("c-spawn");
    expect(parseReplay(i).movedClones).toEqual([
      { line: 87, parent: 11022, child: 11057, name: "clone3", childLine: 84 },
    ]);
    expect(r.notes).toContain(
      "pid 11057's first line (84) comes before its parent's clone3 returned it (line 87): the clone3 is replayed just before it",
    );
    expect(r.notes.join("\n")).not.toMatch(/appears without a clone/);
  });

  it("c-spawn without the children's maps: their images' calls are listed, their layouts not compared", () => {
    const r = replayTree("c-spawn", { childStarts: false });
    expect(r.mismatched).toBe(0);
    expect(r.processes.map((p) => [p.pid, p.origin, p.replayed, p.skipped])).toEqual([
      [11022, "start maps", 21, 0],
      [11023, "unknown image", 2, 16],
      [11029, "unknown image", 0, 16],
      [11057, "unknown image", 0, 16],
    ]);
    expect(r.skipped).toEqual({ brk: 3, mmap: 27, mprotect: 12, munmap: 6 });
    expect([r.layoutsCompared, r.layoutsMatched]).toEqual([1, 1]);
    const child = r.layouts.find((l) => l.pid === 11029);
    expect(child).toMatchObject({ compared: false, matched: false });
    expect(child?.reason).toBe(
      "pid 11029 exec'd an image whose layout is not given (--maps 11029=FILE)",
    );
  });

  it("sh-pipe: a shell's pipeline, both children exec'd and checked", () => {
    const r = replayTree("sh-pipe");
    expectFaithful(r, 80);
    expect(r.processes.map((p) => [p.pid, p.origin])).toEqual([
      [11139, "start maps"],
      [11140, "exec maps"],
      [11141, "exec maps"],
    ]);
    expect([r.layoutsCompared, r.layoutsMatched]).toEqual([3, 3]);
  });

  it("gcc: a compiler driver (env execs gcc, which vforks cc1 and as after a PATH search)", () => {
    const r = replayTree("gcc");
    expectFaithful(r, 150);
    expect(r.processes.map((p) => [p.pid, p.parent, p.origin, p.maps])).toEqual([
      [27840, null, "exec maps", "gcc.27840.start.maps"],
      [27849, 27840, "exec maps", "gcc.27849.start.maps"],
      [27857, 27840, "exec maps", "gcc.27857.start.maps"],
    ]);
    expect(r.notes.filter((n) => n.includes("comes before its parent's vfork"))).toHaveLength(2);
    expect([r.layoutsCompared, r.layoutsMatched]).toEqual([3, 3]);
  });

  it("sh-pipe seen through -e trace=%memory: children without clone lines start on their maps", () => {
    // the lines `strace -e trace=%memory` would have printed: no openat, clone or execve
    const memory =
      /^\d+\s+(?:<\.\.\. )?(?:mmap|munmap|mprotect|mremap|brk|madvise)(?:\(| resumed>)|^\d+\s+\+\+\+ /;
    const i = treeInput("sh-pipe");
    i.trace.text = i.trace.text
      .split("\n")
      .filter((l) => memory.test(l))
      .join("\n");
    const r = runReplay(i, parseReplay(i), {
      mmapMinAddr: MIN_ADDR,
      generation: knownGenerations()[0],
    });
    expectFaithful(r, 80);
    expect(r.fdCalls).toBe(0);
    expect(r.processes.map((p) => [p.pid, p.parent, p.origin, p.replayed])).toEqual([
      [11139, null, "start maps", 15],
      [11140, null, "exec maps", 39],
      [11141, null, "exec maps", 28],
    ]);
    expect(r.notes).toContain(
      "pid 11141 appears without a clone/fork before it: replayed from its first line (17) on sh-pipe.11141.start.maps",
    );
    expect([r.layoutsCompared, r.layoutsMatched]).toEqual([3, 3]);
  });

  it("c-memonly: a %memory-only log, the fds' open modes inferred from the results", () => {
    const r = replayTree("c-memonly");
    expectFaithful(r, 20);
    expect(r.fdCalls).toBe(0);
    expect(r.notes).toContain(
      "fd 3 (/tmp/mmlab-memonly.dat) was not opened in the log (first mapped at line 14): installed read-write, inferred from the recorded results (line 14: a writable MAP_SHARED mapping of it succeeded)",
    );
    expect(r.notes).toContain(
      "fd 4 (/tmp/mmlab-memonly.dat) was not opened in the log (first mapped at line 18): installed read-only, inferred from the recorded results (line 18: a writable MAP_SHARED mapping of it failed with EACCES)",
    );
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

  it("c-fork as strace -f prints it to a terminal: the first process unprefixed (pid 0)", () => {
    const i = treeInput("c-fork");
    i.trace.text = i.trace.text.replace(/^1904 {2}/gm, "").replace(/^1905 {2}/gm, "[pid 1905] ");
    i.expectMaps = i.expectMaps?.map((m) => (m.pid === null ? m : { ...m, pid: 1905 }));
    const r = runReplay(i, parseReplay(i), {
      mmapMinAddr: MIN_ADDR,
      generation: knownGenerations()[0],
    });
    expectFaithful(r, 20);
    expect(r.processes.map((p) => [p.pid, p.parent, p.origin])).toEqual([
      [0, null, "start maps"],
      [1905, 0, "fork"],
    ]);
    expect(new Set(r.timings.map((t) => t.pid))).toEqual(new Set([0, 1905]));
  });

  it("moves a clone up to its child's first line only, not to an earlier process of that pid", () => {
    const parsed = parseReplay({
      trace: {
        name: "r.strace",
        text: [
          '10  execve("/bin/a", ["a"], 0x7fffffffe460 /* 1 var */) = 0',
          "10  clone(child_stack=NULL, flags=SIGCHLD) = 11",
          "11  exit_group(0)                     = ?",
          "11  +++ exited with 0 +++",
          "10  vfork( <unfinished ...>",
          '11  execve("/nope", ["b"], 0x7fffffffe548 /* 1 var */) = -1 ENOENT (No such file or directory)',
          "10  <... vfork resumed>)              = 11",
        ].join("\n"),
      },
    });
    expect(parsed.movedClones).toEqual([
      { line: 7, parent: 10, child: 11, name: "vfork", childLine: 6 },
    ]);
    expect(parsed.calls.map((c) => c.call.line)).toEqual([1, 2, 3, 7, 6]);
  });

  it("an exec'd image keeps the fds without FD_CLOEXEC, in their open mode", () => {
    const maps = (f: string) => ({ entries: parseMaps(text(f)), name: f });
    const i: ReplayInput = {
      trace: {
        name: "x.strace",
        text: [
          '10  execve("/bin/a", ["a"], 0x7fffffffe460 /* 1 var */) = 0',
          '10  openat(AT_FDCWD, "/f", O_RDONLY|O_CLOEXEC) = 3</f>',
          '10  openat(AT_FDCWD, "/f", O_RDWR) = 4</f>',
          "10  fcntl(4</f>, F_DUPFD_CLOEXEC, 5) = 5</f>",
          "10  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7ffff7dd2a10) = 11",
          '11  execve("/bin/b", ["b"], 0x7fffffffe548 /* 1 var */) = 0',
          // fd 4 survived the exec read-write: the kernel let this succeed
          "11  mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 4</f>, 0) = 0x7ffff7fc1000",
          // fds 3 and 5 were closed by the exec: a later 3 is a file the log did not open
          "11  mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</f>, 0) = 0x7ffff7fc0000",
        ].join("\n"),
      },
      startMaps: maps("c-spawn.start.maps"),
      execMaps: [{ pid: 11, ...maps("c-spawn.11023.start.maps") }],
    };
    const r = runReplay(i, parseReplay(i), { mmapMinAddr: MIN_ADDR });
    expect(r.mismatches).toEqual([]);
    expect(r.replayed).toBe(3); // the fork and the two mmaps
    expect(r.notes.join("\n")).not.toMatch(/fd 4/); // inherited, not re-installed
    expect(r.notes).toContain(
      "1 mapping of fds the log never opened (first at line 8): installed read-only from their -y paths, as no recorded result depends on their open mode",
    );
  });

  it("refuses --maps and --expect-maps pids the log does not support, before anything runs", () => {
    const i = treeInput("c-spawn");
    const first = i.startMaps as NonNullable<ReplayInput["startMaps"]>;
    const refuse = (patch: Partial<ReplayInput>) => {
      try {
        parseReplay({ ...i, ...patch });
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error("expected a UsageError");
    };
    expect(refuse({ execMaps: [{ pid: 999, ...first }] })).toBe(
      "--maps 999=c-spawn.start.maps: 1 maps file for pid 999, which has no images in c-spawn.strace to start (its successful execves; one maps file per image, in order)",
    );
    expect(refuse({ execMaps: [{ pid: 11022, ...first }] })).toBe(
      "--maps 11022=c-spawn.start.maps: 1 maps file for pid 11022, which has no images in c-spawn.strace to start (its successful execves after the first (--maps c-spawn.start.maps); one maps file per image, in order)",
    );
    expect(
      refuse({
        execMaps: [
          { pid: 11023, ...first },
          { pid: 11023, ...first },
        ],
      }),
    ).toBe(
      "--maps 11023=c-spawn.start.maps: 2 maps files for pid 11023, which has 1 image in c-spawn.strace to start (its successful execves; one maps file per image, in order)",
    );
    expect(refuse({ expectMaps: [{ pid: 5, ...first }] })).toBe(
      "--expect-maps 5=c-spawn.start.maps: pid 5 is not in c-spawn.strace (pids: 11022, 11023, 11029, 11057)",
    );
    expect(
      refuse({
        expectMaps: [
          { pid: null, ...first },
          { pid: 11022, ...first },
        ],
      }),
    ).toBe("--expect-maps: pid 11022 is given twice (c-spawn.start.maps and c-spawn.start.maps)");
    // the first process's maps may be given as PID=FILE too
    const { startMaps: _s, ...rest } = i;
    const byPid = { ...rest, execMaps: [...(i.execMaps ?? []), { pid: 11022, ...first }] };
    const r = runReplay(byPid, parseReplay(byPid), {
      mmapMinAddr: MIN_ADDR,
      generation: knownGenerations()[0],
    });
    expect(r.processes[0]).toMatchObject({ origin: "start maps", maps: "c-spawn.start.maps" });
    expect(r.layoutsMatched).toBe(4);
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

  it("--maps PID=FILE for each exec'd child, --expect-maps for each process: a whole tree", async () => {
    const tree = [
      "replay",
      `${dir}c-spawn.strace`,
      "--maps",
      `${dir}c-spawn.start.maps`,
      "--expect-maps",
      `${dir}c-spawn.final.maps`,
      "--mmap-min-addr",
      "4096",
      ...[11023, 11029, 11057].flatMap((pid) => [
        "--expect-maps",
        `${pid}=${dir}c-spawn.${pid}.final.maps`,
      ]),
    ];
    const starts = [11023, 11029, 11057].flatMap((pid) => [
      "--maps",
      `${pid}=${dir}c-spawn.${pid}.start.maps`,
    ]);
    const r = await runCli([...tree, ...starts]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("exec:    c-spawn.11029.start.maps (pid 11029 after its execve)\n");
    expect(r.out).toContain(
      "  pid 11057: child of pid 11022, exec'd, on c-spawn.11057.start.maps, 16 calls replayed\n",
    );
    expect(r.out).toContain("final layouts: 4 of 4 processes matched\n");
    // without the children's start maps: their later calls are not replayed, exit 1
    const partial = await runCli(tree);
    expect(partial.code).toBe(1);
    expect(partial.out).toContain(
      "final layouts: 1 of 1 processes matched (3 of 4 snapshots not compared)\n",
    );
    expect(partial.out).toContain(
      "layout:        c-spawn.11023.final.maps not compared: pid 11023 exec'd an image whose layout is not given (--maps 11023=FILE)\n",
    );
    const bad = await runCli([...tree, "--maps", `11022=${dir}c-spawn.start.maps`]);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
    expect(bad.err).toMatch(
      /^mmlab-bench: error: --maps 11022=c-spawn.start.maps: 1 maps file for pid 11022, which has no images in c-spawn.strace to start/,
    );
    const two = await runCli([...tree, "--maps", `${dir}c-mm.start.maps`]);
    expect(two.code).toBe(2);
    expect(two.err).toMatch(
      /--maps .*c-mm.start.maps: the first process already has c-spawn.start.maps/,
    );
  });

  it("several traces: each one's process tree from the maps files beside it", async () => {
    const r = await runCli([
      "replay",
      `${dir}c-spawn.strace`,
      `${dir}gcc.strace`,
      "--mmap-min-addr",
      "4096",
      "--workers",
      "1",
      "--quiet",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("final layouts: 4 of 4 processes matched\n");
    expect(r.out).toContain("exec:    gcc.27840.start.maps (pid 27840 after its execve #2)\n");
    expect(r.out).toContain("final layouts: 3 of 3 processes matched\n");
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
