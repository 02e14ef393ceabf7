/**
 * Decodes the strace calls a replay needs into typed operations, with the uapi values of
 * the flags strace prints symbolically (include/uapi/asm-generic/mman-common.h, mman.h,
 * fcntl.h, linux/sched.h). Decoding happens for the whole log before the replay starts: an
 * argument that does not decode is an input error naming the line.
 */
import {
  MAP_32BIT,
  MAP_ANONYMOUS,
  MAP_DENYWRITE,
  MAP_EXECUTABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_SYNC,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "@mmlab/mm-core";
import {
  parseFdArg,
  parseFlags,
  parseNumber,
  parseStringArg,
  ReplayInputError,
  type StraceCall,
  type StraceLog,
} from "./strace.js";

export const PROT_NAMES: Readonly<Record<string, number>> = {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  PROT_SEM: 0x8,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
};

export const MAP_NAMES: Readonly<Record<string, number>> = {
  MAP_FILE: 0,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_SHARED_VALIDATE,
  MAP_FIXED,
  MAP_ANONYMOUS,
  MAP_ANON: MAP_ANONYMOUS,
  MAP_32BIT,
  MAP_GROWSDOWN,
  MAP_DENYWRITE,
  MAP_EXECUTABLE,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_NONBLOCK,
  MAP_STACK,
  MAP_HUGETLB,
  MAP_SYNC,
  MAP_FIXED_NOREPLACE,
  MAP_UNINITIALIZED: 0x4000000,
};

export const MREMAP_NAMES: Readonly<Record<string, number>> = {
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MREMAP_DONTUNMAP: 4,
};

/** include/uapi/asm-generic/mman-common.h: the advice values. */
export const MADV_NAMES: Readonly<Record<string, number>> = {
  MADV_NORMAL: 0,
  MADV_RANDOM: 1,
  MADV_SEQUENTIAL: 2,
  MADV_WILLNEED: 3,
  MADV_DONTNEED: 4,
  MADV_FREE: 8,
  MADV_REMOVE: 9,
  MADV_DONTFORK: 10,
  MADV_DOFORK: 11,
  MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13,
  MADV_HUGEPAGE: 14,
  MADV_NOHUGEPAGE: 15,
  MADV_DONTDUMP: 16,
  MADV_DODUMP: 17,
  MADV_WIPEONFORK: 18,
  MADV_KEEPONFORK: 19,
  MADV_COLD: 20,
  MADV_PAGEOUT: 21,
  MADV_POPULATE_READ: 22,
  MADV_POPULATE_WRITE: 23,
  MADV_DONTNEED_LOCKED: 24,
  MADV_COLLAPSE: 25,
  MADV_GUARD_INSTALL: 102,
  MADV_GUARD_REMOVE: 103,
  MADV_HWPOISON: 100,
  MADV_SOFT_OFFLINE: 101,
};

/** include/uapi/asm-generic/fcntl.h: the open flags (only the access mode matters here). */
export const O_NAMES: Readonly<Record<string, number>> = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DSYNC: 0o10000,
  O_ASYNC: 0o20000,
  O_DIRECT: 0o40000,
  O_LARGEFILE: 0o100000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  O_NOATIME: 0o1000000,
  O_CLOEXEC: 0o2000000,
  O_SYNC: 0o4010000,
  O_PATH: 0o10000000,
  O_TMPFILE: 0o20200000,
};

/** include/uapi/linux/sched.h: CLONE_VM and CLONE_THREAD decide thread or process. */
export const CLONE_VM = 0x100;
export const CLONE_VFORK = 0x4000;
export const CLONE_THREAD = 0x10000;

