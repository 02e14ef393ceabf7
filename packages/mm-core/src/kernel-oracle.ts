/**
 * Test helper (not exported): replays a single-process `strace -f -y` log of memory calls
 * through mm-core and compares every return value and the final /proc/PID/maps with what
 * Linux did. The full importer (threads, unfinished/resumed pairs, fork) is apps/bench's
 * `mmlab-bench replay`; this small one only reads complete lines, which is all a
 * single-threaded recording has, so that mm-core's own tests can use the kernel as oracle.
 */
import { Sim } from "@mmlab/sched";
import { sysBrk } from "./brk.js";
import type { Op } from "./charge.js";
import { errnoName } from "./errno.js";
import { madviseNameValue, sysMadvise as sysMadviseOf } from "./madvise.js";
import { type KernelGeneration, MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { MREMAP_FIXED, MREMAP_MAYMOVE, sysMremap } from "./mremap.js";
import { sysMunmap } from "./sys-munmap.js";
import { type MapsEntry, parseProcPidMaps, procPidMaps } from "./task-mmu.js";
import * as uapi from "./uapi.js";
import { validateMm } from "./validate.js";

export interface OracleResult {
  calls: number;
  /** One line per return value that differs: "line N: call = model (kernel: recorded)". */
  mismatches: string[];
  model: string;
  kernel: string;
}

const ERRNO: Record<string, number> = {
  EPERM: 1,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EEXIST: 17,
  EINVAL: 22,
  EOVERFLOW: 75,
};

const NAMED: Record<string, number> = {
  ...(uapi as unknown as Record<string, number>),
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MAP_FILE: 0,
};

/** Splits an argument list at top-level commas. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (quoted) {
      cur += c;
      if (c === "\\") cur += s[++i] ?? "";
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === "(" || c === "[" || c === "{" || c === "<") depth++;
    else if (c === ")" || c === "]" || c === "}" || c === ">") depth--;
    if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out;
}

function num(arg: string): number {
  const a = arg.replace(/\s*\/\*.*\*\/\s*/, "").trim();
  if (a === "NULL") return 0;
  return a.startsWith("0x") ? Number.parseInt(a, 16) : Number(a);
}

function flags(arg: string): number {
  let v = 0;
  for (const part of arg.split("|")) {
    const p = part.trim();
    const named = NAMED[p] ?? madviseNameValue(p);
    if (named !== undefined) v |= named;
    else if (/^(0x[0-9a-f]+|\d+)/.test(p)) v |= num(p);
    else throw new Error(`unknown flag ${p}`);
  }
  return v >>> 0;
}

function fdOf(arg: string): number {
  return Number.parseInt(arg, 10);
}

/**
 * Joins strace's "<unfinished ...>" / "<... NAME resumed>" pairs of a thread (by pid) into
 * one line at the position of the resumption (when the call returned), keeping the line count
 * (the unfinished half becomes blank) so that line numbers still point into the log.
 */
function joinUnfinished(lines: string[]): string[] {
  const out = lines.slice();
  const pending = new Map<string, number>();
  for (let i = 0; i < out.length; i++) {
    const line = out[i] as string;
    const unfinished = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished !== null) {
      pending.set(unfinished[1] as string, i);
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. [a-z0-9_]+ resumed>(.*)$/.exec(line);
    if (resumed === null) continue;
    const at = pending.get(resumed[1] as string);
    if (at === undefined) continue;
    const head = (out[at] as string).replace(/ <unfinished \.\.\.>$/, "");
    out[i] = `${head}${resumed[2]}`;
    out[at] = "";
    pending.delete(resumed[1] as string);
  }
  return out;
}

