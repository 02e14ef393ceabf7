/**
 * `--trace FILE`: the Chrome trace-event JSON format ("JSON Object Format" with a
 * `traceEvents` array) that Perfetto and chrome://tracing open.
 *
 * Layout: one Chrome process per simulated process and strategy, named
 * "<strategy> · <comm> (pid <tgid>)"; each task is a thread with tid = its pid. Both
 * strategies start at ts 0 (their own t0) so they line up for comparison; their Chrome pids
 * differ by CAPTURE_PID_STRIDE, the sim pids stay visible as tids and in the names.
 *
 * Per thread, every interval becomes a B/E pair, emitted as a properly nested sequence:
 *
 *   B SyS_munmap ─ B hold mmap_sem (exclusive) ─ B do_munmap ─ E ─ E ─ E
 *
 * B/E order (not timestamp arithmetic) carries the nesting, so a viewer that rounds the
 * µs-with-fractions timestamps differently cannot misplace a child. Categories: "syscall"
 * (SyS_*), "kernel" (functions inside a syscall), "lock-wait", "lock-hold". An interval that
 * would only partly overlap the enclosing one (not produced by mm-core today) becomes an
 * async b/e pair on its own track instead of breaking the thread's stack. Hung-task reports
 * are thread-scoped instant events ("i"). Timestamps are µs (the format's unit) relative to
 * the capture's t0, with the ns kept as three decimals.
 */
import type { TraceCapture } from "../types.js";
import {
  byStartThenLonger,
  type CaptureIntervals,
  captureIntervals,
  type LockInterval,
  type SpanInterval,
} from "./intervals.js";

/** Chrome pid of a process = capture index × stride + tgid (Linux pid_max ≤ 4,194,304). */
export const CAPTURE_PID_STRIDE = 10_000_000;

export interface ChromeTraceEvent {
  name: string;
  ph: "B" | "E" | "X" | "i" | "b" | "e" | "M";
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: string;
  s?: "t" | "p" | "g";
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ns" | "ms";
  metadata: Record<string, unknown>;
}

interface Slice {
  start: number;
  end: number;
  name: string;
  cat: string;
  args: Record<string, unknown>;
}

/** Renders the captures (one per strategy) as one Chrome trace-event JSON object. */
export function toChromeTrace(captures: readonly TraceCapture[]): ChromeTrace {
  const traceEvents: ChromeTraceEvent[] = [];
  let asyncId = 0;
  captures.forEach((capture, index) => {
    const iv = captureIntervals(capture);
    const us = (ns: number) => Math.round(ns - capture.t0) / 1000;
    const threads = threadsOf(capture, iv);
    const chromePid = (tgid: number) => index * CAPTURE_PID_STRIDE + tgid;

    // Metadata: names and a stable order (strategy, then process, then thread).
    const processes = new Map<number, string>();
    for (const t of threads) {
      if (!processes.has(t.tgid) || t.pid === t.tgid) processes.set(t.tgid, t.comm);
    }
    for (const [tgid, comm] of processes) {
      const pid = chromePid(tgid);
      traceEvents.push(
        meta("process_name", pid, 0, { name: `${capture.strategy} · ${comm} (pid ${tgid})` }),
      );
      traceEvents.push(meta("process_sort_index", pid, 0, { sort_index: pid }));
    }
    for (const t of threads) {
      const pid = chromePid(t.tgid);
      traceEvents.push(meta("thread_name", pid, t.pid, { name: t.comm }));
      traceEvents.push(meta("thread_sort_index", pid, t.pid, { sort_index: t.pid }));
    }

    for (const t of threads) {
      const pid = chromePid(t.tgid);
      const slices = slicesOf(iv, t.pid);
      const seq: ChromeTraceEvent[] = [];
      // Instants first: at equal ts the stable sort below keeps them inside the slice they
      // belong to (a hung-task report before the end of the wait it reports).
      for (const i of iv.instants) {
        if (i.pid !== t.pid) continue;
        seq.push({
          name: i.name,
          cat: i.kind,
          ph: "i",
          s: "t",
          ts: us(i.time),
          pid,
          tid: t.pid,
          args: i.args,
        });
      }
      const stack: Slice[] = [];
      const end = (s: Slice) => {
        seq.push({ name: s.name, cat: s.cat, ph: "E", ts: us(s.end), pid, tid: t.pid });
      };
      for (const s of slices) {
        while (stack.length > 0 && (stack[stack.length - 1] as Slice).end <= s.start) {
          end(stack.pop() as Slice);
        }
        const top = stack[stack.length - 1];
        if (top !== undefined && s.end > top.end) {
          // partial overlap: its own async track, so the thread's B/E stack stays nested
          const id = `0x${(++asyncId).toString(16)}`;
          seq.push({
            name: s.name,
            cat: s.cat,
            ph: "b",
            id,
            ts: us(s.start),
            pid,
            tid: t.pid,
            args: s.args,
          });
          seq.push({ name: s.name, cat: s.cat, ph: "e", id, ts: us(s.end), pid, tid: t.pid });
          continue;
        }
        seq.push({
          name: s.name,
          cat: s.cat,
          ph: "B",
          ts: us(s.start),
          pid,
          tid: t.pid,
          args: s.args,
        });
        stack.push(s);
      }
      while (stack.length > 0) end(stack.pop() as Slice);
      // B/E are already in time order; a stable sort slots instants and async pairs in.
      seq.sort((a, b) => (a.ts as number) - (b.ts as number));
      for (const e of seq) traceEvents.push(e);
    }
  });
  return {
    traceEvents,
    displayTimeUnit: "ns",
    metadata: {
      generator: "mmlab-bench",
      clock:
        "virtual time of the simulation; ts 0 = each strategy's t0 (start of the measured phase)",
      captures: captures.map((c, index) => ({
        strategy: c.strategy,
        t0Ns: c.t0,
        chromePidOffset: index * CAPTURE_PID_STRIDE,
      })),
    },
  };
}

