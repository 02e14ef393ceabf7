/**
 * The replay engine: a recorded program's memory system calls, in the order the kernel
 * returned them, each run as a task operation in virtual time on the task with the recorded
 * tid, against mm-core; every return value is checked against the recording, and at the end
 * the model's layout of each process against the kernel's /proc/PID/maps.
 *
 *   log ──parseStrace──> calls ──decodeLog──> ops          (all of it first: bad input
 *   maps ──parseMaps──> entries                             changes nothing)
 *        │
 *        ▼  one Sim; per process an MmStruct (threads share it: CLONE_VM|CLONE_THREAD)
 *   first execve's process  ← loadLayout(start maps)   (or mm-core's default Process)
 *   clone(CLONE_VM|THREAD)  → the same mm, a new tid
 *   vfork / CLONE_VM alone  → a process of its own that shares the parent's mm until it execs
 *   fork / clone w/o VM     → a new mm: sysFork() (dup_mm / dup_mmap) of the parent's, as a
 *                             task of the forking tid; the child's calls are checked as its
 *                             parent's are
 *   later execve            → the layout of --maps PID=FILE (its maps right after execve),
 *                             else an unknown image whose calls are skipped; the old mm,
 *                             unless a vfork parent's, goes through exitMmap()
 *   openat / close / dup    → the process's fd table (path from -y, dev/ino from the maps
 *                             files; an fd the log never opened: mode inferred, open-mode.ts)
 *   mmap munmap mprotect mremap brk madvise mlock munlock → a task per call, ret checked
 *
 * strace prints a call where it returns, so a child's first lines can come before its
 * parent's `<... vfork resumed> = PID`: parseReplay() moves each clone up to just before
 * its child's first line (the child exists from then on; its parent is inside the clone).
 */

import {
  exitMmap,
  FileRegistry,
  type KernelGeneration,
  MmStruct,
  mapsEntries,
  munmapStrategy,
  Process,
  sysBrk,
  sysFork,
  sysMadvise,
  sysMlock,
  sysMmap,
  sysMprotect,
  sysMremap,
  sysMunlock,
  sysMunmap,
} from "@mmlab/mm-core";
import { PhysMem } from "@mmlab/page-table";
import type { Instruction } from "@mmlab/sched";
import { Sim } from "@mmlab/sched";
import { UsageError } from "../params.js";
import { compareLayouts, type LayoutDiff, type MapsEntry } from "./maps.js";
import { inferOpenMode } from "./open-mode.js";
import { parseStrace, type StraceLog } from "./strace.js";
import { CLONE_THREAD, CLONE_VM, type DecodedCall, decodeLog, type ReplayOp } from "./syscalls.js";

/** The kernel generation whose rules place mappings (mm-core's `generation`). */
export type Generation = KernelGeneration;

/** A maps file: its parsed lines and its name (for messages). */
export interface MapsInput {
  entries: MapsEntry[];
  name: string;
}

export interface ReplayInput {
  /** the strace log's text and its name (for errors) */
  trace: { text: string; name: string };
  /** /proc/PID/maps of the first process right after its execve (`--maps FILE`) */
  startMaps?: MapsInput;
  /**
   * /proc/PID/maps of a process right after a successful execve in the log (`--maps
   * PID=FILE`): its calls after that execve run on this layout. Given several times for one
   * pid, they are its successive execves; the first process's first one is `startMaps` (if
   * given), so its PID=FILE maps are the images it execs next (env, a shell's exec).
   */
  execMaps?: (MapsInput & { pid: number })[];
  /** final /proc/PID/maps per pid (the first process: pid null) */
  expectMaps?: (MapsInput & { pid: number | null })[];
}

export interface ReplayOptions {
  generation?: Generation;
  /** sysctl vm.mmap_min_addr of the recording machine */
  mmapMinAddr?: number;
  /** munmap strategy (default classic) */
  strategy?: string;
  /** how many mismatches to keep in the result (all are counted) */
  keepMismatches?: number;
}

/** One return value that differs from the recording. */
export interface Mismatch {
  line: number;
  pid: number;
  call: string;
  expected: number;
  actual: number;
  /** expected/actual as strace prints them (0x... or -ENOMEM) */
  expectedText: string;
  actualText: string;
}

