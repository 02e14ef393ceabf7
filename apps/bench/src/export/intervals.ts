/**
 * Pairs the flat TraceEvent stream of one capture into intervals, the common input of every
 * renderer (Chrome trace, ftrace, HTML report):
 *
 *   span-begin ───────────────── span-end            → SpanInterval (SyS_munmap, do_munmap, …)
 *   lock-wait ── lock-acquire                         → LockInterval "wait"  (or lock-abort)
 *                lock-acquire(write) ── downgrade/release(write) → "exclusive"
 *                lock-acquire(read) / downgrade ── release(read) → "shared"
 *   hung-task, mark                                   → Instant
 *
 * The recorder may start or stop in the middle of something. An acquire without its
 * lock-wait, or a release without its acquire, is rebuilt exactly from the event's own
 * waitNs / holdNs. What is still open when the events run out ends at the capture's last
 * event time and is flagged `open`. A span-end without its begin starts at t0, flagged
 * `cutStart`. Times stay absolute sim times (ns); renderers subtract `t0`.
 */
import type { TraceCapture, TraceEvent } from "../types.js";

export type LockIntervalKind = "wait" | "shared" | "exclusive";
export type LockMode = "read" | "write";

export interface SpanInterval {
  pid: number;
  name: string;
  start: number;
  end: number;
  args?: Record<string, number | string>;
  /** still running when the capture ended (end = capture end) */
  open: boolean;
  /** began before the capture (start = t0) */
  cutStart: boolean;
}

export interface LockInterval {
  pid: number;
  lock: string;
  kind: LockIntervalKind;
  /** the mode asked for (wait) or held (a downgraded write hold continues as "read") */
  mode: LockMode;
  start: number;
  end: number;
  /** how it ended */
  outcome: "acquired" | "aborted" | "downgraded" | "released" | "open";
  /** began before the capture (rebuilt from waitNs / holdNs, then clipped to t0) */
  cutStart: boolean;
}

export interface Instant {
  pid: number;
  time: number;
  kind: "hung-task" | "mark";
  name: string;
  args: Record<string, number | string>;
}

export interface CaptureIntervals {
  strategy: string;
  t0: number;
  /** last event time (or t0 when there are no events) */
  end: number;
  spans: SpanInterval[];
  locks: LockInterval[];
  instants: Instant[];
}

interface OpenSpan {
  name: string;
  start: number;
  args: Record<string, number | string> | undefined;
}