interface ThreadInfo {
  pid: number;
  tgid: number;
  comm: string;
}

/** The capture's tasks, plus any pid that only shows up in its events. */
function threadsOf(capture: TraceCapture, iv: CaptureIntervals): ThreadInfo[] {
  const byPid = new Map<number, ThreadInfo>();
  for (const t of capture.tasks) byPid.set(t.pid, { pid: t.pid, tgid: t.tgid, comm: t.comm });
  for (const ev of capture.events) {
    if (!byPid.has(ev.pid)) {
      const comm = "comm" in ev ? ev.comm : ev.pid === 0 ? "swapper" : `pid ${ev.pid}`;
      byPid.set(ev.pid, { pid: ev.pid, tgid: ev.pid, comm });
    }
  }
  for (const i of iv.instants) {
    if (!byPid.has(i.pid)) byPid.set(i.pid, { pid: i.pid, tgid: i.pid, comm: `pid ${i.pid}` });
  }
  return [...byPid.values()].sort((a, b) => a.tgid - b.tgid || a.pid - b.pid);
}

/** One task's spans and lock intervals as slices, parents before children. */
function slicesOf(iv: CaptureIntervals, pid: number): Slice[] {
  const out: Slice[] = [];
  for (const s of iv.spans) if (s.pid === pid) out.push(spanSlice(s));
  for (const l of iv.locks) if (l.pid === pid) out.push(lockSlice(l));
  return out.sort(byStartThenLonger);
}

function spanSlice(s: SpanInterval): Slice {
  const args: Record<string, unknown> = { ...s.args, durationNs: s.end - s.start };
  if (s.open) args.unfinished = true;
  if (s.cutStart) args.beganBeforeCapture = true;
  return {
    start: s.start,
    end: s.end,
    name: s.name,
    cat: /^(SyS|sys|__x64_sys)_/.test(s.name) ? "syscall" : "kernel",
    args,
  };
}

function lockSlice(l: LockInterval): Slice {
  const ns = l.end - l.start;
  const cut = l.cutStart ? { beganBeforeCapture: true } : {};
  if (l.kind === "wait") {
    return {
      start: l.start,
      end: l.end,
      name: `wait ${l.lock} (${l.mode})`,
      cat: "lock-wait",
      args: { lock: l.lock, mode: l.mode, waitNs: ns, outcome: l.outcome, ...cut },
    };
  }
  return {
    start: l.start,
    end: l.end,
    name: `hold ${l.lock} (${l.kind})`,
    cat: "lock-hold",
    args: { lock: l.lock, mode: l.kind, holdNs: ns, outcome: l.outcome, ...cut },
  };
}

function meta(
  name: string,
  pid: number,
  tid: number,
  args: Record<string, unknown>,
): ChromeTraceEvent {
  return { name, ph: "M", pid, tid, args };
}