/** Replays `strace` (from the start layout `startMaps`) and compares with `finalMaps`. */
export function replayAgainstKernel(
  strace: string,
  startMaps: string,
  finalMaps: string,
  generation: KernelGeneration,
): OracleResult {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const mm = new MmStruct(sim, { generation, mmapMinAddr: 4096, physBytes: 1024 * 1024 * 1024 });
  const start = parseProcPidMaps(startMaps);
  const inodes = new Map<string, MapsEntry>();
  for (const e of [...start, ...parseProcPidMaps(finalMaps)]) {
    if (e.inode !== 0) inodes.set(e.path, e);
  }
  const sizes = new Map<string, number>();
  let firstBrk = -1;
  const lines = joinUnfinished(strace.split("\n"));
  for (const line of lines) {
    const m = /^\d+\s+brk\(NULL\)\s+=\s+(0x[0-9a-f]+)/.exec(line);
    if (m !== null) {
      firstBrk = Number.parseInt(m[1] as string, 16);
      break;
    }
  }
  mm.loadLayout(start, firstBrk >= 0 ? { startBrk: firstBrk, brk: firstBrk } : {});
  validateMm(mm);
  let fakeIno = 1 << 30;
  const mismatches: string[] = [];
  let calls = 0;
  const run = (body: () => Op<number>): number => {
    const task = sim.spawn("replay", body);
    sim.run();
    return task.result as number;
  };
  for (let i = 0; i < lines.length; i++) {
    const m = /^\d+\s+([a-z0-9_]+)\((.*)\)\s+=\s+(-?\w+)(?:\s+([A-Z]+))?/.exec(lines[i] as string);
    if (m === null) continue;
    const [, name, argText, retText, errName] = m as unknown as [
      string,
      string,
      string,
      string,
      string?,
    ];
    const args = splitArgs(argText);
    const want =
      retText === "-1" && errName !== undefined ? -(ERRNO[errName] ?? 999) : num(retText);
    let got: number | null = null;
    const a = (k: number) => args[k] ?? "";
    switch (name) {
      case "openat": {
        if (want < 0) break;
        const path = /<([^<>]*)>$/.exec(lines[i] as string)?.[1] ?? a(1);
        const acc = a(2).includes("O_RDWR") ? 2 : a(2).includes("O_WRONLY") ? 1 : 0;
        const known = inodes.get(path);
        mm.installFile(want, {
          path,
          ino: known?.inode ?? fakeIno++,
          dev: known?.dev ?? 0xfe00,
          size: sizes.get(path) ?? 0,
          readable: acc !== 1,
          writable: acc !== 0,
        });
        break;
      }
      case "newfstatat": {
        const size = /st_size=(\d+)/.exec(argText);
        const fd = fdOf(a(0));
        const f = mm.fileOf(fd);
        if (size !== null && f !== null && a(1) === '""') {
          f.inode.size = Number(size[1]);
          sizes.set(f.path, f.inode.size);
        }
        break;
      }
      case "close":
        if (want === 0) mm.closeFd(fdOf(a(0)));
        break;
      case "mmap":
        got = run(() =>
          sysMmap(mm, num(a(0)), num(a(1)), flags(a(2)), flags(a(3)), fdOf(a(4)), num(a(5))),
        );
        break;
      case "munmap":
        got = run(() => sysMunmap(mm, num(a(0)), num(a(1))));
        break;
      case "mprotect":
        got = run(() => sysMprotect(mm, num(a(0)), num(a(1)), flags(a(2))));
        break;
      case "madvise":
        got = run(() => sysMadviseOf(mm, num(a(0)), num(a(1)), flags(a(2))));
        break;
      case "brk":
        got = run(() => sysBrk(mm, num(a(0))));
        break;
      case "mremap":
        got = run(() =>
          sysMremap(
            mm,
            num(a(0)),
            num(a(1)),
            num(a(2)),
            flags(a(3)),
            args.length > 4 ? num(a(4)) : 0,
          ),
        );
        break;
    }
    if (got === null) continue;
    calls++;
    validateMm(mm);
    if (got !== want) {
      const show = (v: number) => (v < 0 ? `-${errnoName(v)}` : `0x${v.toString(16)}`);
      mismatches.push(`line ${i + 1}: ${name}(${argText}) = ${show(got)} (kernel: ${show(want)})`);
    }
  }
  // shmem inode numbers are the kernel's own counter: compare them as "any".
  const shmemIno = (t: string) => t.replace(/ 00:01 \d+ +\/dev\/zero/g, " 00:01 N /dev/zero");
  return { calls, mismatches, model: shmemIno(procPidMaps(mm)), kernel: shmemIno(finalMaps) };
}
