import { describe, expect, it } from "vitest";
import { block, cpu, sleep } from "./instruction.js";
import { Sim } from "./sim.js";
import type { Task } from "./task.js";
import { TraceRecorder } from "./trace.js";

const S = 1e9;

/** A task that blocks uninterruptibly at `at` and is woken at `until` (or never). */
function blocker(sim: Sim, comm: string, at: number, until?: number, pid?: number): Task {
  const t = sim.spawn(
    comm,
    function* () {
      if (at > 0) yield cpu(at);
      yield block("uninterruptible", "rwsem_down_read_failed");
    },
    pid === undefined ? {} : { pid },
  );
  if (until !== undefined) {
    sim.spawn(`waker-${comm}`, function* () {
      yield sleep(until);
      sim.wake(t);
    });
  }
  return t;
}

const summary = (sim: Sim) => sim.hungTaskReports.map((r) => [r.time / S, r.comm, r.blockedNs / S]);

describe("hung-task watchdog (kernel/hung_task.c v4.19)", () => {
  it("reports a D task at the second check after it blocked, with the kernel's text", () => {
    const sim = new Sim();
    blocker(sim, "ps", 10 * S, 1000 * S, 14018);
    sim.run();
    // check 120 s: switch count 1 first seen, last_switch_time = 120 s; check 240 s: 240 >= 120 + 120
    expect(sim.hungTaskReports).toEqual([
      {
        time: 240 * S,
        pid: 14018,
        comm: "ps",
        blockedNs: 230 * S,
        message: "INFO: task ps:14018 blocked for more than 120 seconds.",
      },
    ]);
  });

  it("reports once per blocking episode, and again after the task ran and blocked anew", () => {
    const sim = new Sim();
    const t = sim.spawn("ps", function* () {
      yield block("uninterruptible");
      yield cpu(1 * S);
      yield block("uninterruptible");
    });
    sim.spawn("waker", function* () {
      yield sleep(500 * S);
      sim.wake(t);
      yield sleep(1000 * S);
      sim.wake(t);
    });
    sim.run();
    // episode 1 from 0 s: seen at 120, hung at 240; episode 2 from 501 s: seen at 600, hung at 720
    expect(summary(sim)).toEqual([
      [240, "ps", 240],
      [720, "ps", 219],
    ]);
  });

  it("with hungTaskReportOncePerEpisode: false repeats at every check like v4.19", () => {
    const sim = new Sim({ hungTaskReportOncePerEpisode: false });
    blocker(sim, "ps", 0, 500 * S);
    sim.run();
    expect(summary(sim)).toEqual([
      [240, "ps", 240],
      [360, "ps", 360],
      [480, "ps", 480],
    ]);
  });

  it("checks only TASK_UNINTERRUPTIBLE: not killable, interruptible, sleep() or join() waits", () => {
    const sim = new Sim();
    const long = sim.spawn("long", function* () {
      yield cpu(1000 * S);
    });
    const k = sim.spawn("killable", function* () {
      yield block("killable");
    });
    const i = sim.spawn("interruptible", function* () {
      yield block("interruptible");
    });
    sim.spawn("sleeper", function* () {
      yield sleep(900 * S);
    });
    sim.spawn("joiner", function* () {
      yield* long.join();
    });
    sim.run({ until: 1000 * S });
    expect([k.state, i.state]).toEqual(["uninterruptible", "sleeping"]);
    expect(sim.hungTaskReports).toEqual([]);
  });

  it("does not report a task that keeps switching between checks", () => {
    const sim = new Sim();
    const t = sim.spawn("busy", function* () {
      for (;;) yield block("uninterruptible");
    });
    sim.spawn("waker", function* () {
      for (let n = 0; n < 10; n++) {
        yield sleep(100 * S);
        sim.wake(t);
      }
    });
    sim.run();
    expect(sim.now).toBe(1000 * S);
    expect(sim.hungTaskReports).toEqual([]);
  });

  it("with a shorter check interval reports at the first check >= last_switch_time + timeout", () => {
    const sim = new Sim({ hungTaskCheckIntervalNs: 10 * S });
    blocker(sim, "ps", 5 * S, 300 * S);
    sim.run();
    expect(summary(sim)).toEqual([[130, "ps", 125]]);
  });

  it("caps the check interval at the timeout", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 10 * S, hungTaskCheckIntervalNs: 100 * S });
    blocker(sim, "ps", 0, 50 * S);
    sim.run();
    expect(summary(sim)).toEqual([[20, "ps", 20]]);
  });

  it("stops after hung_task_warnings reports; -1 is unlimited", () => {
    const limited = new Sim({ hungTaskWarnings: 2 });
    const unlimited = new Sim({ hungTaskWarnings: -1 });
    for (const sim of [limited, unlimited]) {
      for (let n = 0; n < 12; n++) blocker(sim, `t${n}`, n * S, 400 * S);
      sim.run();
    }
    expect(summary(limited)).toEqual([
      [240, "t0", 240],
      [240, "t1", 239],
    ]);
    expect(summary(unlimited)).toHaveLength(12);
  });

  it("is silent with hungTaskWarnings 0 and off with hungTaskTimeoutNs 0", () => {
    const silent = new Sim({ hungTaskWarnings: 0 });
    const off = new Sim({ hungTaskTimeoutNs: 0 });
    for (const sim of [silent, off]) {
      blocker(sim, "ps", 0, 1000 * S);
      expect(sim.run()).toBe(1000 * S);
      expect(sim.hungTaskReports).toEqual([]);
    }
    expect(off.peek()).toBe(Number.POSITIVE_INFINITY);
  });

  it("does not keep run() alive by itself, but ticks up to run({ until })", () => {
    const sim = new Sim();
    blocker(sim, "stuck", 7 * S);
    expect(sim.run()).toBe(7 * S);
    expect(sim.hungTaskReports).toEqual([]);
    expect(sim.run({ until: 300 * S })).toBe(300 * S);
    expect(summary(sim)).toEqual([[240, "stuck", 233]]);
  });

  it("emits hung-task trace events", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 2 * S });
    const rec = new TraceRecorder(sim);
    blocker(sim, "ps", 0, 5 * S, 14018);
    sim.run();
    expect(rec.events.filter((e) => e.type === "hung-task")).toEqual([
      {
        type: "hung-task",
        time: 4 * S,
        pid: 14018,
        comm: "ps",
        blockedNs: 4 * S,
        message: "INFO: task ps:14018 blocked for more than 2 seconds.",
      },
    ]);
  });
});
