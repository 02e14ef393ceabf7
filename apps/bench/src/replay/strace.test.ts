import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  parseFdArg,
  parseFlags,
  parseNumber,
  parseStrace,
  parseStringArg,
  ReplayInputError,
  splitArgs,
} from "./strace.js";
import { decodeCall, decodeLog, MAP_NAMES, PROT_NAMES } from "./syscalls.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), "utf8");

function errorOf(fn: () => unknown): ReplayInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ReplayInputError) return err;
    throw err;
  }
  throw new Error("expected a ReplayInputError");
}

describe("parseStrace", () => {
  it("reads calls with pids, -y paths, hex and symbolic arguments and returns", () => {
    const log = parseStrace(
      [
        "1904  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc0000",
        '1904  openat(AT_FDCWD</tmp>, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3</usr/lib/x86_64-linux-gnu/libc.so.6>',
        "1904  mmap(0x7ffff7dfb000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3</usr/lib/x86_64-linux-gnu/libc.so.6>, 0x26000) = 0x7ffff7dfb000",
        "1904  brk(NULL)                         = 0x555555559000 (DELAYED)",
        "1904  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1905, si_uid=0} ---",
        "1904  exit_group(0)                     = ?",
        "1904  +++ exited with 0 +++",
      ].join("\n"),
    );
    expect(log.pids).toEqual([1904]);
    expect(log.calls.map((c) => [c.line, c.name, c.ret])).toEqual([
      [1, "mmap", 0x7ffff7fc0000],
      [2, "openat", 3],
      [3, "mmap", 0x7ffff7dfb000],
      [4, "brk", 0x555555559000],
      [6, "exit_group", null],
    ]);
    expect(log.calls[1]?.retPath).toBe("/usr/lib/x86_64-linux-gnu/libc.so.6");
    expect(log.exits).toEqual([{ line: 7, pid: 1904, text: "+++ exited with 0 +++" }]);
    const mmap = decodeCall(log.calls[2] as (typeof log.calls)[number]);
    expect(mmap).toEqual({
      kind: "mmap",
      addr: 0x7ffff7dfb000,
      len: 1400832,
      prot: 0x5,
      flags: 0x2 | 0x10 | 0x800,
      fd: 3,
      path: "/usr/lib/x86_64-linux-gnu/libc.so.6",
      off: 0x26000,
    });
  });

  it("keeps a failed call's errno as -errno", () => {
    const log = parseStrace(
      [
        "1891  mmap(NULL, 140737488355328, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)",
        "1891  mremap(0x10000, 4096, 8192, 0)    = -1 EFAULT (Bad address)",
        "1891  mmap(0x7ffff7dc2000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) = -1 EEXIST (File exists)",
      ].join("\n"),
    );
    expect(log.calls.map((c) => [c.errno, c.ret])).toEqual([
      ["ENOMEM", -12],
      ["EFAULT", -14],
      ["EEXIST", -17],
    ]);
    expect(decodeCall(log.calls[0] as (typeof log.calls)[number])).toMatchObject({
      len: 2 ** 47,
    });
  });

  it("merges <unfinished ...> and <... resumed> pairs, placed where they returned", () => {
    const log = parseStrace(
      [
        "2044  munmap(0x7fffec000000, 67108864 <unfinished ...>",
        "2045  mmap(0x7fffec000000, 67108864, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0 <unfinished ...>",
        "2046  close(10<pipe:[157347]>) = 0",
        "2044  <... munmap resumed>)             = 0",
        "2045  <... mmap resumed>)               = 0x7fffec000000",
        "2042  clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} <unfinished ...>",
        "2042  <... clone3 resumed> => {parent_tid=[2047]}, 88) = 2047",
      ].join("\n"),
    );
    expect(log.calls.map((c) => [c.pid, c.name, c.startLine, c.line, c.ret])).toEqual([
      [2046, "close", 3, 3, 0],
      [2044, "munmap", 1, 4, 0],
      [2045, "mmap", 2, 5, 0x7fffec000000],
      [2042, "clone3", 6, 7, 2047],
    ]);
    expect(log.calls[1]?.args).toEqual(["0x7fffec000000", "67108864"]);
    expect(log.calls[2]?.text).toBe(
      "mmap(0x7fffec000000, 67108864, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7fffec000000",
    );
    expect(decodeCall(log.calls[3] as (typeof log.calls)[number])).toEqual({
      kind: "clone",
      flags: 0x100 | 0x10000,
    });
    expect(log.pids).toEqual([2044, 2045, 2046, 2042]);
  });

  it("decodes dup, dup2, dup3 and fcntl(F_DUPFD) as a second name for an open file, with its FD_CLOEXEC", () => {
    const log = parseStrace(
      [
        "9  dup(3</etc/hostname>) = 4</etc/hostname>",
        "9  dup2(3</etc/hostname>, 7) = 7</etc/hostname>",
        "9  dup3(3</etc/hostname>, 8, O_CLOEXEC) = 8</etc/hostname>",
        "9  fcntl(3</etc/hostname>, F_DUPFD_CLOEXEC, 10) = 10</etc/hostname>",
        "9  fcntl(3</etc/hostname>, F_GETFD) = 0x1 (flags FD_CLOEXEC)",
        "9  fcntl(3</etc/hostname>, F_SETFD, FD_CLOEXEC) = 0",
        "9  fcntl(4</etc/hostname>, F_SETFD, 0) = 0",
        "9  fcntl(3</etc/hostname>, F_DUPFD, 12) = 12</etc/hostname>",
      ].join("\n"),
      "d.strace",
      9,
    );
    const ops = log.calls.map((c) => decodeCall(c));
    expect(ops).toEqual([
      { kind: "dup", fd: 3, cloexec: false },
      { kind: "dup", fd: 3, cloexec: false },
      { kind: "dup", fd: 3, cloexec: true },
      { kind: "dup", fd: 3, cloexec: true },
      { kind: "other" },
      { kind: "setfd", fd: 3, cloexec: true },
      { kind: "setfd", fd: 4, cloexec: false },
      { kind: "dup", fd: 3, cloexec: false },
    ]);
    expect(log.calls.map((c) => c.ret)).toEqual([4, 7, 8, 10, 1, 0, 0, 12]);
  });

  it("reads strace -f written to a terminal: unprefixed first process, its own message inside a line", () => {
    // strace 6.1, `strace -f -y ... 2> FILE` (lines as recorded, the libraries' mmaps left out)
    const log = parseStrace(
      [
        'execve("/tmp/mmlab-fixtures/c-fork", ["/tmp/mmlab-fixtures/c-fork"], 0x7fffffffe6f0 /* 39 vars */) = 0',
        "brk(NULL)                               = 0x555555559000",
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLDstrace: Process 29528 attached",
        ", child_tidptr=0x7ffff7dd2a10) = 29528",
        "[pid 29528] munmap(0x7ffff7dba000, 32768) = 0",
        "[pid 29528] exit_group(0)               = ?",
        "[pid 29528] +++ exited with 0 +++",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=29528, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---",
        "munmap(0x7ffff7fb8000, 16384)           = 0",
      ].join("\n"),
      "tty.strace",
    );
    expect(log.calls.map((c) => [c.line, c.pid, c.name, c.ret])).toEqual([
      [1, 0, "execve", 0],
      [2, 0, "brk", 0x555555559000],
      [3, 0, "clone", 29528],
      [5, 29528, "munmap", 0],
      [6, 29528, "exit_group", null],
      [9, 0, "munmap", 0],
    ]);
    expect(log.calls[2]?.args).toEqual([
      "child_stack=NULL",
      "flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD",
      "child_tidptr=0x7ffff7dd2a10",
    ]);
    expect(log.pids).toEqual([0, 29528]);
  });

  it("reads strace -r lines (a padded relative timestamp) and huge-page flags with <<", () => {
    const log = parseStrace(
      "     0.000123 mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = -1 ENOMEM (Cannot allocate memory)",
      "r.strace",
      7,
    );
    expect(log.calls).toHaveLength(1);
    const call = log.calls[0] as (typeof log.calls)[number];
    expect(call.pid).toBe(7);
    expect(call.args).toHaveLength(6);
    expect(call.ret).toBe(-12);
    expect(decodeCall(call)).toMatchObject({ kind: "mmap", len: 2097152 });
  });

  it("drops a call cut short by its process's exit", () => {
    const log = parseStrace(
      ["7  futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>", "7  +++ exited with 0 +++"].join("\n"),
    );
    expect(log.calls).toEqual([]);
  });

  it("reads lines without a pid (strace without -f) and with timestamps", () => {
    const log = parseStrace(
      ["munmap(0x7ffff7fb7000, 36059)     = 0", "21:04:05.123456 brk(NULL) = 0x555555560000"].join(
        "\n",
      ),
      "t",
      42,
    );
    expect(log.calls.map((c) => [c.pid, c.name, c.ret])).toEqual([
      [42, "munmap", 0],
      [42, "brk", 0x555555560000],
    ]);
  });

  it("refuses a malformed line, naming the file, line number and content", () => {
    const err = errorOf(() =>
      parseStrace(
        ["1  brk(NULL) = 0x1000", "1  this is not strace", "1  brk(NULL) = 0x1000"].join("\n"),
        "bad.strace",
      ),
    );
    expect(err.message).toBe('bad.strace:2: not an strace line: "1  this is not strace"');
    expect(err.line).toBe(2);
  });

  it("refuses a truncated log: a last line cut mid-call, and a call left unfinished", () => {
    const cut = errorOf(() =>
      parseStrace("1  brk(NULL) = 0x1000\n1  mmap(NULL, 8192, PROT_READ|PROT", "cut.strace"),
    );
    expect(cut.message).toBe(
      'cut.strace:2: truncated call (no closing parenthesis): "1  mmap(NULL, 8192, PROT_READ|PROT"',
    );
    const noRet = errorOf(() => parseStrace("1  munmap(0x1000, 4096) =", "r.strace"));
    expect(noRet.message).toMatch(/^r\.strace:1: truncated or malformed return value: /);
    const open = errorOf(() =>
      parseStrace(
        "1  brk(NULL) = 0x1000\n2  munmap(0x1000, 4096 <unfinished ...>\n1  brk(NULL) = 0x1000",
        "u.strace",
      ),
    );
    expect(open.message).toBe(
      'u.strace:2: truncated log: this call never resumed and its process never exited: "munmap(0x1000, 4096 <unfinished ...>"',
    );
  });

  it("refuses a resumed line without its start and an unknown errno", () => {
    expect(errorOf(() => parseStrace("5  <... mmap resumed>) = 0x1000")).message).toMatch(
      /^trace:1: "<\.\.\. mmap resumed>" of pid 5 without its "<unfinished \.\.\.>" start/,
    );
    expect(errorOf(() => parseStrace("5  munmap(0x1000, 4096) = -1 EWHAT (What)")).message).toMatch(
      /^trace:1: unknown errno EWHAT/,
    );
  });

  it("refuses a memory call whose arguments do not decode, before anything runs", () => {
    const log = parseStrace(
      "1  mmap(NULL, 4096, PROT_READ|PROT_BOGUS, MAP_PRIVATE, -1, 0) = 0x1000",
    );
    expect(errorOf(() => decodeLog(log, "d.strace")).message).toMatch(
      /^d\.strace:1: mmap: unknown prot "PROT_READ\|PROT_BOGUS"/,
    );
  });

  it("parses every recorded fixture", () => {
    for (const name of ["c-mm", "c-threads", "c-fork", "ls", "cat", "python3", "node"]) {
      const log = parseStrace(fixture(`${name}.strace`), `${name}.strace`);
      const calls = decodeLog(log, name);
      expect(calls.length).toBeGreaterThan(20);
      expect(calls[0]?.op.kind).toBe("execve");
    }
    const node = parseStrace(fixture("node.strace"));
    expect(node.pids.length).toBeGreaterThan(1);
    expect(node.calls.some((c) => c.startLine !== c.line)).toBe(true);
  });
});

