import { describe, expect, it } from "vitest";
import type { TraceCapture } from "../types.js";
import { CAPTURE_PID_STRIDE, type ChromeTraceEvent, toChromeTrace } from "./chrome-trace.js";
import { validateChromeTrace } from "./chrome-trace-validate.js";
import { smallRun } from "./test-run.js";

const run = smallRun();

/** The non-metadata events of one thread, as [ph, name, ts] in file order. */
function threadLog(events: readonly ChromeTraceEvent[], pid: number, tid: number) {
  return events
    .filter((e) => e.ph !== "M" && e.pid === pid && e.tid === tid)
    .map((e) => [e.ph, e.name, e.ts] as const);
}

/** B/E pairs of one thread as [name, startNs, endNs, depth]. */
function slices(events: readonly ChromeTraceEvent[], pid: number, tid: number) {
  const out: Array<[string, number, number, number]> = [];
  const stack: ChromeTraceEvent[] = [];
  for (const e of events) {
    if (e.pid !== pid || e.tid !== tid) continue;
    if (e.ph === "B") stack.push(e);
    if (e.ph === "E") {
      const b = stack.pop() as ChromeTraceEvent;
      out.push([b.name, ns(b.ts), ns(e.ts), stack.length]);
    }
  }
  return out.sort((a, b) => a[1] - b[1] || a[3] - b[3]);
}

const ns = (us: number | undefined) => Math.round((us as number) * 1000);

describe("toChromeTrace on a small real run (64 MiB, classic and zapRlock)", () => {
  const trace = toChromeTrace(run.captures);

  it("is a well-formed trace Perfetto and chrome://tracing can load", () => {
    expect(() => validateChromeTrace(trace)).not.toThrow();
    expect(trace.displayTimeUnit).toBe("ns");
    // and survives being written to a file
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
  });

  it("names one process per simulated process and strategy, one thread per task (tid = pid)", () => {
    const names = trace.traceEvents
      .filter((e) => e.ph === "M" && e.name === "process_name")
      .map((e) => [e.pid, (e.args as { name: string }).name]);
    expect(names).toEqual([
      [14018, "classic · ps (pid 14018)"],
      [15000, "classic · munmap_test (pid 15000)"],
      [CAPTURE_PID_STRIDE + 14018, "zapRlock · ps (pid 14018)"],
      [CAPTURE_PID_STRIDE + 15000, "zapRlock · munmap_test (pid 15000)"],
    ]);
    const threads = trace.traceEvents
      .filter((e) => e.ph === "M" && e.name === "thread_name" && e.pid === 15000)
      .map((e) => [e.tid, (e.args as { name: string }).name]);
    expect(threads).toEqual([
      [15001, "munmap_test"],
      [15002, "faulter0"],
      [15003, "faulter1"],
      [15004, "writer0"],
    ]);
  });

  it("classic: SyS_munmap > exclusive hold > do_munmap, the hold as long as the JSON says", () => {
    const [classic] = run.json.results;
    const s = slices(trace.traceEvents, 15000, 15001);
    const call = s.find((x) => x[0] === "SyS_munmap") as [string, number, number, number];
    const hold = s.find((x) => x[0] === "hold mmap_sem (exclusive)") as typeof call;
    const body = s.find((x) => x[0] === "do_munmap") as typeof call;
    expect([call[3], hold[3], body[3]]).toEqual([0, 1, 2]);
    expect(hold[2] - hold[1]).toBe(classic?.exclusiveHoldNs);
    expect(s.some((x) => x[0] === "hold mmap_sem (shared)")).toBe(false);
  });

  it("zapRlock: µs exclusive hold, then shared hold around unmap_region, as in the JSON", () => {
    const zap = run.json.results[1];
    const s = slices(trace.traceEvents, CAPTURE_PID_STRIDE + 15000, 15001);
    const names = s.filter((x) => x[0] !== "SyS_munmap" || x[3] === 0).map((x) => [x[0], x[3]]);
    expect(names).toEqual([
      ["SyS_munmap", 0],
      ["hold mmap_sem (exclusive)", 1],
      ["hold mmap_sem (shared)", 1],
      ["unmap_region", 2],
    ]);
    const excl = s[1] as [string, number, number, number];
    const shared = s[2] as typeof excl;
    expect(excl[2] - excl[1]).toBe(zap?.exclusiveHoldNs);
    expect(excl[2] - excl[1]).toBe(8000);
    expect(shared[2] - shared[1]).toBe(zap?.sharedHoldNs);
    expect(shared[1]).toBe(excl[2]); // the downgrade
  });

  it("has a wait slice for every lock wait of ps, and a hung-task instant per report", () => {
    for (const [i, capture] of run.captures.entries()) {
      const pid = i * CAPTURE_PID_STRIDE + 14018;
      const result = run.json.results[i];
      const waits = slices(trace.traceEvents, pid, 14018).filter((x) => x[0].startsWith("wait"));
      // the JSON counts every acquisition, also the uncontended ones (wait 0, no slice)
      const contended = capture.events.filter(
        (e) => e.pid === 14018 && e.type === "lock-acquire" && e.waitNs > 0,
      );
      expect(waits.map((w) => w[2] - w[1])).toEqual(
        contended.map((e) => (e.type === "lock-acquire" ? e.waitNs : -1)),
      );
      expect(Math.max(0, ...waits.map((w) => w[2] - w[1]))).toBe(result?.psWait.max);
      const hung = trace.traceEvents.filter((e) => e.ph === "i" && e.cat === "hung-task");
      const mine = hung.filter((e) => Math.floor(e.pid / CAPTURE_PID_STRIDE) === i);
      expect(mine.map((e) => e.tid).sort()).toEqual(
        (result?.hungTaskReports ?? []).map((r) => r.pid).sort(),
      );
    }
  });

  it("classic blocks ps for the whole munmap and the watchdog says so; zapRlock does not", () => {
    const [classic, zap] = run.json.results;
    expect(classic?.hungTaskReports.map((r) => r.comm).sort()).toEqual([
      "faulter0",
      "faulter1",
      "ps",
    ]);
    expect(zap?.hungTaskReports).toEqual([]);
  });
});

