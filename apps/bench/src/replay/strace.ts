/**
 * A parser for `strace -f -y` logs: every line is read and checked before anything is
 * replayed, so a malformed or truncated log is refused with its line number and content
 * and nothing is half-applied.
 *
 *   1904  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc0000
 *   1904  mmap(NULL, 36059, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7ffff7fb7000
 *   2044  munmap(0x7fffec000000, 67108864 <unfinished ...>      ┐ one call: merged, placed
 *   2046  close(10<pipe:[157347]>) = 0                           │ where it returned (the
 *   2044  <... munmap resumed>)             = 0                  ┘ resumed line)
 *   1891  mremap(0x10000, 4096, 8192, 0)    = -1 EFAULT (Bad address)
 *   1905  +++ exited with 0 +++                                   (process events: kept)
 *   1904  --- SIGCHLD {si_signo=SIGCHLD, ...} ---                  (signals: ignored)
 *
 * Lines may lack the pid (strace without -f, or its first process when strace writes to a
 * terminal: pid `defaultPid`; strace's own "Process N attached" inside a line is dropped) and may start with a
 * timestamp (-t, -tt, -ttt, -r). Return annotations strace adds ("(DELAYED)",
 * "(INJECTED)") are dropped. The result is a list of calls in the order they returned.
 */

/** One system call of the log, with its unfinished/resumed halves merged. */
export interface StraceCall {
  /** 1-based line where the call returned (the `<... resumed>` line of a split call). */
  line: number;
  /** 1-based line where the call started (== line unless it was split). */
  startLine: number;
  pid: number;
  name: string;
  /** The arguments as strace printed them, split at top-level commas. */
  args: string[];
  /** The return value: the number strace printed, -errno for `-1 ENAME (...)`; null for `?`. */
  ret: number | null;
  /** The errno name of a failed call ("ENOMEM"), else null. */
  errno: string | null;
  /** The `-y` path of a returned fd (`= 3</usr/lib/libc.so.6>`), else null. */
  retPath: string | null;
  /** The call as one line (merged when it was split). */
  text: string;
}

/** A process event: `+++ exited with 0 +++`, `+++ killed by SIGKILL +++`. */
export interface StraceExit {
  line: number;
  pid: number;
  text: string;
}

export interface StraceLog {
  /** Calls in the order they returned. */
  calls: StraceCall[];
  exits: StraceExit[];
  /** The pids in order of first appearance. */
  pids: number[];
  /** Lines read (the log's length). */
  lines: number;
}

/** A bad log: names the 1-based line and its content. Thrown by the parsers, exit code 2. */
export class ReplayInputError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string, content?: string) {
    super(
      `${file}:${line}: ${message}${content === undefined ? "" : `: ${JSON.stringify(truncate(content))}`}`,
    );
    this.name = "ReplayInputError";
    this.file = file;
    this.line = line;
  }
}

function truncate(s: string): string {
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/** Linux errno values by name (asm-generic/errno-base.h, errno.h, linux/errno.h). */
export const ERRNO_VALUES: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
  ERESTARTSYS: 512,
  ERESTARTNOINTR: 513,
  ERESTARTNOHAND: 514,
  ERESTART_RESTARTBLOCK: 516,
};

// "1234  " or "[pid 1234] " (strace -f to a terminal), then an optional timestamp.
const PREFIX = /^\s*(?:(\d+)\s+|\[pid\s+(\d+)\]\s+)?(?:\d+(?::\d\d:\d\d)?(?:\.\d+)?\s+)?/;
const CALL_START = /^([a-z_][a-z0-9_]*)\(/;
const RESUMED = /^<\.\.\. ([a-z_][a-z0-9_]*) resumed>\s?/;
const UNFINISHED = " <unfinished ...>";
const ATTACHED = /strace: Process \d+ (?:attached|detached|suspended)$/;
const RESULT =
  /^= (-?\d+|0x[0-9a-f]+|\?)(?:<([^>]*)>)?(?: (E[A-Z0-9_]+|E\?\?\?) \([^)]*\))?((?: \([A-Za-z0-9_|, ]+\))*)$/;

interface Pending {
  line: number;
  pid: number;
  name: string;
  head: string;
}

