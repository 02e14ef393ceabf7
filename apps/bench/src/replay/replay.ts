/**
 * The replay engine: a recorded program's memory system calls, in the order the kernel
 * returned them, each run as a task operation in virtual time on the task with the recorded
 * tid, against mm-core; every return value is checked against the recording, and at the end
 * the model's layout against the kernel's /proc/PID/maps.
 *
 *   log ──parseStrace──> calls ──decodeLog──> ops          (all of it first: bad input
 *   maps ──parseMaps──> entries                             changes nothing)
 *        │
 *        ▼  one Sim; per process an MmStruct (threads share it: CLONE_VM)
 *   first execve's process  ← loadLayout(start maps)   (or mm-core's default Process)
 *   clone(CLONE_VM)         → the same mm, a new tid
 *   fork / clone w/o VM     → a new mm loaded from the model's own copy of the parent's layout
 *                             (mm-core has no dup_mmap: VMAs and brk are copied, not pages)
 *   later execve            → the process's new image is unknown: its calls are skipped
 *   openat / close / fstat  → the mm's fd table (path from -y, dev/ino from the maps files)
 *   mmap munmap mprotect mremap brk madvise mlock munlock → a task per call, ret checked
 */

import {
  type KernelGeneration,
  MmStruct,
  mapsEntries,
  munmapStrategy,
  Process,
  sysBrk,
  sysMadvise,
  sysMlock,
  sysMmap,
  sysMprotect,
  sysMremap,
  sysMunlock,
  sysMunmap,
} from "@mmlab/mm-core";
import type { Instruction } from "@mmlab/sched";
import { Sim } from "@mmlab/sched";
import { compareLayouts, type LayoutDiff, type MapsEntry } from "./maps.js";
import { parseStrace, type StraceLog } from "./strace.js";
import { CLONE_THREAD, CLONE_VM, type DecodedCall, decodeLog, type ReplayOp } from "./syscalls.js";

/** The kernel generation whose rules place mappings (mm-core's `generation`). */
export type Generation = KernelGeneration;

export interface ReplayInput {
  /** the strace log's text and its name (for errors) */
  trace: { text: string; name: string };
  /** /proc/PID/maps of the first process right after its execve */
  startMaps?: { entries: MapsEntry[]; name: string };
  /** final /proc/PID/maps per pid (the first process: pid null) */
  expectMaps?: { pid: number | null; entries: MapsEntry[]; name: string }[];
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
  /** the tids that made calls (the pid included) */
  threads: number[];
  /** how its mm came to be */
  origin: "start maps" | "default layout" | "fork copy" | "thread" | "unknown image";
  replayed: number;
  skipped: number;
}

export interface LayoutCheck {
  pid: number;
  file: string;
  entries: number;
  matched: boolean;
  firstDifference: LayoutDiff | null;
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
  summary: ProcessSummary;
  /** fd → what the model installed, to re-install in a fork child */
  fds: Map<number, FileInfo>;
}

interface FileInfo {
  path: string;
  ino: number;
  dev: number;
  size: number;
  readable: boolean;
  writable: boolean;
}

/** Everything parsed and checked before the replay starts. */
export interface ParsedReplay {
  log: StraceLog;
  calls: DecodedCall[];
}

