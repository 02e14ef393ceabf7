import { cpu, current, type Instruction, Sim, type TraceEvent, TraceRecorder } from "@mmlab/sched";
import { describe, expect, it } from "vitest";
import { EINTR } from "./errno.js";
import { RwSemaphore } from "./rwsem.js";
import type { RwsemGeneration } from "./types.js";

type Log = [string, number, string][];
type Body = () => Generator<Instruction, unknown, unknown>;

/** A Sim, an mmap_sem and a SimPy-style log of [comm, now, event]. */
function setup(generation: RwsemGeneration = "v4.18") {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const sem = new RwSemaphore(sim, { name: "mmap_sem", generation });
  const log: Log = [];
  const note = (ev: string): void => {
    log.push([current().comm, sim.now, ev]);
  };
  const reader = (holdNs: number): Body =>
    function* () {
      note("down_read");
      yield* sem.downRead();
      note("got read");
      yield cpu(holdNs);
      note("up_read");
      sem.upRead();
    };
  const writer = (holdNs: number): Body =>
    function* () {
      note("down_write");
      yield* sem.downWrite();
      note("got write");
      yield cpu(holdNs);
      note("up_write");
      sem.upWrite();
    };
  return { sim, sem, log, note, reader, writer };
}

describe("RwSemaphore (sim front end) ordering", () => {
  it("a queued writer blocks later readers (v4.18)", () => {
    const { sim, sem, log, reader, writer } = setup();
    sim.spawn("r1", reader(10));
    sim.spawn("w", writer(5), { delayNs: 1 });
    sim.spawn("r2", reader(10), { delayNs: 2 });
    sim.run({ until: 5 });
    expect(sem.waiters().map((w) => `${w.task.comm}:${w.type}`)).toEqual(["w:write", "r2:read"]);
    expect(sim.tasks[1]?.waitChan).toBe("rwsem_down_write_failed");
    expect(sim.tasks[1]?.state).toBe("uninterruptible");
    sim.run();
    sem.validate(true);
    expect(log).toEqual([
      ["r1", 0, "down_read"],
      ["r1", 0, "got read"],
      ["w", 1, "down_write"],
      ["r2", 2, "down_read"],
      ["r1", 10, "up_read"],
      ["w", 10, "got write"],
      ["w", 15, "up_write"],
      ["r2", 15, "got read"],
      ["r2", 25, "up_read"],
    ]);
  });

  it("readers queued behind a writer are woken together (v4.18)", () => {
    const { sim, log, reader, writer } = setup();
    sim.spawn("w0", writer(10));
    sim.spawn("r1", reader(5), { delayNs: 1 });
    sim.spawn("r2", reader(7), { delayNs: 2 });
    sim.spawn("w3", writer(1), { delayNs: 3 });
    sim.spawn("r4", reader(1), { delayNs: 4 });
    sim.run();
    expect(log.filter((e) => e[2].startsWith("got"))).toEqual([
      ["w0", 0, "got write"],
      ["r1", 10, "got read"],
      ["r2", 10, "got read"],
      ["w3", 17, "got write"],
      ["r4", 18, "got read"],
    ]);
  });

  it("munmap with downgrade: head readers join at once, the writer waits for every reader", () => {
    const { sim, sem, log, note, reader, writer } = setup();
    sim.spawn("munmap", function* () {
      note("down_write");
      yield* sem.downWrite();
      yield cpu(10); // detach VMAs
      note("downgrade");
      sem.downgradeWrite();
      yield cpu(100); // zap under the read lock
      note("up_read");
      sem.upRead();
    });
    sim.spawn("fault1", reader(30), { delayNs: 5 });
    sim.spawn("fault2", reader(30), { delayNs: 6 });
    sim.spawn("mmap", writer(5), { delayNs: 20 });
    sim.spawn("ps", reader(1), { delayNs: 30 });
    sim.run();
    sem.validate(true);
    expect(log).toEqual([
      ["munmap", 0, "down_write"],
      ["fault1", 5, "down_read"],
      ["fault2", 6, "down_read"],
      ["munmap", 10, "downgrade"],
      ["fault1", 10, "got read"],
      ["fault2", 10, "got read"],
      ["mmap", 20, "down_write"],
      ["ps", 30, "down_read"],
      ["fault1", 40, "up_read"],
      ["fault2", 40, "up_read"],
      ["munmap", 110, "up_read"],
      ["mmap", 110, "got write"],
      ["mmap", 115, "up_write"],
      ["ps", 115, "got read"],
      ["ps", 116, "up_read"],
    ]);
  });

  it("a killed killable writer at the head lets the readers behind it in", () => {
    const { sim, sem, log, note, reader } = setup();
    const rec = new TraceRecorder(sim);
    sim.spawn("r0", reader(100));
    const w1 = sim.spawn(
      "w1",
      function* () {
        note("down_write_killable");
        const err = yield* sem.downWriteKillable();
        note(`-> ${err}`);
      },
      { delayNs: 10 },
    );
    sim.spawn("r2", reader(1), { delayNs: 20 });
    sim.spawn("r3", reader(1), { delayNs: 20 });
    sim.spawn(
      "killer",
      function* () {
        note("kill w1");
        w1.kill();
        yield cpu(0);
      },
      { delayNs: 50 },
    );
    sim.run();
    rec.stop();
    sem.validate(true);
    expect(log).toEqual([
      ["r0", 0, "down_read"],
      ["r0", 0, "got read"],
      ["w1", 10, "down_write_killable"],
      ["r2", 20, "down_read"],
      ["r3", 20, "down_read"],
      ["killer", 50, "kill w1"],
      ["w1", 50, `-> ${-EINTR}`],
      ["r2", 50, "got read"],
      ["r3", 50, "got read"],
      ["r2", 51, "up_read"],
      ["r3", 51, "up_read"],
      ["r0", 100, "up_read"],
    ]);
    const lockEvents = rec.events.filter((e) => e.type.startsWith("lock-"));
    expect(lockEvents.map((e: TraceEvent) => [e.type, e.time, e.pid])).toEqual([
      ["lock-acquire", 0, 1000],
      ["lock-wait", 10, 1001],
      ["lock-wait", 20, 1002],
      ["lock-wait", 20, 1003],
      ["lock-abort", 50, 1001],
      ["lock-acquire", 50, 1002],
      ["lock-acquire", 50, 1003],
      ["lock-release", 51, 1002],
      ["lock-release", 51, 1003],
      ["lock-release", 100, 1000],
    ]);
    expect(lockEvents[4]).toEqual({
      type: "lock-abort",
      time: 50,
      pid: 1001,
      lock: "mmap_sem",
      mode: "write",
      waitNs: 40,
    });
  });

  it("a killed killable reader leaves the lock usable; an uninterruptible one ignores kill", () => {
    const { sim, sem, log, note, writer } = setup();
    sim.spawn("w0", writer(100));
    const k = sim.spawn("rk", function* () {
      note(`-> ${yield* sem.downReadKillable()}`);
    });
    const u = sim.spawn("ru", function* () {
      yield* sem.downRead();
      note("got read");
      sem.upRead();
    });
    sim.spawn(
      "killer",
      function* () {
        k.kill();
        u.kill();
        yield cpu(0);
      },
      { delayNs: 10 },
    );
    sim.spawn("w2", writer(1), { delayNs: 20 });
    sim.run();
    sem.validate(true);
    expect(log.filter((e) => !e[2].startsWith("down"))).toEqual([
      ["w0", 0, "got write"],
      ["rk", 10, `-> ${-EINTR}`],
      ["w0", 100, "up_write"],
      ["ru", 100, "got read"],
      ["w2", 100, "got write"],
      ["w2", 101, "up_write"],
    ]);
    expect(sem.history.map((r) => r.comm)).toEqual(["w0", "ru", "w2"]);
  });

  it("v4.18 writer stealing: a running writer retakes the lock ahead of the woken one", () => {
    const { sim, sem, log, note } = setup("v4.18");
    sim.spawn("thief", function* () {
      yield* sem.downWrite();
      for (let i = 0; i < 3; i++) {
        yield cpu(1e6);
        sem.upWrite(); // wakes w1 ...
        yield* sem.downWrite(); // ... and steals the lock before w1 runs
        note("reacquire");
      }
      yield cpu(1e6);
      sem.upWrite();
    });
    sim.spawn(
      "w1",
      function* () {
        yield* sem.downWrite();
        note("got write");
        sem.upWrite();
      },
      { delayNs: 5e5 },
    );
    sim.run();
    expect(log).toEqual([
      ["thief", 1e6, "reacquire"],
      ["thief", 2e6, "reacquire"],
      ["thief", 3e6, "reacquire"],
      ["w1", 4e6, "got write"],
    ]);
  });

  it.each(["v4.18", "v5.3"] as const)(
    "%s: HANDOFF after 4 ms stops the stealing in v5.3 only",
    (generation) => {
      const { sim, sem, log, note } = setup(generation);
      sim.spawn("thief", function* () {
        yield* sem.downWrite();
        for (let i = 0; i < 8; i++) {
          yield cpu(1e6);
          sem.upWrite();
          yield* sem.downWrite();
          note("reacquire");
        }
        yield cpu(1e6);
        sem.upWrite();
      });
      sim.spawn(
        "w1",
        function* () {
          yield* sem.downWrite();
          note(`got write handoff=${sem.handoff}`);
          yield cpu(1e6);
          sem.upWrite();
        },
        { delayNs: 5e5 },
      );
      sim.run();
      sem.validate(true);
      const steals = [1e6, 2e6, 3e6, 4e6, 5e6].map((t) => ["thief", t, "reacquire"]);
      if (generation === "v4.18") {
        expect(log).toEqual([
          ...steals,
          ...[6e6, 7e6, 8e6].map((t) => ["thief", t, "reacquire"]),
          ["w1", 9e6, "got write handoff=false"],
        ]);
      } else {
        // w1 queued at 0.5 ms; at 5 ms it has waited 4.5 ms > RWSEM_WAIT_TIMEOUT and sets
        // HANDOFF; the thief's next down_write at 6 ms has to queue behind it.
        expect(log).toEqual([
          ...steals,
          ["w1", 6e6, "got write handoff=false"],
          ["thief", 7e6, "reacquire"],
          ["thief", 8e6, "reacquire"],
          ["thief", 9e6, "reacquire"],
        ]);
      }
    },
  );
});