/**
 * Parses a whole log. `file` names it in errors. Throws ReplayInputError on the first
 * line that is not a complete strace line, on a `resumed` without its start, and on a
 * call still unfinished at the end of the log while its process has not exited.
 */
export function parseStrace(text: string, file = "trace", defaultPid = 0): StraceLog {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const calls: StraceCall[] = [];
  const exits: StraceExit[] = [];
  const pids: number[] = [];
  const seen = new Set<number>();
  const pending = new Map<number, Pending>();
  const note = (pid: number) => {
    if (!seen.has(pid)) {
      seen.add(pid);
      pids.push(pid);
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = (lines[i] as string).replace(/\r$/, "");
    // strace writing to a terminal (or 2> FILE) shares stderr with its own messages, which
    // can land inside a call's line: "clone(..., flags=...|SIGCHLDstrace: Process 5 attached"
    // and the call goes on at the next line. Drop the message and join the two.
    const cut = ATTACHED.exec(raw);
    if (cut !== null && cut.index > 0 && i + 1 < lines.length) {
      raw = raw.slice(0, cut.index) + (lines[i + 1] as string).replace(/\r$/, "");
      lines[i + 1] = "";
    }
    if (raw.trim() === "") continue;
    if (raw.startsWith("strace: ")) continue; // "strace: Process 123 attached"
    const pre = PREFIX.exec(raw) as RegExpExecArray;
    const pid = Number(pre[1] ?? pre[2] ?? defaultPid);
    const rest = raw.slice(pre[0].length);
    if (rest.startsWith("--- ")) {
      if (!rest.endsWith(" ---"))
        throw new ReplayInputError(file, lineNo, "truncated signal line", raw);
      continue; // a signal: not a memory operation
    }
    if (rest.startsWith("+++ ")) {
      if (!rest.endsWith(" +++"))
        throw new ReplayInputError(file, lineNo, "truncated exit line", raw);
      note(pid);
      exits.push({ line: lineNo, pid, text: rest });
      pending.delete(pid); // a call cut short by the exit never returned
      continue;
    }
    const resumed = RESUMED.exec(rest);
    if (resumed !== null) {
      const name = resumed[1] as string;
      const p = pending.get(pid);
      if (p === undefined || p.name !== name) {
        throw new ReplayInputError(
          file,
          lineNo,
          `"<... ${name} resumed>" of pid ${pid} without its "<unfinished ...>" start`,
          raw,
        );
      }
      pending.delete(pid);
      const merged = p.head + rest.slice(resumed[0].length);
      note(pid);
      calls.push(parseComplete(merged, p.line, lineNo, pid, file, raw));
      continue;
    }
    if (!CALL_START.test(rest)) throw new ReplayInputError(file, lineNo, "not an strace line", raw);
    note(pid);
    if (rest.endsWith(UNFINISHED)) {
      const head = rest.slice(0, -UNFINISHED.length);
      const name = (CALL_START.exec(head) as RegExpExecArray)[1] as string;
      const prev = pending.get(pid);
      if (prev !== undefined) {
        throw new ReplayInputError(
          file,
          lineNo,
          `pid ${pid} starts a call while its ${prev.name} of line ${prev.line} is unfinished`,
          raw,
        );
      }
      pending.set(pid, { line: lineNo, pid, name, head });
      continue;
    }
    calls.push(parseComplete(rest, lineNo, lineNo, pid, file, raw));
  }
  for (const p of pending.values()) {
    throw new ReplayInputError(
      file,
      p.line,
      "truncated log: this call never resumed and its process never exited",
      `${p.head}${UNFINISHED}`,
    );
  }
  return { calls, exits, pids, lines: lines.length };
}

/** "name(args) = ret ..." with the arguments split and the result decoded. */
function parseComplete(
  text: string,
  startLine: number,
  line: number,
  pid: number,
  file: string,
  raw: string,
): StraceCall {
  const name = (CALL_START.exec(text) as RegExpExecArray)[1] as string;
  const open = name.length;
  const close = matchingParen(text, open);
  if (close < 0)
    throw new ReplayInputError(file, line, "truncated call (no closing parenthesis)", raw);
  const tail = text.slice(close + 1).trim();
  const m = RESULT.exec(tail);
  if (m === null)
    throw new ReplayInputError(file, line, "truncated or malformed return value", raw);
  const retText = m[1] as string;
  const errno = m[3] ?? null;
  let ret: number | null;
  if (retText === "?") ret = null;
  else ret = parseNumber(retText);
  if (errno !== null) {
    const value = ERRNO_VALUES[errno];
    if (value === undefined) throw new ReplayInputError(file, line, `unknown errno ${errno}`, raw);
    ret = -value;
  }
  return {
    line,
    startLine,
    pid,
    name,
    args: splitArgs(text.slice(open + 1, close)),
    ret,
    errno,
    retPath: m[2] ?? null,
    text: `${text.slice(0, close + 1)} ${tail}`,
  };
}

/** A "<" that opens a -y path ("3</etc/x>"), not a shift ("21<<MAP_HUGE_SHIFT"). */
function isPathOpen(s: string, i: number): boolean {
  return s[i] === "<" && s[i + 1] !== "<" && s[i - 1] !== "<" && /[0-9A-Z]/.test(s[i - 1] ?? "");
}

/** The index of the ")" closing the "(" at `open`, skipping strings, <paths> and nesting. */
function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') {
      i = skipString(s, i);
    } else if (isPathOpen(s, i)) {
      const end = s.indexOf(">", i);
      if (end < 0) return -1;
      i = end;
    } else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") {
      depth--;
      if (depth === 0) return ch === ")" ? i : -1;
    }
  }
  return -1;
}