export type ReplayOp =
  | {
      kind: "mmap";
      addr: number;
      len: number;
      prot: number;
      flags: number;
      fd: number;
      /** the fd's path from -y, null for fd -1 or a bare number */
      path: string | null;
      off: number;
    }
  | { kind: "munmap"; addr: number; len: number }
  | { kind: "mprotect"; addr: number; len: number; prot: number }
  | {
      kind: "mremap";
      addr: number;
      oldLen: number;
      newLen: number;
      flags: number;
      newAddr: number;
    }
  | { kind: "brk"; addr: number }
  | { kind: "madvise"; addr: number; len: number; advice: number; adviceName: string }
  | { kind: "mlock" | "munlock"; addr: number; len: number }
  /** openat/open/creat: fd (the return value) now names `path` */
  | { kind: "open"; path: string; flags: number }
  | { kind: "close"; fd: number }
  /**
   * dup/dup2/dup3/fcntl(F_DUPFD*): the return value names the same open file as `fd`;
   * `cloexec` is its new FD_CLOEXEC (dup3 with O_CLOEXEC, F_DUPFD_CLOEXEC)
   */
  | { kind: "dup"; fd: number; cloexec: boolean }
  /** fcntl(fd, F_SETFD, ...): FD_CLOEXEC set or cleared (exec closes the fds that have it) */
  | { kind: "setfd"; fd: number; cloexec: boolean }
  /** fstat/newfstatat of an fd with its st_size */
  | { kind: "stat"; fd: number; path: string | null; size: number }
  /** clone/clone3/fork/vfork: the child is the return value */
  | { kind: "clone"; flags: number }
  | { kind: "execve"; path: string }
  | { kind: "exit_group" }
  /** any other call: not replayed */
  | { kind: "other" };

/** A call with its decoded operation and what the kernel returned. */
export interface DecodedCall {
  call: StraceCall;
  op: ReplayOp;
}

/** The system calls that change a process's memory layout (the replayed ones). */
export const MEMORY_CALLS = new Set([
  "mmap",
  "munmap",
  "mprotect",
  "mremap",
  "brk",
  "madvise",
  "mlock",
  "munlock",
]);

/** Decodes every call of a log; throws ReplayInputError naming the first bad argument. */
export function decodeLog(log: StraceLog, file = "trace"): DecodedCall[] {
  return log.calls.map((call) => ({ call, op: decodeCall(call, file) }));
}

