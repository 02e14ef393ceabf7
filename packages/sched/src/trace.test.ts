import { describe, expect, it } from "vitest";
import { current } from "./current.js";
import { cpu } from "./instruction.js";
import { Sim } from "./sim.js";
import { type TraceEvent, TraceRecorder, traced } from "./trace.js";

describe("tracing", () => {
  it("records task start/exit, spans with args, marks and emitted lock events", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const rec = new TraceRecorder(sim);
    sim.spawn("munmap", function* () {
      sim.spanBegin("unmap_region", { pages: 512 });
      yield cpu(10);
      sim.emit({
        type: "lock-release",
        time: sim.now,
        pid: current().pid,
        lock: "mmap_sem",
        mode: "write",
        holdNs: 10,
      });
      sim.spanEnd("unmap_region");
      sim.mark("done");
    });
    sim.run();
    expect(rec.events).toEqual([
      { type: "task-start", time: 0, pid: 1000, comm: "munmap" },
      { type: "span-begin", time: 0, pid: 1000, name: "unmap_region", args: { pages: 512 } },
      { type: "lock-release", time: 10, pid: 1000, lock: "mmap_sem", mode: "write", holdNs: 10 },
      { type: "span-end", time: 10, pid: 1000, name: "unmap_region" },
      { type: "mark", time: 10, pid: 1000, name: "done" },
      { type: "task-exit", time: 10, pid: 1000, comm: "munmap" },
    ] satisfies TraceEvent[]);
  });

  it("traced() closes its span also when the body throws", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const rec = new TraceRecorder(sim);
    function* zap(fail: boolean): Generator<ReturnType<typeof cpu>, number, unknown> {
      yield cpu(5);
      if (fail) throw new Error("use-after-free");
      return 512;
    }
    let got = 0;
    sim.spawn("ok", function* () {
      got = yield* traced("zap_pte_range", zap(false));
    });
    sim.spawn("bad", function* () {
      yield* traced("zap_pte_range", zap(true));
    });
    expect(() => sim.run()).toThrow("use-after-free (in task bad:1001 at 5 ns)");
    expect(got).toBe(512);
    expect(rec.events.filter((e) => e.type.startsWith("span"))).toEqual([
      { type: "span-begin", time: 0, pid: 1000, name: "zap_pte_range" },
      { type: "span-begin", time: 0, pid: 1001, name: "zap_pte_range" },
      { type: "span-end", time: 5, pid: 1000, name: "zap_pte_range" },
      { type: "span-end", time: 5, pid: 1001, name: "zap_pte_range" },
    ]);
  });

  it("sets tracing only while someone listens; stop() and unsubscribe are idempotent", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    expect(sim.tracing).toBe(false);
    const seen: string[] = [];
    const unsubscribe = sim.subscribe((e) => seen.push(e.type));
    const rec = new TraceRecorder(sim);
    expect(sim.tracing).toBe(true);
    rec.stop();
    rec.stop();
    expect(sim.tracing).toBe(true);
    unsubscribe();
    unsubscribe();
    expect(sim.tracing).toBe(false);
    sim.spawn("t", function* () {
      sim.spanBegin("nobody listens");
      yield cpu(1);
    });
    sim.run();
    expect(seen).toEqual([]);
    expect(rec.events).toEqual([]);
    // outside a task, spans and marks carry pid 0
    sim.subscribe((e) => seen.push(`${e.type}:${e.pid}`));
    sim.mark("setup", { n: 1 });
    expect(seen).toEqual(["mark:0"]);
    // @ts-expect-error: deliberately wrong
    expect(() => sim.subscribe(5)).toThrow(TypeError);
  });
});