describe("RwSemaphore misuse (lockdep-like)", () => {
  function runOne(generation: RwsemGeneration, body: (sem: RwSemaphore) => Body) {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const sem = new RwSemaphore(sim, { name: "mmap_sem", generation });
    sim.spawn("ps", body(sem), { pid: 14018 });
    return () => sim.run();
  }

  it("upRead() without holding", () => {
    const run = runOne(
      "v4.18",
      (sem) =>
        function* () {
          yield cpu(1);
          sem.upRead();
        },
    );
    expect(run).toThrow("@mmlab/rwsem: upRead() by task ps:14018 which does not hold mmap_sem");
  });

  it("upWrite() by a task that is not the owner", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const sem = new RwSemaphore(sim, { name: "mmap_sem" });
    sim.spawn("munmap", function* () {
      yield* sem.downWrite();
      yield cpu(10);
    });
    sim.spawn("ps", function* () {
      yield cpu(1);
      sem.upWrite();
    });
    expect(() => sim.run()).toThrow(
      "@mmlab/rwsem: upWrite() by task ps:1001 which does not own mmap_sem (owner munmap:1000)",
    );
    expect(sem.isWriteLocked).toBe(true); // bad input changes nothing
  });

  it("downgradeWrite() by a reader", () => {
    const run = runOne(
      "v5.3",
      (sem) =>
        function* () {
          yield* sem.downRead();
          sem.downgradeWrite();
        },
    );
    expect(run).toThrow(
      "@mmlab/rwsem: downgradeWrite() of mmap_sem by task ps:14018 which holds it only for read",
    );
  });

  it("recursive downWrite() and downRead() by the write owner, downWrite() by a reader", () => {
    const rec = runOne(
      "v4.18",
      (sem) =>
        function* () {
          yield* sem.downWrite();
          yield* sem.downWrite();
        },
    );
    expect(rec).toThrow(
      "@mmlab/rwsem: downWrite() by task ps:14018 which already holds mmap_sem for write (recursive locking deadlock)",
    );
    const rd = runOne(
      "v4.18",
      (sem) =>
        function* () {
          yield* sem.downWrite();
          yield* sem.downRead();
        },
    );
    expect(rd).toThrow("@mmlab/rwsem: downRead() by task ps:14018 which holds mmap_sem for write");
    const up = runOne(
      "v4.18",
      (sem) =>
        function* () {
          yield* sem.downRead();
          yield* sem.downWriteKillable();
        },
    );
    expect(up).toThrow(
      "@mmlab/rwsem: downWriteKillable() by task ps:14018 which holds mmap_sem for read (self deadlock)",
    );
  });
});