/** Parses and decodes the whole log (throws ReplayInputError naming the line). */
export function parseReplay(input: ReplayInput): ParsedReplay {
  const log = parseStrace(input.trace.text, input.trace.name);
  return { log, calls: decodeLog(log, input.trace.name) };
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

  // The first process: the pid of the first successful execve.
  const calls = parsed.calls;
  const firstExec = calls.findIndex((c) => c.op.kind === "execve" && c.call.ret === 0);
  const firstPid =
    firstExec >= 0 ? (calls[firstExec] as DecodedCall).call.pid : (parsed.log.pids[0] ?? 0);
  const firstBrk = calls.find(
    (c, i) => i > firstExec && c.call.pid === firstPid && c.op.kind === "brk",
  );
  const procs = new Map<number, Proc>(); // by pid (tgid)
  const tgidOf = new Map<number, number>(); // tid → tgid
  /** tids created with CLONE_VM but without CLONE_THREAD (vfork, posix_spawn) */
  const vforkChildren = new Set<number>();
  const order: Proc[] = [];
  const addProc = (pid: number, mm: MmStruct | null, origin: ProcessSummary["origin"]): Proc => {
    const p: Proc = {
      pid,
      mm,
      summary: { pid, threads: [pid], origin, replayed: 0, skipped: 0 },
      fds: new Map(),
    };
    procs.set(pid, p);
    tgidOf.set(pid, pid);
    order.push(p);
    return p;
  };

  let mainMm: MmStruct;
  if (input.startMaps !== undefined) {
    mainMm = new MmStruct(sim, mmOpts);
    const brk =
      firstBrk !== undefined && firstBrk.op.kind === "brk" && firstBrk.op.addr === 0
        ? (firstBrk.call.ret ?? undefined)
        : undefined;
    mainMm.loadLayout(
      input.startMaps.entries,
      brk === undefined || brk < 0 ? {} : { startBrk: brk, brk },
    );
    addProc(firstPid, mainMm, "start maps");
  } else {
    mainMm = new Process(sim, { ...mmOpts, comm: "replay", pid: firstPid }).mm;
    addProc(firstPid, mainMm, "default layout");
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

  const install = (p: Proc, fd: number, info: FileInfo) => {
    p.mm?.installFile(fd, info);
    p.fds.set(fd, info);
  };

  for (let i = 0; i < calls.length; i++) {
    const { call, op } = calls[i] as DecodedCall;
    if (i < firstExec) {
      skip(call.name);
      note("calls before the first execve belong to the tracer's child before exec: skipped");
      continue;
    }
    const tgid = tgidOf.get(call.pid);
    if (tgid === undefined) {
      // A pid the log never saw created (strace -p attached late, or lines lost).
      skip(call.name);
      note(`pid ${call.pid} appears without a clone/fork before it: its calls are skipped`);
      continue;
    }
    const proc = procs.get(tgid) as Proc;
    const mm = proc.mm;
    if (op.kind === "clone") {
      const child = call.ret;
      if (child === null || child <= 0) continue;
      if ((op.flags & CLONE_VM) !== 0) {
        tgidOf.set(child, tgid); // a thread (or vfork child) shares the mm
        proc.summary.threads.push(child);
        // vfork/posix_spawn: the mm is shared only until the child execs
        if ((op.flags & CLONE_THREAD) === 0) vforkChildren.add(child);
      } else {
        let childMm: MmStruct | null = null;
        if (mm !== null) {
          childMm = new MmStruct(sim, mmOpts);
          childMm.loadLayout(mapsEntries(mm), {
            startBrk: mm.startBrk,
            brk: mm.brk,
            startStack: mm.startStack,
          });
          note(
            "fork: mm-core has no dup_mmap(), so a child starts from loadLayout() of the model's copy of its parent's layout (VMAs, brk, the fd table; no pages)",
          );
        }
        const c = addProc(child, childMm, childMm === null ? "unknown image" : "fork copy");
        for (const [fd, info] of proc.fds) install(c, fd, info);
      }
      continue;
    }
    if (op.kind === "execve") {
      if (i !== firstExec && call.ret === 0 && vforkChildren.has(call.pid)) {
        // exec gives a vfork child a new mm of its own; the parent keeps its mm (de_thread()
        // replaces the mm of the whole group only for a CLONE_THREAD member).
        vforkChildren.delete(call.pid);
        const threads = proc.summary.threads;
        threads.splice(threads.indexOf(call.pid), 1);
        tgidOf.set(call.pid, call.pid);
        addProc(call.pid, null, "unknown image");
        note(
          `pid ${call.pid} (a vfork/CLONE_VM child) execs ${op.path} (line ${call.line}): its new image's calls are skipped; its parent's mm is unchanged`,
        );
      } else if (i !== firstExec && call.ret === 0) {
        proc.mm = null;
        proc.summary.origin = "unknown image";
        note(
          `pid ${call.pid} execs ${op.path} (line ${call.line}): the new image's layout is not recorded, its later calls are skipped`,
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
        });
      }
      continue;
    }
    if (op.kind === "dup") {
      fdCalls++;
      const info = proc.fds.get(op.fd);
      if (call.ret !== null && call.ret >= 0 && info !== undefined) {
        // dup2() onto an open fd closes it first; both names then share one open file.
        if (proc.fds.has(call.ret)) mm?.closeFd(call.ret);
        mm?.dupFd(op.fd, call.ret);
        proc.fds.set(call.ret, info);
      }
      continue;
    }
    if (op.kind === "close") {
      fdCalls++;
      if (call.ret === 0) {
        mm?.closeFd(op.fd);
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
      // inherited from before the recording, or a dup the log does not show).
      const known = proc.fds.get(op.fd);
      if (known === undefined || known.path !== op.path) {
        install(proc, op.fd, {
          path: op.path,
          ...identityOf(op.path),
          size: sizeOf(op.path),
          readable: true,
          writable: false,
        });
        note(
          `fd ${op.fd} was not opened in the log (first at line ${call.line}): installed read-only from its -y path`,
        );
      }
    }
    const expected = call.ret;
    const callAt = sim.now;
    const task = sim.spawn(`${call.name}`, () => runOp(mm, op), { pid: call.pid });
    try {
      sim.run();
    } catch (err) {
      // mm-core refused the call (a path it does not model): the task died inside it,
      // maybe holding mmap_sem, so nothing after it can run.
      modelError = {
        line: call.line,
        pid: call.pid,
        call: call.text,
        message: err instanceof Error ? err.message : String(err),
      };
      break;
    }
    const actual = task.result as number;
    replayed++;
    proc.summary.replayed++;
    if (!proc.summary.threads.includes(call.pid)) proc.summary.threads.push(call.pid);
    timings.push(timingOf(mm, call.pid, call.line, call.name, callAt, sim.now));
    if (actual === expected) {
      matched++;
    } else {
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
    }
  }

  const layouts: LayoutCheck[] = [];
  for (const m of modelError === null ? (input.expectMaps ?? []) : []) {
    const pid = m.pid ?? firstPid;
    const p = procs.get(pid);
    if (p === undefined || p.mm === null) {
      throw new Error(
        `mmlab-bench: ${m.name}: pid ${pid} has no modelled mm in the log (pids: ${[...procs.keys()].join(", ")})`,
      );
    }
    const diff = compareLayouts(m.entries, mapsEntries(p.mm));
    layouts.push({
      pid,
      file: m.name,
      entries: m.entries.length,
      matched: diff === null,
      firstDifference: diff,
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
    virtualNs: sim.now,
    timings,
  };
}

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