describe("toChromeTrace on a hand-written capture", () => {
  // t0 = 1000 ns. The recorder starts while pid 2 holds the lock shared (its release carries
  // holdNs) and stops while pid 3 still waits; pid 1's span began before the capture.
  const capture: TraceCapture = {
    strategy: "zapRlock",
    t0: 1000,
    tasks: [
      { pid: 1, tgid: 1, comm: "munmap" },
      { pid: 2, tgid: 1, comm: "ps<&>" },
      { pid: 3, tgid: 3, comm: "faulter" },
    ],
    events: [
      { type: "span-begin", time: 1000, pid: 1, name: "SyS_munmap" },
      { type: "lock-wait", time: 1000, pid: 1, lock: "mmap_sem", mode: "write" },
      { type: "lock-release", time: 1500, pid: 2, lock: "mmap_sem", mode: "read", holdNs: 2000 },
      { type: "lock-acquire", time: 1500, pid: 1, lock: "mmap_sem", mode: "write", waitNs: 500 },
      { type: "lock-downgrade", time: 1510, pid: 1, lock: "mmap_sem", holdNs: 10 },
      { type: "span-begin", time: 1511, pid: 1, name: "unmap_region", args: { pages: 2 } },
      { type: "lock-wait", time: 1600, pid: 3, lock: "mmap_sem", mode: "write" },
      { type: "span-end", time: 2511, pid: 1, name: "unmap_region" },
      { type: "lock-release", time: 2512, pid: 1, lock: "mmap_sem", mode: "read", holdNs: 1002 },
      { type: "span-end", time: 2513, pid: 1, name: "SyS_munmap" },
      { type: "span-end", time: 2600, pid: 2, name: "SyS_read" },
      {
        type: "hung-task",
        time: 3000,
        pid: 3,
        comm: "faulter",
        blockedNs: 1400,
        message: "INFO: task faulter:3 blocked for more than 0.000001 seconds.",
      },
    ],
    hungTaskReports: [],
  };

  it("pairs waits and holds, rebuilds cut intervals from holdNs, closes open ones at the end", () => {
    const trace = toChromeTrace([capture]);
    expect(() => validateChromeTrace(trace)).not.toThrow();
    expect(threadLog(trace.traceEvents, 1, 1)).toEqual([
      ["B", "SyS_munmap", 0],
      ["B", "wait mmap_sem (write)", 0],
      ["E", "wait mmap_sem (write)", 0.5],
      ["B", "hold mmap_sem (exclusive)", 0.5],
      ["E", "hold mmap_sem (exclusive)", 0.51],
      ["B", "hold mmap_sem (shared)", 0.51],
      ["B", "unmap_region", 0.511],
      ["E", "unmap_region", 1.511],
      ["E", "hold mmap_sem (shared)", 1.512],
      ["E", "SyS_munmap", 1.513],
    ]);
    // pid 2's hold began 2000 ns before its release, before t0, and so did the SyS_read it
    // ran in: both start at t0, flagged.
    expect(threadLog(trace.traceEvents, 1, 2)).toEqual([
      ["B", "SyS_read", 0],
      ["B", "hold mmap_sem (shared)", 0],
      ["E", "hold mmap_sem (shared)", 0.5],
      ["E", "SyS_read", 1.6],
    ]);
    const held = trace.traceEvents.find(
      (e) => e.tid === 2 && e.ph === "B" && e.cat === "lock-hold",
    );
    expect(held?.args).toEqual({
      lock: "mmap_sem",
      mode: "shared",
      holdNs: 500,
      outcome: "released",
      beganBeforeCapture: true,
    });
    // pid 3 still waits when the capture ends (at its last event, the report)
    expect(threadLog(trace.traceEvents, 3, 3)).toEqual([
      ["B", "wait mmap_sem (write)", 0.6],
      ["i", "hung task", 2],
      ["E", "wait mmap_sem (write)", 2],
    ]);
    expect(trace.traceEvents.filter((e) => e.ph === "M" && e.name === "process_name")).toEqual([
      {
        name: "process_name",
        ph: "M",
        pid: 1,
        tid: 0,
        args: { name: "zapRlock · munmap (pid 1)" },
      },
      {
        name: "process_name",
        ph: "M",
        pid: 3,
        tid: 0,
        args: { name: "zapRlock · faulter (pid 3)" },
      },
    ]);
  });

  it("moves an interval that would only partly overlap its enclosing one to an async track", () => {
    const trace = toChromeTrace([
      {
        strategy: "x",
        t0: 0,
        tasks: [{ pid: 7, tgid: 7, comm: "t" }],
        events: [
          { type: "span-begin", time: 0, pid: 7, name: "outer" },
          { type: "lock-acquire", time: 5, pid: 7, lock: "l", mode: "read", waitNs: 0 },
          { type: "span-end", time: 10, pid: 7, name: "outer" },
          { type: "lock-release", time: 20, pid: 7, lock: "l", mode: "read", holdNs: 15 },
        ],
        hungTaskReports: [],
      },
    ]);
    expect(() => validateChromeTrace(trace)).not.toThrow();
    expect(threadLog(trace.traceEvents, 7, 7)).toEqual([
      ["B", "outer", 0],
      ["b", "hold l (shared)", 0.005],
      ["E", "outer", 0.01],
      ["e", "hold l (shared)", 0.02],
    ]);
  });

  it("keeps ns precision as µs fractions", () => {
    const trace = toChromeTrace([
      {
        strategy: "x",
        t0: 1e9,
        tasks: [{ pid: 7, tgid: 7, comm: "t" }],
        events: [
          { type: "span-begin", time: 1e9 + 1_234_567, pid: 7, name: "SyS_munmap" },
          { type: "span-end", time: 1e9 + 17_920_000_001, pid: 7, name: "SyS_munmap" },
        ],
        hungTaskReports: [],
      },
    ]);
    const [b, e] = trace.traceEvents.filter((x) => x.ph !== "M");
    expect([b?.ts, e?.ts, b?.cat]).toEqual([1234.567, 17_920_000.001, "syscall"]);
  });
});