describe("RwSemaphore statistics", () => {
  it("splits a downgraded hold into exclusive and shared parts", () => {
    const { sim, sem, reader } = setup();
    sim.spawn("munmap", function* () {
      yield* sem.downWrite();
      yield cpu(10);
      sem.downgradeWrite();
      yield cpu(20);
      sem.upRead();
    });
    sim.spawn("fault", reader(10), { delayNs: 5 });
    sim.run();
    expect(sem.history).toEqual([
      {
        pid: 1000,
        comm: "munmap",
        mode: "write",
        requestedAt: 0,
        acquiredAt: 0,
        releasedAt: 30,
        downgradedAt: 10,
      },
      {
        pid: 1001,
        comm: "fault",
        mode: "read",
        requestedAt: 5,
        acquiredAt: 10,
        releasedAt: 20,
        downgradedAt: Number.NaN,
      },
    ]);
    const s = sem.stats();
    expect(s.exclusive.hold).toEqual({
      count: 1,
      total: 10,
      min: 10,
      max: 10,
      mean: 10,
      p50: 10,
      p90: 10,
      p99: 10,
    });
    expect(s.shared.hold).toEqual({
      count: 2,
      total: 30,
      min: 10,
      max: 20,
      mean: 15,
      p50: 10,
      p90: 20,
      p99: 20,
    });
    expect(s.shared.wait).toMatchObject({ count: 1, total: 5, max: 5 });
    expect(s.exclusive.wait).toMatchObject({ count: 1, total: 0, max: 0 });
  });

  it("has nearest-rank percentiles over many acquisitions", () => {
    const { sim, sem } = setup();
    for (let i = 1; i <= 100; i++) {
      sim.spawn(`r${i}`, function* () {
        yield* sem.downRead();
        yield cpu(i);
        sem.upRead();
      });
    }
    sim.run();
    expect(sem.stats().shared.hold).toEqual({
      count: 100,
      total: 5050,
      min: 1,
      max: 100,
      mean: 50.5,
      p50: 50,
      p90: 90,
      p99: 99,
    });
    expect(Number.isNaN(sem.stats().exclusive.hold.mean)).toBe(true);
  });
});