describe("argument helpers", () => {
  it("splits at top-level commas only", () => {
    expect(splitArgs('AT_FDCWD</a,b>, "x, y", {a=1, b=[2, 3]}, 4')).toEqual([
      "AT_FDCWD</a,b>",
      '"x, y"',
      "{a=1, b=[2, 3]}",
      "4",
    ]);
    expect(splitArgs("")).toEqual([]);
  });

  it("reads numbers, flags, fds and strings", () => {
    expect(parseNumber("0xffffffffff600000")).toBe(0xffffffffff600000);
    expect(parseNumber("0600")).toBe(0o600);
    expect(parseNumber("-1")).toBe(-1);
    expect(parseNumber("PROT_READ")).toBeNaN();
    expect(parseFlags("PROT_READ|PROT_WRITE", PROT_NAMES)).toBe(3);
    expect(parseFlags("0x3", PROT_NAMES)).toBe(3);
    expect(parseFlags("MAP_FILE|MAP_ANONYMOUS", MAP_NAMES)).toBe(0x20);
    expect(parseFlags("MAP_PRIVATE|0x4000000", MAP_NAMES)).toBe(0x4000002);
    // MAP_HUGETLB with a 2 MiB page size: 21 << MAP_HUGE_SHIFT (26)
    expect(parseFlags("MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT", MAP_NAMES)).toBe(
      (0x2 | 0x20 | 0x40000 | (21 << 26)) >>> 0,
    );
    expect(parseFdArg("3</usr/lib/libc.so.6>")).toEqual({ fd: 3, path: "/usr/lib/libc.so.6" });
    expect(parseFdArg("-1")).toEqual({ fd: -1, path: null });
    expect(parseStringArg('"/etc/ld.so.cache"')).toBe("/etc/ld.so.cache");
    expect(parseStringArg('"a\\"b\\n"...')).toBe('a"b\n');
  });
});