function skipString(s: string, at: number): number {
  for (let j = at + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === '"') return j;
  }
  return s.length;
}

/** Splits "a, b, {c, d}, 3</x, y>" at its top-level commas. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '"') i = skipString(s, i);
    else if (isPathOpen(s, i)) {
      const end = s.indexOf(">", i);
      i = end < 0 ? s.length : end;
    } else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (ch === "," && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last !== "" || out.length > 0) out.push(last);
  return out;
}

/** A decimal, 0x hex or 0-prefixed octal integer (exact for page-aligned 64-bit values). */
export function parseNumber(t: string): number {
  const neg = t.startsWith("-");
  const body = neg ? t.slice(1) : t;
  let v: number;
  if (/^0x[0-9a-fA-F]+$/.test(body)) v = Number(BigInt(body));
  else if (/^0[0-7]+$/.test(body)) v = Number.parseInt(body, 8);
  else if (/^\d+$/.test(body)) v = Number(BigInt(body));
  else return Number.NaN;
  return neg ? -v : v;
}

/** `3</usr/lib/libc.so.6>` → { fd: 3, path }; `-1` → { fd: -1, path: null }. */
export function parseFdArg(t: string): { fd: number; path: string | null } | null {
  const m = /^(-?\d+|AT_FDCWD)(?:<(.*)>)?$/.exec(t);
  if (m === null) return null;
  const fd = m[1] === "AT_FDCWD" ? -100 : Number(m[1]);
  return { fd, path: m[2] ?? null };
}

/** A C string argument: `"/etc/ld.so.cache"` → its text (escapes decoded). */
export function parseStringArg(t: string): string | null {
  const m = /^"((?:[^"\\]|\\.)*)"(?:\.\.\.)?$/.exec(t);
  if (m === null) return null;
  return (m[1] as string).replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e.startsWith("x")) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    return ({ n: "\n", t: "\t", r: "\r", v: "\v", f: "\f" } as Record<string, string>)[e] ?? e;
  });
}

/**
 * A flags argument: `PROT_READ|PROT_WRITE`, `MAP_PRIVATE|0x4000000`, `0x3`, `0`, `NULL`.
 * Unknown symbols give NaN (the caller reports the line).
 */
export function parseFlags(t: string, names: Readonly<Record<string, number>>): number {
  if (t === "NULL") return 0;
  let v = 0;
  for (const part of t.split("|")) {
    const p = part.trim();
    // "21<<MAP_HUGE_SHIFT": the huge page size of MAP_HUGETLB, log2 in bits 26-31
    const shift = /^(\d+)<<MAP_HUGE_SHIFT$/.exec(p);
    const n = shift !== null ? Number(shift[1]) * 2 ** 26 : (names[p] ?? parseNumber(p));
    if (Number.isNaN(n) || n < 0 || n >= 2 ** 31) return Number.NaN;
    v |= n;
  }
  return v;
}