export function decodeCall(call: StraceCall, file = "trace"): ReplayOp {
  const a = call.args;
  const bad = (what: string): never => {
    throw new ReplayInputError(file, call.line, `${call.name}: ${what}`, call.text);
  };
  const arity = (n: number) => {
    if (a.length < n) bad(`expected ${n} arguments, found ${a.length}`);
  };
  const num = (i: number, what: string): number => {
    const t = a[i] as string;
    const v = t === "NULL" ? 0 : parseNumber(t);
    if (Number.isNaN(v)) bad(`${what} "${t}" is not a number`);
    return v;
  };
  const flags = (i: number, names: Readonly<Record<string, number>>, what: string): number => {
    const v = parseFlags(a[i] as string, names);
    if (Number.isNaN(v)) bad(`unknown ${what} "${a[i]}"`);
    return v;
  };
  switch (call.name) {
    case "mmap":
    case "mmap2": {
      arity(6);
      const fd = parseFdArg(a[4] as string);
      if (fd === null) bad(`fd "${a[4]}" is not an fd`);
      return {
        kind: "mmap",
        addr: num(0, "addr"),
        len: num(1, "length"),
        prot: flags(2, PROT_NAMES, "prot"),
        flags: flags(3, MAP_NAMES, "flags"),
        fd: fd?.fd ?? -1,
        path: fd?.path ?? null,
        off: num(5, "offset") * (call.name === "mmap2" ? 4096 : 1),
      };
    }
    case "munmap":
      arity(2);
      return { kind: "munmap", addr: num(0, "addr"), len: num(1, "length") };
    case "mprotect":
      arity(3);
      return {
        kind: "mprotect",
        addr: num(0, "addr"),
        len: num(1, "length"),
        prot: flags(2, PROT_NAMES, "prot"),
      };
    case "mremap":
      arity(4);
      return {
        kind: "mremap",
        addr: num(0, "old_address"),
        oldLen: num(1, "old_size"),
        newLen: num(2, "new_size"),
        flags: flags(3, MREMAP_NAMES, "flags"),
        newAddr: a.length > 4 ? num(4, "new_address") : 0,
      };
    case "brk":
      arity(1);
      return { kind: "brk", addr: num(0, "brk") };
    case "madvise": {
      arity(3);
      const advice = flags(2, MADV_NAMES, "advice");
      return {
        kind: "madvise",
        addr: num(0, "addr"),
        len: num(1, "length"),
        advice,
        adviceName: a[2] as string,
      };
    }
    case "mlock":
    case "munlock":
      arity(2);
      return { kind: call.name, addr: num(0, "addr"), len: num(1, "length") };
    case "openat":
    case "open":
    case "creat": {
      const at = call.name === "openat" ? 1 : 0;
      arity(at + 1);
      const path = parseStringArg(a[at] as string);
      if (path === null) bad(`path ${a[at]} is not a string`);
      const f =
        call.name === "creat" ? 0o1101 : a.length > at + 1 ? flags(at + 1, O_NAMES, "flags") : 0;
      return { kind: "open", path: path as string, flags: f };
    }
    case "close": {
      arity(1);
      const fd = parseFdArg(a[0] as string);
      if (fd === null) bad(`fd "${a[0]}" is not an fd`);
      return { kind: "close", fd: fd?.fd ?? -1 };
    }
    case "dup":
    case "dup2":
    case "dup3": {
      arity(1);
      const fd = parseFdArg(a[0] as string);
      if (fd === null) bad(`fd "${a[0]}" is not an fd`);
      const cloexec = call.name === "dup3" && /\bO_CLOEXEC\b/.test(a[2] ?? "");
      return { kind: "dup", fd: fd?.fd ?? -1, cloexec };
    }
    case "fcntl": {
      // F_DUPFD / F_DUPFD_CLOEXEC create a second name for an open file; F_SETFD sets or
      // clears FD_CLOEXEC. The other commands change nothing the replay tracks.
      const fd = parseFdArg(a[0] ?? "");
      if (fd === null) return { kind: "other" };
      if (/^F_DUPFD(_CLOEXEC)?$/.test(a[1] ?? "")) {
        return { kind: "dup", fd: fd.fd, cloexec: a[1] === "F_DUPFD_CLOEXEC" };
      }
      if (a[1] === "F_SETFD" && a.length > 2) {
        const v = a[2] === "FD_CLOEXEC" ? 1 : parseNumber(a[2] as string);
        return { kind: "setfd", fd: fd.fd, cloexec: (v & 1) === 1 };
      }
      return { kind: "other" };
    }
    case "fstat":
    case "newfstatat": {
      const fd = parseFdArg(a[0] ?? "");
      const emptyPath = call.name === "fstat" || a[1] === '""';
      const size = /st_size=(\d+)/.exec(call.text);
      if (fd === null || !emptyPath || size === null) return { kind: "other" };
      return { kind: "stat", fd: fd.fd, path: fd.path, size: Number(size[1]) };
    }
    case "clone":
    case "clone3": {
      const m = /flags=([A-Z0-9_|x]+)/.exec(call.text);
      return { kind: "clone", flags: m === null ? 0 : flags0(m[1] as string) };
    }
    case "fork":
      return { kind: "clone", flags: 0 };
    case "vfork":
      return { kind: "clone", flags: CLONE_VM | CLONE_VFORK };
    case "execve":
    case "execveat": {
      const path = parseStringArg(a[call.name === "execveat" ? 1 : 0] ?? "");
      return { kind: "execve", path: path ?? "?" };
    }
    case "exit_group":
      return { kind: "exit_group" };
    default:
      return { kind: "other" };
  }
}

/** The CLONE_* bits that matter (unknown names count as 0). */
function flags0(t: string): number {
  let v = 0;
  for (const p of t.split("|")) {
    if (p === "CLONE_VM") v |= CLONE_VM;
    else if (p === "CLONE_THREAD") v |= CLONE_THREAD;
    else if (p === "CLONE_VFORK") v |= CLONE_VFORK;
    else if (p.startsWith("0x")) v |= parseNumber(p) & (CLONE_VM | CLONE_THREAD | CLONE_VFORK);
  }
  return v;
}