export interface ModelError {
  line: number;
  pid: number;
  call: string;
  message: string;
}

export interface ProcessSummary {
  pid: number;
  /** the process that created it (null: the first process) */
  parent: number | null;
  /** the tids that made calls (the pid included) */
  threads: number[];
  /**
   * how its current mm came to be: the first process's start maps (or mm-core's default
   * layout), dup_mmap() of its parent's (fork), its parent's shared with it (vfork / CLONE_VM
   * without CLONE_THREAD, until it execs), the maps given for it after its execve, or an
   * unknown image (it exec'd and no maps were given: its later calls are skipped)
   */
  origin: "start maps" | "default layout" | "fork" | "shared" | "exec maps" | "unknown image";
  /** the maps file its current image was loaded from, if any */
  maps: string | null;
  replayed: number;
  skipped: number;
}

export interface LayoutCheck {
  pid: number;
  file: string;
  entries: number;
  /** false when the model has no layout for the pid (an exec'd image without --maps) */
  compared: boolean;
  matched: boolean;
  firstDifference: LayoutDiff | null;
  /** why it was not compared */
  reason: string | null;
}

/** Per call: what the lock did (virtual ns). */
export interface CallTiming {
  line: number;
  pid: number;
  name: string;
  latencyNs: number;
  /** mmap_sem held exclusively by this call (up to a downgrade) */
  exclusiveNs: number;
  /** mmap_sem held shared by this call (after a downgrade, or a read-lock path) */
  sharedNs: number;
}

export interface ReplayResult {
  strategy: string;
  generation: Generation;
  /** calls in the log (merged unfinished/resumed pairs count once) */
  callsInLog: number;
  /** memory calls run against the model */
  replayed: number;
  matched: number;
  mismatched: number;
  firstMismatch: Mismatch | null;
  mismatches: Mismatch[];
  /** mm-core threw on a call (a path it does not model): the replay stopped there */
  modelError: ModelError | null;
  /** fd-table calls applied (openat, close) */
  fdCalls: number;
  /** memory calls not replayed, by name */
  skipped: Record<string, number>;
  /** why calls were skipped or approximated */
  notes: string[];
  processes: ProcessSummary[];
  layouts: LayoutCheck[];
  /** processes whose final layout was compared, and how many of them matched */
  layoutsCompared: number;
  layoutsMatched: number;
  /** virtual time the replay took (ns) */
  virtualNs: number;
  timings: CallTiming[];
}

/** The ops run against the model; `other` calls (and the rest) are not. */
const REPLAYED = new Set<ReplayOp["kind"]>([
  "mmap",
  "munmap",
  "mprotect",
  "mremap",
  "brk",
  "madvise",
  "mlock",
  "munlock",
]);

/** Memory calls strace's %memory class has that mm-core does not model. */
const UNMODELLED_MEMORY = new Set([
  "mlock2",
  "mlockall",
  "munlockall",
  "mseal",
  "pkey_mprotect",
  "remap_file_pages",
  "mbind",
  "process_madvise",
  "process_mrelease",
  "map_shadow_stack",
]);

interface Proc {
  pid: number;
  mm: MmStruct | null;
  /** a vfork / CLONE_VM child until it execs: its parent's mm, its own fd table */
  sharesMm: boolean;
  summary: ProcessSummary;
  /** fd → what the model installed, to re-install in a fork child or a new image */
  fds: Map<number, FileInfo>;
  /** how many of its --maps PID=FILE images it has taken (one per successful execve) */
  images: number;
}

interface FileInfo {
  path: string;
  ino: number;
  dev: number;
  size: number;
  readable: boolean;
  writable: boolean;
  /** FD_CLOEXEC: execve closes it */
  cloexec: boolean;
}

/** A clone the replay moved up to its child's first line (strace printed the child first). */
export interface MovedClone {
  /** the line where the clone returned in the parent (`<... vfork resumed>`) */
  line: number;
  parent: number;
  child: number;
  name: string;
  /** the child's first line, which came before it */
  childLine: number;
}

/** Everything parsed and checked before the replay starts. */
export interface ParsedReplay {
  log: StraceLog;
  /** the calls in the order they are replayed (clones moved up to their child's first line) */
  calls: DecodedCall[];
  movedClones: MovedClone[];
  /** index in `calls` of the first successful execve (-1: none) and its pid */
  firstExec: number;
  firstPid: number;
}

