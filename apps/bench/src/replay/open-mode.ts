/**
 * The open mode of an fd the log never opened: a log traced with only the memory calls
 * (`strace -e trace=%memory`) has no open() lines, and an fd may come from before the
 * recording. What the kernel answered to the calls that depend on the mode decides it:
 *
 *   mmap(MAP_SHARED, PROT_WRITE) of the fd  = addr    → opened for writing (FMODE_WRITE)
 *                                           = -EACCES → not (do_mmap(): MAP_SHARED checks it)
 *   mmap(MAP_SHARED, PROT_READ) = addr, then mprotect(addr, PROT_WRITE) = 0 / -EACCES
 *                                                     → VM_MAYWRITE was set / not: writable / not
 *   any other mmap of the fd                = addr    → opened for reading (FMODE_READ)
 *                                           = -EACCES → not readable (O_WRONLY)
 *
 * (mm/mmap.c do_mmap(), v4.19 and v6.8 alike; mm/mprotect.c mprotect_fixup() refuses
 * PROT_WRITE without VM_MAYWRITE.) The first call that decides wins; with none, the fd is
 * taken as read-only, which no recorded result contradicts.
 */
import { MAP_SHARED, MAP_SHARED_VALIDATE, PROT_WRITE } from "@mmlab/mm-core";
import type { DecodedCall } from "./syscalls.js";

const EACCES = 13;

export interface InferredMode {
  readable: boolean;
  writable: boolean;
  /** the line of the call that decided it, or null (no call depends on it) */
  line: number | null;
  /** why, for the replay's notes */
  reason: string;
}

/**
 * The mode of `fd` (its -y path `path`) in the process whose tids `inProcess` accepts, from
 * the calls at and after index `from` that map it, up to a mapping of that fd number with
 * another path (a new open file the log did not show).
 */
export function inferOpenMode(
  calls: readonly DecodedCall[],
  from: number,
  fd: number,
  path: string,
  inProcess: (pid: number) => boolean,
): InferredMode {
  for (let i = from; i < calls.length; i++) {
    const { call, op } = calls[i] as DecodedCall;
    if (op.kind !== "mmap" || op.fd !== fd || !inProcess(call.pid)) continue;
    if (op.path !== null && op.path !== path) break;
    const ret = call.ret;
    if (ret === null) continue;
    const type = op.flags & MAP_SHARED_VALIDATE;
    const shared = type === MAP_SHARED || type === MAP_SHARED_VALIDATE;
    const write = (op.prot & PROT_WRITE) !== 0;
    if (shared && write) {
      if (ret >= 0) {
        return mode(true, true, call.line, "a writable MAP_SHARED mapping of it succeeded");
      }
      if (ret === -EACCES) {
        return mode(
          true,
          false,
          call.line,
          "a writable MAP_SHARED mapping of it failed with EACCES",
        );
      }
      continue;
    }
    if (ret === -EACCES) {
      return mode(false, true, call.line, "a mapping of it failed with EACCES (not readable)");
    }
    if (ret < 0) continue;
    if (shared) {
      const later = mprotectToWrite(calls, i + 1, ret, op.len, call.pid);
      if (later !== null) {
        return later.ret === 0
          ? mode(true, true, later.line, "mprotect(PROT_WRITE) of its MAP_SHARED mapping succeeded")
          : mode(
              true,
              false,
              later.line,
              "mprotect(PROT_WRITE) of its MAP_SHARED mapping failed with EACCES",
            );
      }
    }
  }
  return mode(true, false, null, "no recorded result depends on it");
}

function mode(readable: boolean, writable: boolean, line: number | null, reason: string) {
  return { readable, writable, line, reason };
}

/** The first mprotect(PROT_WRITE) by `pid` over [addr, addr + len) that succeeded or got EACCES. */
function mprotectToWrite(
  calls: readonly DecodedCall[],
  from: number,
  addr: number,
  len: number,
  pid: number,
): { line: number; ret: number } | null {
  const end = addr + len;
  for (let i = from; i < calls.length; i++) {
    const { call, op } = calls[i] as DecodedCall;
    if (call.pid !== pid) continue;
    // the whole mapping unmapped first: nothing later depends on it
    if (op.kind === "munmap" && call.ret === 0 && op.addr <= addr && op.addr + op.len >= end) {
      return null;
    }
    if (op.kind !== "mprotect" || (op.prot & PROT_WRITE) === 0) continue;
    if (op.addr >= end || op.addr + op.len <= addr) continue;
    if (call.ret === 0 || call.ret === -EACCES) return { line: call.line, ret: call.ret };
  }
  return null;
}