/** Pairs the events of `capture` into spans, lock waits / holds and instants. */
export function captureIntervals(capture: TraceCapture): CaptureIntervals {
  const t0 = capture.t0;
  let end = t0;
  for (const ev of capture.events) if (ev.time > end) end = ev.time;

  const spans: SpanInterval[] = [];
  const locks: LockInterval[] = [];
  const instants: Instant[] = [];
  const spanStacks = new Map<number, OpenSpan[]>();
  const waits = new Map<string, { start: number; mode: LockMode }>();
  const holds = new Map<string, Array<{ start: number; kind: "shared" | "exclusive" }>>();

  const pushLock = (
    pid: number,
    lock: string,
    kind: LockIntervalKind,
    mode: LockMode,
    start: number,
    stop: number,
    outcome: LockInterval["outcome"],
  ) => {
    const cutStart = start < t0;
    locks.push({
      pid,
      lock,
      kind,
      mode,
      start: cutStart ? t0 : start,
      end: stop,
      outcome,
      cutStart,
    });
  };
  const stackOf = (pid: number): OpenSpan[] => {
    let s = spanStacks.get(pid);
    if (s === undefined) {
      s = [];
      spanStacks.set(pid, s);
    }
    return s;
  };
  const holdsOf = (key: string) => {
    let h = holds.get(key);
    if (h === undefined) {
      h = [];
      holds.set(key, h);
    }
    return h;
  };
  const closeHold = (
    ev: Extract<TraceEvent, { holdNs: number }>,
    kind: "shared" | "exclusive",
    outcome: "downgraded" | "released",
  ) => {
    const list = holdsOf(`${ev.pid}\0${ev.lock}`);
    const i = list.findIndex((h) => h.kind === kind);
    const start = i >= 0 ? (list.splice(i, 1)[0] as { start: number }).start : ev.time - ev.holdNs;
    const mode: LockMode = kind === "exclusive" ? "write" : "read";
    pushLock(ev.pid, ev.lock, kind, mode, start, ev.time, outcome);
  };

  for (const ev of capture.events) {
    switch (ev.type) {
      case "span-begin":
        stackOf(ev.pid).push({ name: ev.name, start: ev.time, args: ev.args });
        break;
      case "span-end": {
        const stack = stackOf(ev.pid);
        let i = stack.length - 1;
        while (i >= 0 && (stack[i] as OpenSpan).name !== ev.name) i--;
        if (i < 0) {
          // began before the recorder started
          spans.push(spanOf(ev.pid, ev.name, t0, ev.time, undefined, false, true));
          break;
        }
        // spans opened after the matching one never ended (a throw skipped spanEnd)
        while (stack.length > i + 1) {
          const inner = stack.pop() as OpenSpan;
          spans.push(spanOf(ev.pid, inner.name, inner.start, ev.time, inner.args));
        }
        const s = stack.pop() as OpenSpan;
        spans.push(spanOf(ev.pid, s.name, s.start, ev.time, s.args));
        break;
      }
      case "lock-wait":
        waits.set(`${ev.pid}\0${ev.lock}`, { start: ev.time, mode: ev.mode });
        break;
      case "lock-acquire":
      case "lock-abort": {
        const key = `${ev.pid}\0${ev.lock}`;
        const w = waits.get(key);
        waits.delete(key);
        const start = w !== undefined ? w.start : ev.time - ev.waitNs;
        const acquired = ev.type === "lock-acquire";
        if (w !== undefined || ev.waitNs > 0 || !acquired) {
          pushLock(
            ev.pid,
            ev.lock,
            "wait",
            ev.mode,
            start,
            ev.time,
            acquired ? "acquired" : "aborted",
          );
        }
        if (acquired) {
          holdsOf(key).push({ start: ev.time, kind: ev.mode === "write" ? "exclusive" : "shared" });
        }
        break;
      }
      case "lock-downgrade":
        closeHold(ev, "exclusive", "downgraded");
        holdsOf(`${ev.pid}\0${ev.lock}`).push({ start: ev.time, kind: "shared" });
        break;
      case "lock-release":
        closeHold(ev, ev.mode === "write" ? "exclusive" : "shared", "released");
        break;
      case "hung-task":
        instants.push({
          pid: ev.pid,
          time: ev.time,
          kind: "hung-task",
          name: "hung task",
          args: { message: ev.message, blockedNs: ev.blockedNs, comm: ev.comm },
        });
        break;
      case "mark":
        instants.push({
          pid: ev.pid,
          time: ev.time,
          kind: "mark",
          name: ev.name,
          args: ev.args ?? {},
        });
        break;
      case "task-start":
      case "task-exit":
        break;
    }
  }

  // Whatever is still open ends with the capture.
  for (const [pid, stack] of spanStacks) {
    for (const s of stack) spans.push(spanOf(pid, s.name, s.start, end, s.args, true));
  }
  for (const [key, w] of waits) {
    const [pid, lock] = splitKey(key);
    pushLock(pid, lock, "wait", w.mode, w.start, end, "open");
  }
  for (const [key, list] of holds) {
    const [pid, lock] = splitKey(key);
    for (const h of list) {
      const mode: LockMode = h.kind === "exclusive" ? "write" : "read";
      pushLock(pid, lock, h.kind, mode, h.start, end, "open");
    }
  }

  spans.sort(byStartThenLonger);
  locks.sort(byStartThenLonger);
  // A hung-task report the recorder did not see (it only listens during the measured phase)
  // still belongs on the timeline if the capture lists it.
  for (const r of capture.hungTaskReports) {
    if (!instants.some((i) => i.kind === "hung-task" && i.pid === r.pid && i.time === r.time)) {
      instants.push({
        pid: r.pid,
        time: r.time,
        kind: "hung-task",
        name: "hung task",
        args: { message: r.message, blockedNs: r.blockedNs, comm: r.comm },
      });
    }
  }
  instants.sort((a, b) => a.time - b.time);
  return { strategy: capture.strategy, t0, end, spans, locks, instants };
}

function spanOf(
  pid: number,
  name: string,
  start: number,
  end: number,
  args: Record<string, number | string> | undefined,
  open = false,
  cutStart = false,
): SpanInterval {
  const s: SpanInterval = { pid, name, start, end, open, cutStart };
  if (args !== undefined) s.args = args;
  return s;
}

function splitKey(key: string): [number, string] {
  const i = key.indexOf("\0");
  return [Number(key.slice(0, i)), key.slice(i + 1)];
}

/** Start ascending; at equal starts the longer first, so parents precede their children. */
export function byStartThenLonger(
  a: { start: number; end: number },
  b: { start: number; end: number },
): number {
  return a.start - b.start || b.end - a.end;
}