/**
 * Parses and decodes the whole log (throws ReplayInputError naming the line) and checks the
 * pids the maps files are given for against it (UsageError): nothing runs on bad input.
 */
export function parseReplay(input: ReplayInput): ParsedReplay {
  const log = parseStrace(input.trace.text, input.trace.name);
  const { calls, moved } = attributeChildren(decodeLog(log, input.trace.name));
  const firstExec = calls.findIndex((c) => c.op.kind === "execve" && c.call.ret === 0);
  const firstPid = firstExec >= 0 ? (calls[firstExec] as DecodedCall).call.pid : (log.pids[0] ?? 0);
  checkPids(input, log, calls, firstExec, firstPid);
  return { log, calls, movedClones: moved, firstExec, firstPid };
}

/**
 * strace prints each call where it returns, so a child can print lines before its parent's
 * clone returns (`vfork( <unfinished ...>`, the child's execve lines, `<... vfork resumed>) =
 * PID`). The child exists from its first line on: each clone is moved up to just before it.
 */
function attributeChildren(calls: DecodedCall[]): { calls: DecodedCall[]; moved: MovedClone[] } {
  const out = calls.slice();
  const moved: MovedClone[] = [];
  for (const c of calls) {
    const child = c.call.ret;
    if (c.op.kind !== "clone" || child === null || child <= 0) continue;
    const at = out.indexOf(c);
    // the child's first call, started after the clone did (an earlier process may have had
    // the same pid)
    const first = out.findIndex((d) => d.call.pid === child && d.call.startLine > c.call.startLine);
    if (first < 0 || first > at) continue;
    const f = out[first] as DecodedCall;
    out.splice(at, 1);
    out.splice(first, 0, c);
    moved.push({
      line: c.call.line,
      parent: c.call.pid,
      child,
      name: c.call.name,
      childLine: f.call.startLine,
    });
  }
  return { calls: out, moved };
}

/** The pids of --maps PID=FILE and --expect-maps PID=FILE must be processes of the log. */
function checkPids(
  input: ReplayInput,
  log: StraceLog,
  calls: readonly DecodedCall[],
  firstExec: number,
  firstPid: number,
): void {
  const trace = input.trace.name;
  const execs = new Map<number, number>(); // successful execves per pid, the first one aside
  calls.forEach((c, i) => {
    if (c.op.kind === "execve" && c.call.ret === 0 && i !== firstExec) {
      execs.set(c.call.pid, (execs.get(c.call.pid) ?? 0) + 1);
    }
  });
  // a pid no clone creates (the first process, or one of a log without clone lines) can be
  // given its layout at its first line, too
  const created = new Set(calls.filter((c) => c.op.kind === "clone").map((c) => c.call.ret));
  const given = new Map<number, number>();
  for (const m of input.execMaps ?? []) {
    const n = (given.get(m.pid) ?? 0) + 1;
    given.set(m.pid, n);
    const first =
      m.pid === firstPid
        ? input.startMaps === undefined
        : log.pids.includes(m.pid) && !created.has(m.pid);
    const room = (execs.get(m.pid) ?? 0) + (first ? 1 : 0);
    if (n > room) {
      const images =
        m.pid !== firstPid
          ? `its successful execves${first ? " and its first line (no clone creates it)" : ""}`
          : input.startMaps === undefined
            ? "its first image and its later successful execves"
            : `its successful execves after the first (--maps ${input.startMaps.name})`;
      throw new UsageError(
        `--maps ${m.pid}=${m.name}: ${n} maps file${n === 1 ? "" : "s"} for pid ${m.pid}, which has ${room === 0 ? "no" : room} image${room === 1 ? "" : "s"} in ${trace} to start (${images}; one maps file per image, in order)`,
      );
    }
  }
  const expected = new Map<number, string>();
  for (const m of input.expectMaps ?? []) {
    const pid = m.pid ?? firstPid;
    const other = expected.get(pid);
    if (other !== undefined) {
      throw new UsageError(`--expect-maps: pid ${pid} is given twice (${other} and ${m.name})`);
    }
    expected.set(pid, m.name);
    if (!log.pids.includes(pid)) {
      throw new UsageError(
        `--expect-maps ${pid}=${m.name}: pid ${pid} is not in ${trace} (pids: ${log.pids.join(", ")})`,
      );
    }
  }
}

function retText(v: number): string {
  if (v < 0) return `-${errnoText(-v)}`;
  return `0x${v.toString(16)}`;
}

function errnoText(n: number): string {
  const names: Record<number, string> = {
    1: "EPERM",
    9: "EBADF",
    11: "EAGAIN",
    12: "ENOMEM",
    13: "EACCES",
    14: "EFAULT",
    16: "EBUSY",
    17: "EEXIST",
    19: "ENODEV",
    22: "EINVAL",
    26: "ETXTBSY",
    75: "EOVERFLOW",
    95: "EOPNOTSUPP",
  };
  return names[n] ?? `E${n}`;
}

/** Replays a parsed recording once, under one munmap strategy. */
export function runReplay(
  input: ReplayInput,
  parsed: ParsedReplay,
  opts: ReplayOptions = {},
): ReplayResult {
  const generation = opts.generation ?? "v6.8";
  const strategy = munmapStrategy(opts.strategy ?? "classic").name;
  const keep = opts.keepMismatches ?? 20;
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const mmOpts = {
    generation,
    munmap: strategy,
    // one system: the processes share the inodes and the frames (fork shares pages)
    files: new FileRegistry(),
    phys: new PhysMem(),
    ...(opts.mmapMinAddr === undefined ? {} : { mmapMinAddr: opts.mmapMinAddr }),
  };
  const notes: string[] = [];
  const noteOnce = new Set<string>();
  const note = (s: string) => {
    if (!noteOnce.has(s)) {
      noteOnce.add(s);
      notes.push(s);
    }
  };
  const skipped: Record<string, number> = {};
  const skip = (name: string) => {
    skipped[name] = (skipped[name] ?? 0) + 1;
  };

  // Identities of the files the maps files show: path → (dev, ino).
  const identity = new Map<string, { dev: number; ino: number }>();
  const allMaps = [
    ...(input.startMaps === undefined ? [] : [input.startMaps.entries]),
    ...(input.execMaps ?? []).map((m) => m.entries),
    ...(input.expectMaps ?? []).map((m) => m.entries),
  ];
  for (const entries of allMaps) {
    for (const e of entries) {
      if (e.inode !== 0 && e.path.startsWith("/") && !identity.has(e.path)) {
        identity.set(e.path, { dev: e.dev, ino: e.inode });
      }
    }
  }
  let nextIno = 1_000_000_000;
  const identityOf = (path: string) => {
    let id = identity.get(path);
    if (id === undefined) {
      id = { dev: 0, ino: nextIno++ };
      identity.set(path, id);
    }
    return id;
  };
  // File sizes: fstat's st_size when the log has one, else the furthest byte mapped.
  const sizes = new Map<string, number>();
  const mappedEnd = new Map<string, number>();
  for (const { op } of parsed.calls) {
    if (op.kind === "stat" && op.path !== null) sizes.set(op.path, op.size);
    if (op.kind === "mmap" && op.path !== null) {
      const end = op.off + Math.ceil(op.len / 4096) * 4096;
      mappedEnd.set(op.path, Math.max(mappedEnd.get(op.path) ?? 0, end));
    }
  }
  const sizeOf = (path: string) => sizes.get(path) ?? mappedEnd.get(path) ?? 0;

  const { calls, firstExec, firstPid } = parsed;
  for (const m of parsed.movedClones) {
    note(
      `pid ${m.child}'s first line (${m.childLine}) comes before its parent's ${m.name} returned it (line ${m.line}): the ${m.name} is replayed just before it`,
    );
  }
  /**
   * A process's layout right after an execve at index `at`; start_brk from its first brk when
   * that is ld.so's brk(NULL) (it reads the break exec set).
   */
  const loadImage = (pid: number, at: number, entries: readonly MapsEntry[]): MmStruct => {
    const mm = new MmStruct(sim, mmOpts);
    const b = calls.find((c, i) => i > at && c.call.pid === pid && c.op.kind === "brk");
    const brk = b?.op.kind === "brk" && b.op.addr === 0 ? (b.call.ret ?? -1) : -1;
    mm.loadLayout(entries, brk < 0 ? {} : { startBrk: brk, brk });
    return mm;
  };
  /** per pid, the images of its successive execves (--maps PID=FILE, in the given order) */
  const images = new Map<number, MapsInput[]>();
  for (const m of input.execMaps ?? []) images.set(m.pid, [...(images.get(m.pid) ?? []), m]);

  const procs = new Map<number, Proc>(); // by pid (tgid)
  const tgidOf = new Map<number, number>(); // tid → tgid
  const order: Proc[] = [];
  const addProc = (
    pid: number,
    parent: number | null,
    mm: MmStruct | null,
    origin: ProcessSummary["origin"],
    maps: string | null = null,
  ): Proc => {
    const p: Proc = {
      pid,
      mm,
      sharesMm: false,
      summary: { pid, parent, threads: [pid], origin, maps, replayed: 0, skipped: 0 },
      fds: new Map(),
      images: 0,
    };
    procs.set(pid, p);
    tgidOf.set(pid, pid);
    order.push(p);
    return p;
  };

  const start = input.startMaps ?? images.get(firstPid)?.[0];
  if (start !== undefined) {
    const p = addProc(
      firstPid,
      null,
      loadImage(firstPid, firstExec, start.entries),
      "start maps",
      start.name,
    );
    if (input.startMaps === undefined) p.images = 1;
  } else {
    const mm = new Process(sim, { ...mmOpts, comm: "replay", pid: firstPid }).mm;
    addProc(firstPid, null, mm, "default layout");
    note(
      "no --maps: the replay starts from mm-core's default process layout (a 132 KiB stack, the break at 0x555555559000), not the program's; pass the maps the program had right after execve",
    );
  }

  const mismatches: Mismatch[] = [];
  let mismatched = 0;
  let matched = 0;
  let replayed = 0;
  let fdCalls = 0;
  let modelError: ModelError | null = null;
  const timings: CallTiming[] = [];
  /** fds mapped without an open in the log whose mode no recorded result decides */
  const undecidedFds: number[] = [];

  // Lines without a pid (strace without -f, or the first process of strace -f writing to a
  // terminal) are pid 0 in the log; their task gets a pid no line has.
  const unknownPid = Math.max(0, ...parsed.log.pids) + 1;
  const taskPid = (pid: number) => (pid > 0 ? pid : unknownPid);
  if (parsed.log.pids.includes(0)) {
    note(
      "lines without a pid (strace without -f, or the first process of strace -f writing to a terminal) are pid 0",
    );
  }
  /**
   * Runs `body` as a task of tid `pid` until the simulation is idle, with its mmap_sem holds
   * timed; null when mm-core threw (a path it does not model: the task died inside it, maybe
   * holding mmap_sem, so nothing after it can run).
   */
  const runTask = (
    pid: number,
    name: string,
    mm: MmStruct,
    body: () => Generator<Instruction, unknown, unknown>,
  ): { result: unknown } | null => {
    const { call } = calls[i] as DecodedCall;
    const callAt = sim.now;
    const task = sim.spawn(name, body, { pid: taskPid(pid) });
    try {
      sim.run();
    } catch (err) {
      modelError = {
        line: call.line,
        pid,
        call: call.text,
        message: err instanceof Error ? err.message : String(err),
      };
      return null;
    }
    const t = timingOf(mm, taskPid(pid), call.line, name, callAt, sim.now);
    timings.push({ ...t, pid });
    return { result: task.result };
  };
  /** One replayed call: the kernel's return value against the model's. */
  const check = (call: DecodedCall["call"], proc: Proc, expected: number, actual: number) => {
    replayed++;
    proc.summary.replayed++;
    if (!proc.summary.threads.includes(call.pid)) proc.summary.threads.push(call.pid);
    if (actual === expected) {
      matched++;
      return;
    }
    mismatched++;
    if (mismatches.length < keep) {
      mismatches.push({
        line: call.line,
        pid: call.pid,
        call: call.text,
        expected,
        actual,
        expectedText: retText(expected),
        actualText: retText(actual),
      });
    }
  };

  // A process sharing its parent's mm (vfork) keeps its fd changes to itself: mm-core's fd
  // table belongs to the mm, and the parent's must stay as it was.
  const fdsSeen = new Set<number>();
  const install = (p: Proc, fd: number, info: FileInfo) => {
    if (!p.sharesMm) p.mm?.installFile(fd, info);
    p.fds.set(fd, info);
    fdsSeen.add(fd);
  };
  /**
   * The fd table of a new image: the same open files as before the execve (a fork child's
   * are its parent's, dup_fd(); a vfork child's its parent's at the clone), less the ones the
   * process closed and the FD_CLOEXEC ones; a name the process re-pointed is installed anew.
   */
  const carryFds = (to: MmStruct, from: MmStruct | null, fds: Map<number, FileInfo>) => {
    if (from !== null) to.fdTable.copyFrom(from.fdTable);
    for (const fd of fdsSeen) {
      const info = fds.get(fd);
      const f = to.fileOf(fd);
      if (info === undefined) {
        if (f !== null) to.closeFd(fd);
      } else if (f === null || f.path !== info.path) {
        to.installFile(fd, info);
      }
    }
  };

  let i = 0;
  for (; i < calls.length; i++) {
    const { call, op } = calls[i] as DecodedCall;
    if (i < firstExec) {
      skip(call.name);
      note("calls before the first execve belong to the tracer's child before exec: skipped");
      continue;
    }
    let tgid = tgidOf.get(call.pid);
    const orphanImage = tgid === undefined ? images.get(call.pid)?.[0] : undefined;
    if (orphanImage !== undefined) {
      // A pid the log never saw created (a log with the memory calls only, -e trace=%memory,
      // has no clone or execve lines) whose layout is given: it starts there.
      addProc(
        call.pid,
        null,
        loadImage(call.pid, i - 1, orphanImage.entries),
        "exec maps",
        orphanImage.name,
      ).images = 1;
      tgid = call.pid;
      note(
        `pid ${call.pid} appears without a clone/fork before it: replayed from its first line (${call.startLine}) on ${orphanImage.name}`,
      );
    }
    if (tgid === undefined) {
      // A pid the log never saw created (strace -p attached late, or lines lost).
      skip(call.name);
      note(
        `pid ${call.pid} appears without a clone/fork before it: its calls are skipped (give its layout at its first line with --maps ${call.pid}=FILE)`,
      );
      continue;
    }
    const proc = procs.get(tgid) as Proc;
    const mm = proc.mm;
    if (op.kind === "clone") {
      const child = call.ret;
      if (child === null || child <= 0) continue;
      if ((op.flags & CLONE_VM) !== 0 && (op.flags & CLONE_THREAD) !== 0) {
        tgidOf.set(child, tgid); // a thread shares the mm and the fd table
        proc.summary.threads.push(child);
      } else if ((op.flags & CLONE_VM) !== 0) {
        // vfork / posix_spawn: the mm is shared only until the child execs
        const c = addProc(child, proc.pid, mm, "shared", proc.summary.maps);
        c.sharesMm = true;
        c.fds = new Map(proc.fds);
      } else if (mm === null) {
        addProc(child, proc.pid, null, "unknown image").fds = new Map(proc.fds);
      } else {
        // copy_mm() without CLONE_VM: dup_mm() copies the fd table too (the same open files)
        const forked = runTask(call.pid, call.name, mm, () => sysFork(mm));
        if (forked === null) break;
        const childMm = forked.result instanceof MmStruct ? forked.result : null;
        check(call, proc, child, childMm === null ? (forked.result as number) : child);
        const c = addProc(child, proc.pid, childMm, childMm === null ? "unknown image" : "fork");
        c.fds = new Map(proc.fds);
        note(
          `${call.name}: the child's mm is mm-core's dup_mmap() of its parent's (sysFork(), a task of the forking tid; counted as a replayed call that matches when the model, like the kernel, creates the child)`,
        );
      }
      continue;
    }
    if (op.kind === "execve") {
      if (i !== firstExec && call.ret === 0) {
        // exec gives the process a new mm (exec_mmap()); a vfork parent keeps its own, and
        // the fds without FD_CLOEXEC stay open in the new image.
        const old = proc.mm;
        if (old !== null && !order.some((p) => p !== proc && p.mm === old)) {
          // exec_mmap() -> mmput(): the process was its old mm's last user (not so for a
          // vfork child, nor for a parent whose CLONE_VM child still runs on it)
          if (runTask(call.pid, "exit_mmap", old, () => exitMmap(old)) === null) break;
        }
        const given = images.get(proc.pid)?.[proc.images];
        const newMm = given === undefined ? null : loadImage(call.pid, i, given.entries);
        if (given !== undefined) proc.images++;
        proc.mm = newMm;
        proc.sharesMm = false;
        proc.summary.origin = newMm === null ? "unknown image" : "exec maps";
        proc.summary.maps = given?.name ?? null;
        for (const [fd, info] of [...proc.fds]) if (info.cloexec) proc.fds.delete(fd);
        if (newMm !== null) carryFds(newMm, old, proc.fds);
        note(
          newMm === null
            ? `pid ${call.pid} execs ${op.path} (line ${call.line}): its new image's layout is not given (--maps ${call.pid}=FILE), its later calls are skipped`
            : `pid ${call.pid} execs ${op.path} (line ${call.line}): its later calls run on ${given?.name}`,
        );
      }
      continue;
    }
    if (op.kind === "open") {
      fdCalls++;
      if (call.ret !== null && call.ret >= 0 && call.retPath !== null) {
        const acc = op.flags & 3;
        install(proc, call.ret, {
          path: call.retPath,
          ...identityOf(call.retPath),
          size: sizeOf(call.retPath),
          readable: acc === 0 || acc === 2,
          writable: acc === 1 || acc === 2,
          cloexec: (op.flags & O_CLOEXEC) !== 0,
        });
      }
      continue;
    }
    if (op.kind === "dup") {
      fdCalls++;
      const info = proc.fds.get(op.fd);
      if (call.ret !== null && call.ret >= 0 && info !== undefined) {
        // dup2() onto an open fd closes it first; both names then share one open file.
        if (!proc.sharesMm) {
          if (proc.fds.has(call.ret)) mm?.closeFd(call.ret);
          mm?.dupFd(op.fd, call.ret);
        }
        proc.fds.set(call.ret, { ...info, cloexec: op.cloexec });
        fdsSeen.add(call.ret);
      }
      continue;
    }
    if (op.kind === "setfd") {
      const info = proc.fds.get(op.fd);
      if (call.ret === 0 && info !== undefined)
        proc.fds.set(op.fd, { ...info, cloexec: op.cloexec });
      continue;
    }
    if (op.kind === "close") {
      fdCalls++;
      if (call.ret === 0) {
        if (!proc.sharesMm) mm?.closeFd(op.fd);
        proc.fds.delete(op.fd);
      }
      continue;
    }
    if (op.kind === "stat" || op.kind === "exit_group") continue;
    if (op.kind === "other") {
      if (UNMODELLED_MEMORY.has(call.name)) {
        skip(call.name);
        proc.summary.skipped++;
        note(`${call.name} is not modelled by mm-core: not replayed`);
      }
      continue;
    }
    if (!REPLAYED.has(op.kind)) continue;
    if (mm === null) {
      skip(call.name);
      proc.summary.skipped++;
      continue;
    }
    if (call.ret === null) {
      skip(call.name);
      proc.summary.skipped++;
      note("a call that never returned (its process exited inside it) is not replayed");
      continue;
    }
    if (op.kind === "mmap" && op.path !== null && op.fd >= 0) {
      // -y names the file behind the fd; install it if the table disagrees (an fd
      // inherited from before the recording, a log without open() lines, or a dup the log
      // does not show), in the mode the recorded results imply.
      const known = proc.fds.get(op.fd);
      if (known === undefined || known.path !== op.path) {
        const m = inferOpenMode(calls, i, op.fd, op.path, (pid) => tgidOf.get(pid) === tgid);
        install(proc, op.fd, {
          path: op.path,
          ...identityOf(op.path),
          size: sizeOf(op.path),
          readable: m.readable,
          writable: m.writable,
          cloexec: false,
        });
        if (m.line === null) undecidedFds.push(call.line);
        else {
          note(
            `fd ${op.fd} (${op.path}) was not opened in the log (first mapped at line ${call.line}): installed ${m.readable ? (m.writable ? "read-write" : "read-only") : "write-only"}, inferred from the recorded results (line ${m.line}: ${m.reason})`,
          );
        }
      }
    }
    const ran = runTask(call.pid, call.name, mm, () => runOp(mm, op));
    if (ran === null) break;
    check(call, proc, call.ret, ran.result as number);
  }
  if (undecidedFds.length > 0) {
    note(
      `${undecidedFds.length} mapping${undecidedFds.length === 1 ? "" : "s"} of fds the log never opened (first at line ${undecidedFds[0]}): installed read-only from their -y paths, as no recorded result depends on their open mode`,
    );
  }

  const layouts: LayoutCheck[] = [];
  for (const m of modelError === null ? (input.expectMaps ?? []) : []) {
    const pid = m.pid ?? firstPid;
    const p = procs.get(pid);
    if (p === undefined || p.mm === null) {
      layouts.push({
        pid,
        file: m.name,
        entries: m.entries.length,
        compared: false,
        matched: false,
        firstDifference: null,
        reason:
          p === undefined
            ? `pid ${pid} has no process in the replay (its calls were skipped)`
            : `pid ${pid} exec'd an image whose layout is not given (--maps ${pid}=FILE)`,
      });
      continue;
    }
    const diff = compareLayouts(m.entries, mapsEntries(p.mm));
    layouts.push({
      pid,
      file: m.name,
      entries: m.entries.length,
      compared: true,
      matched: diff === null,
      firstDifference: diff,
      reason: null,
    });
  }

  return {
    strategy,
    generation,
    callsInLog: calls.length,
    replayed,
    matched,
    mismatched,
    firstMismatch: mismatches[0] ?? null,
    mismatches,
    modelError,
    fdCalls,
    skipped,
    notes,
    processes: order.map((p) => p.summary),
    layouts,
    layoutsCompared: layouts.filter((l) => l.compared).length,
    layoutsMatched: layouts.filter((l) => l.matched).length,
    virtualNs: sim.now,
    timings,
  };
}

/** include/uapi/asm-generic/fcntl.h. */
const O_CLOEXEC = 0o2000000;

type Op = Generator<Instruction, number, unknown>;
/** One memory call as the body of a task. */
function* runOp(mm: MmStruct, op: ReplayOp): Op {
  switch (op.kind) {
    case "mmap":
      return yield* sysMmap(mm, op.addr, op.len, op.prot, op.flags, op.fd, op.off);
    case "munmap":
      return yield* sysMunmap(mm, op.addr, op.len);
    case "mprotect":
      return yield* sysMprotect(mm, op.addr, op.len, op.prot);
    case "mremap":
      return yield* sysMremap(mm, op.addr, op.oldLen, op.newLen, op.flags, op.newAddr);
    case "brk":
      return yield* sysBrk(mm, op.addr);
    case "mlock":
      return yield* sysMlock(mm, op.addr, op.len);
    case "munlock":
      return yield* sysMunlock(mm, op.addr, op.len);
    case "madvise":
      return yield* sysMadvise(mm, op.addr, op.len, op.advice);
    default:
      break;
  }
  throw new Error(`mmlab-bench: replay: ${op.kind} is not a replayed call`);
}

/** The call's own mmap_sem holds, read off the lock's history within [callAt, returnAt]. */
function timingOf(
  mm: MmStruct,
  pid: number,
  line: number,
  name: string,
  callAt: number,
  returnAt: number,
): CallTiming {
  let exclusiveNs = 0;
  let sharedNs = 0;
  const h = mm.mmapSem.history;
  for (let i = h.length - 1; i >= 0; i--) {
    const r = h[i];
    if (r === undefined || r.requestedAt < callAt) break;
    if (r.pid !== pid) continue;
    const end = Number.isNaN(r.releasedAt) ? returnAt : r.releasedAt;
    if (r.mode === "write") {
      const ex = Number.isNaN(r.downgradedAt) ? end : r.downgradedAt;
      exclusiveNs += ex - r.acquiredAt;
      sharedNs += end - ex;
    } else {
      sharedNs += end - r.acquiredAt;
    }
  }
  return { line, pid, name, latencyNs: returnAt - callAt, exclusiveNs, sharedNs };
}
