import { describe, expect, it } from "vitest";
import { current } from "./current.js";
import { EINTR } from "./errno.js";
import { block, cpu, type Instruction, sleep } from "./instruction.js";
import { EmptySchedule, Sim } from "./sim.js";
import type { Task } from "./task.js";

type Entry = [string, number, unknown];

/** A Sim without the watchdog plus a SimPy-style log of [who, now, what]. */
function setup(opts: ConstructorParameters<typeof Sim>[0] = {}) {
  const sim = new Sim({ hungTaskTimeoutNs: 0, ...opts });
  const log: Entry[] = [];
  const note = (what: unknown) => log.push([current().comm, sim.now, what]);
  return { sim, log, note };
}

describe("Sim: ordering", () => {
  it("runs cpu() and sleep() in time order and returns the final time", () => {
    const { sim, log, note } = setup();
    sim.spawn("a", function* () {
      note("start");
      yield cpu(30);
      note("cpu done");
    });
    sim.spawn("b", function* () {
      note("start");
      const r = yield sleep(10);
      note(r);
      yield cpu(5);
      note("end");
    });
    expect(sim.run()).toBe(30);
    expect(log).toEqual([
      ["a", 0, "start"],
      ["b", 0, "start"],
      ["b", 10, 0],
      ["b", 15, "end"],
      ["a", 30, "cpu done"],
    ]);
  });

  it("runs ties at the same (time, priority) first in, first out", () => {
    const { sim, log, note } = setup();
    for (const name of ["p", "q", "r"]) {
      sim.spawn(name, function* () {
        for (let i = 0; i < 2; i++) {
          yield cpu(10);
          note(i);
        }
      });
    }
    sim.run();
    expect(log).toEqual([
      ["p", 10, 0],
      ["q", 10, 0],
      ["r", 10, 0],
      ["p", 20, 1],
      ["q", 20, 1],
      ["r", 20, 1],
    ]);
  });

  it("runs wake-ups (URGENT) before timer expiries (NORMAL) at the same time", () => {
    const { sim, log, note } = setup();
    let z: Task | null = null;
    sim.spawn("waker", function* () {
      yield cpu(10);
      sim.wake(z as Task, "hello");
      note("woke z");
    });
    sim.spawn("timer", function* () {
      yield sleep(10);
      note("timer");
    });
    z = sim.spawn("z", function* () {
      note(yield block("uninterruptible"));
    });
    sim.run();
    expect(log).toEqual([
      ["waker", 10, "woke z"],
      ["z", 10, "hello"],
      ["timer", 10, "timer"],
    ]);
  });

  it("runs a woken task only after the waker yields", () => {
    const { sim, log, note } = setup();
    const sleeper = sim.spawn("sleeper", function* () {
      note(yield block("interruptible"));
    });
    sim.spawn("waker", function* () {
      note(`wake -> ${sim.wake(sleeper, 7)}`);
      note(`state ${sleeper.state}`);
      yield cpu(0);
      note("after yield");
    });
    sim.run();
    expect(log).toEqual([
      ["waker", 0, "wake -> true"],
      ["waker", 0, "state runnable"],
      ["sleeper", 0, 7],
      ["waker", 0, "after yield"],
    ]);
  });

  it("is deterministic: the same program twice gives the same trace", () => {
    const once = () => {
      const { sim, log, note } = setup({ seed: 9, cpus: 2 });
      for (let t = 0; t < 6; t++) {
        sim.spawn(`t${t}`, function* () {
          for (let i = 0; i < 5; i++) {
            yield cpu(Math.floor(sim.random.jitter(100, 0.5)));
            if (sim.random.next() < 0.3) yield sleep(sim.random.int(50));
            note(i);
          }
        });
      }
      sim.run();
      return log;
    };
    const a = once();
    expect(a).toHaveLength(30);
    expect(once()).toEqual(a);
  });
});

describe("Sim: shuffleTies", () => {
  const trace = (seed: number, shuffleTies: boolean) => {
    const { sim, log, note } = setup({ seed, shuffleTies });
    for (let t = 0; t < 8; t++) {
      sim.spawn(`t${t}`, function* () {
        for (let i = 0; i < 3; i++) {
          yield cpu(10);
          note(i);
        }
      });
    }
    sim.run();
    return log;
  };

  it("breaks ties reproducibly per seed", () => {
    expect(trace(5, true)).toEqual(trace(5, true));
    expect(trace(5, true)).not.toEqual(trace(6, true));
  });

  it("only reorders events tied in time", () => {
    const fifo = trace(5, false);
    const shuffled = trace(5, true);
    expect(shuffled).not.toEqual(fifo);
    const byTime = (log: Entry[]) => log.map(([who, t, i]) => `${t}:${who}:${String(i)}`).sort();
    expect(byTime(shuffled)).toEqual(byTime(fifo));
    for (let i = 1; i < shuffled.length; i++) {
      expect((shuffled[i] as Entry)[1]).toBeGreaterThanOrEqual((shuffled[i - 1] as Entry)[1]);
    }
  });
});

describe("Sim: CPU contention (cpus: N)", () => {
  it("queues cpu() FIFO for a free CPU, with the waiter runnable", () => {
    const { sim, log, note } = setup({ cpus: 1 });
    const tasks = ["a", "b", "c"].map((name, i) =>
      sim.spawn(name, function* () {
        yield cpu(10 - 2 * i);
        note("done");
      }),
    );
    sim.step(); // a starts and takes the CPU
    sim.step(); // b starts and queues
    expect(tasks.map((t) => t.state)).toEqual(["running", "runnable", "runnable"]);
    sim.run();
    expect(log).toEqual([
      ["a", 10, "done"],
      ["b", 18, "done"],
      ["c", 24, "done"],
    ]);
    expect(tasks.map((t) => t.switchCount)).toEqual([0, 1, 1]);
  });

  it("round-robins tasks that keep asking for CPU", () => {
    const { sim, log, note } = setup({ cpus: 1 });
    for (const name of ["a", "b"]) {
      sim.spawn(name, function* () {
        for (let i = 0; i < 2; i++) {
          yield cpu(10);
          note(i);
        }
      });
    }
    sim.run();
    expect(log).toEqual([
      ["a", 10, 0],
      ["b", 20, 0],
      ["a", 30, 1],
      ["b", 40, 1],
    ]);
  });

  it("runs N tasks in parallel on N CPUs; sleeping tasks hold no CPU", () => {
    const { sim, log, note } = setup({ cpus: 2 });
    sim.spawn("s", function* () {
      yield sleep(100);
      note("slept");
    });
    for (const name of ["a", "b", "c"]) {
      sim.spawn(name, function* () {
        yield cpu(10);
        note("done");
      });
    }
    sim.run();
    expect(log).toEqual([
      ["a", 10, "done"],
      ["b", 10, "done"],
      ["c", 20, "done"],
      ["s", 100, "slept"],
    ]);
    sim.validate();
  });
});

describe("Sim: block, wake, kill", () => {
  it("resumes block() with the wake value; a task is woken at most once per block", () => {
    const { sim, log, note } = setup();
    const w = sim.spawn("w", function* () {
      note(yield block("uninterruptible", "rwsem_down_write_failed"));
      note(yield block("killable"));
    });
    sim.spawn("waker", function* () {
      yield cpu(5);
      note([w.state, w.waitChan, w.blockedSince]);
      note(sim.wake(w, "first"));
      note(sim.wake(w, "second"));
      yield cpu(5);
      note(sim.wake(w, 42));
    });
    sim.run();
    expect(log).toEqual([
      ["waker", 5, ["uninterruptible", "rwsem_down_write_failed", 0]],
      ["waker", 5, true],
      ["waker", 5, false],
      ["w", 5, "first"],
      ["waker", 10, true],
      ["w", 10, 42],
    ]);
    expect(w.switchCount).toBe(2);
  });

  it("does not end sleep() or a running task with wake()", () => {
    const { sim, log, note } = setup();
    const s = sim.spawn("s", function* () {
      note(yield sleep(50));
    });
    sim.spawn("waker", function* () {
      yield cpu(1);
      note([s.state, s.waitChan, sim.wake(s)]);
      note(sim.wake(current()));
    });
    sim.run();
    expect(log).toEqual([
      ["waker", 1, ["sleeping", "do_nanosleep", false]],
      ["waker", 1, false],
      ["s", 50, 0],
    ]);
  });

  it("kill() wakes sleep and killable/interruptible blocks with -EINTR, not uninterruptible ones", () => {
    const { sim, log, note } = setup();
    const victims = [
      sim.spawn("sleeper", function* () {
        note(yield sleep(1000));
      }),
      sim.spawn("killable", function* () {
        note(yield block("killable"));
      }),
      sim.spawn("interruptible", function* () {
        note(yield block("interruptible"));
      }),
      sim.spawn("d", function* () {
        note(yield block("uninterruptible"));
        note(yield block("killable")); // the pending signal ends it at once
        note(yield sleep(10));
      }),
    ];
    sim.spawn("killer", function* () {
      yield cpu(7);
      for (const v of victims) v.kill();
      note(victims.map((v) => v.state));
      yield cpu(3);
      sim.wake(victims[3] as Task, "woken");
    });
    expect(sim.run()).toBe(10);
    expect(log).toEqual([
      ["killer", 7, ["runnable", "runnable", "runnable", "uninterruptible"]],
      ["sleeper", 7, -EINTR],
      ["killable", 7, -EINTR],
      ["interruptible", 7, -EINTR],
      ["d", 10, "woken"],
      ["d", 10, -EINTR],
      ["d", 10, -EINTR],
    ]);
    expect(victims.every((v) => v.fatalSignalPending)).toBe(true);
    sim.validate();
  });

  it("kill() does not interrupt cpu() and is a no-op on a dead task", () => {
    const { sim, log, note } = setup();
    const t = sim.spawn("t", function* () {
      yield cpu(100);
      note(current().fatalSignalPending);
      return "exit";
    });
    sim.spawn("killer", function* () {
      yield cpu(1);
      t.kill();
    });
    sim.run();
    t.kill();
    expect(log).toEqual([["t", 100, true]]);
    expect(t.state).toBe("dead");
  });
});

describe("Sim: task lifecycle", () => {
  it("records pid, start/end times, result and states", () => {
    const { sim } = setup();
    const a = sim.spawn("a", function* () {
      yield cpu(10);
      return 99;
    });
    const b = sim.spawn(
      "b",
      function* () {
        yield sleep(1);
      },
      { delayNs: 5 },
    );
    const ps = sim.spawn("ps", function* () {}, { pid: 14018 });
    expect([a.pid, b.pid, ps.pid]).toEqual([1000, 1001, 14018]);
    expect([a.state, a.startTime, a.endTime]).toEqual(["runnable", Number.NaN, Number.NaN]);
    sim.run();
    expect([a.state, a.startTime, a.endTime, a.result]).toEqual(["dead", 0, 10, 99]);
    expect([b.startTime, b.endTime, b.result]).toEqual([5, 6, undefined]);
    expect([ps.startTime, ps.endTime]).toEqual([0, 0]);
    expect(sim.tasks).toEqual([a, b, ps]);
    expect(String(ps)).toBe("ps:14018");
  });

  it("hands out the next free pid and reuses none that is live", () => {
    const { sim } = setup();
    sim.spawn("x", function* () {}, { pid: 1001 });
    const p = [sim.spawn("a", function* () {}), sim.spawn("b", function* () {})].map((t) => t.pid);
    expect(p).toEqual([1000, 1002]);
    expect(() => sim.spawn("dup", function* () {}, { pid: 1000 })).toThrow(RangeError);
    sim.run();
    expect(sim.spawn("again", function* () {}, { pid: 1000 }).pid).toBe(1000);
  });

  it("join() returns the result once the task is dead; joining a dead task does not wait", () => {
    const { sim, log, note } = setup();
    const worker = sim.spawn("worker", function* () {
      yield cpu(40);
      return "result";
    });
    for (const name of ["j1", "j2"]) {
      sim.spawn(name, function* () {
        note(yield* worker.join());
      });
    }
    sim.spawn("watch", function* () {
      yield cpu(1);
      const j1 = sim.tasks[1] as Task;
      note([j1.state, j1.waitChan]);
      yield cpu(50);
      note(yield* worker.join());
    });
    sim.run();
    expect(log).toEqual([
      ["watch", 1, ["uninterruptible", "do_wait"]],
      ["j1", 40, "result"],
      ["j2", 40, "result"],
      ["watch", 51, "result"],
    ]);
  });

  it("rejects a task joining itself", () => {
    const { sim } = setup();
    sim.spawn("narcissus", function* () {
      yield* current().join();
    });
    expect(() => sim.run()).toThrow("@mmlab/sched: task narcissus:1000 joins itself");
  });

  it("spawns from inside a task; the child starts after the parent yields", () => {
    const { sim, log, note } = setup();
    sim.spawn("parent", function* () {
      sim.spawn("child", function* () {
        note("child runs");
        yield cpu(0);
      });
      note("parent continues");
      yield cpu(0);
      note("parent resumes");
    });
    sim.run();
    expect(log).toEqual([
      ["parent", 0, "parent continues"],
      ["child", 0, "child runs"],
      ["parent", 0, "parent resumes"],
    ]);
  });
});

describe("Sim: run, step, peek, daemons", () => {
  it("stops when only daemon tasks are left", () => {
    const { sim, log, note } = setup();
    const kthread = sim.spawn(
      "kswapd0",
      function* () {
        for (;;) {
          yield sleep(10);
          note("tick");
        }
      },
      { daemon: true },
    );
    sim.spawn("main", function* () {
      yield cpu(25);
    });
    expect(sim.run()).toBe(25);
    expect(log).toEqual([
      ["kswapd0", 10, "tick"],
      ["kswapd0", 20, "tick"],
    ]);
    expect(kthread.state).toBe("sleeping");
    expect(kthread.daemon).toBe(true);
  });

  it("run({ until }) stops before later events and sets now = until; run() continues", () => {
    const { sim, log, note } = setup();
    sim.spawn("t", function* () {
      for (let i = 0; i < 3; i++) {
        yield cpu(10);
        note(i);
      }
    });
    expect(sim.run({ until: 15 })).toBe(15);
    expect(log).toEqual([["t", 10, 0]]);
    expect(sim.run({ until: 20 })).toBe(20);
    expect(log).toHaveLength(2);
    expect(sim.run()).toBe(30);
    expect(log).toEqual([
      ["t", 10, 0],
      ["t", 20, 1],
      ["t", 30, 2],
    ]);
    expect(() => sim.run({ until: 5 })).toThrow(RangeError);
  });

  it("steps one event at a time; peek() shows the next time; EmptySchedule when none", () => {
    const { sim } = setup();
    expect(sim.peek()).toBe(Number.POSITIVE_INFINITY);
    expect(() => sim.step()).toThrow(EmptySchedule);
    sim.spawn("t", function* () {
      yield sleep(10);
    });
    expect(sim.peek()).toBe(0);
    sim.step();
    expect(sim.peek()).toBe(10);
    sim.step();
    expect(sim.now).toBe(10);
    expect(() => sim.step()).toThrow(EmptySchedule);
  });

  it("does not let a killed sleep's cancelled timer move the clock", () => {
    const { sim } = setup();
    const s = sim.spawn("s", function* () {
      yield sleep(1e12);
      yield block("uninterruptible");
    });
    sim.spawn("killer", function* () {
      yield cpu(3);
      s.kill();
    });
    expect(sim.run()).toBe(3);
    expect(sim.peek()).toBe(Number.POSITIVE_INFINITY);
    expect(s.state).toBe("uninterruptible");
    sim.validate();
  });

  it("returns at once when a deadlock leaves no events", () => {
    const { sim } = setup();
    sim.spawn("stuck", function* () {
      yield cpu(5);
      yield block("uninterruptible");
    });
    expect(sim.run()).toBe(5);
    expect(sim.run({ until: 100 })).toBe(5);
  });
});

describe("Sim: errors", () => {
  it("surfaces a throwing body from run(), naming the task, and keeps its class", () => {
    const { sim } = setup();
    class Boom extends RangeError {}
    const bad = sim.spawn("bad", function* () {
      yield cpu(5);
      throw new Boom("boom");
    });
    const good = sim.spawn("good", function* () {
      yield cpu(10);
    });
    let caught: unknown;
    try {
      sim.run();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Boom);
    expect((caught as Error).message).toBe("boom (in task bad:1000 at 5 ns)");
    expect([bad.state, bad.endTime]).toEqual(["dead", 5]);
    expect(sim.run()).toBe(10);
    expect(good.state).toBe("dead");
    sim.validate();
  });

  it("wraps a thrown non-Error", () => {
    const { sim } = setup();
    sim.spawn("str", function* () {
      yield cpu(0);
      throw "oops";
    });
    expect(() => sim.run()).toThrow('@mmlab/sched: task str:1000 at 0 ns threw "oops"');
  });

  it("rejects yields that are not Instructions", () => {
    for (const [bad, text] of [
      [42, "yielded 42"],
      [{ ns: 5 }, "yielded an Object"],
      [(function* () {})(), "yielded a generator (did you mean yield*?)"],
    ] as const) {
      const { sim } = setup();
      sim.spawn("t", function* () {
        yield bad as unknown as Instruction; // deliberately wrong
      });
      expect(() => sim.run()).toThrow(TypeError);
      const { sim: sim2 } = setup();
      sim2.spawn("t", function* () {
        yield bad as unknown as Instruction; // deliberately wrong
      });
      expect(() => sim2.run()).toThrow(`@mmlab/sched: task t:1000 ${text}`);
    }
  });

  it("rejects bad ns, bad modes and non-generator bodies", () => {
    expect(() => cpu(-1)).toThrow(RangeError);
    expect(() => cpu(Number.NaN)).toThrow("@mmlab/sched: cpu(ns) needs a finite ns >= 0, got NaN");
    expect(() => sleep(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    // @ts-expect-error: deliberately wrong
    expect(() => cpu("5")).toThrow(TypeError);
    // @ts-expect-error: deliberately wrong
    expect(() => block("stopped")).toThrow(TypeError);
    const { sim } = setup();
    // @ts-expect-error: deliberately wrong
    sim.spawn("plain", () => 5);
    expect(() => sim.run()).toThrow("did not return a generator");
    // @ts-expect-error: deliberately wrong
    expect(() => sim.spawn("x", null)).toThrow(TypeError);
    expect(() => sim.spawn("x", function* () {}, { delayNs: -1 })).toThrow(RangeError);
    expect(() => sim.spawn("x", function* () {}, { pid: 0 })).toThrow(RangeError);
    expect(() => new Sim({ cpus: 0 })).toThrow(RangeError);
    expect(() => new Sim({ hungTaskWarnings: -2 })).toThrow(RangeError);
  });

  it("rejects wake() of a dead task or of another Sim's task, and current() outside a task", () => {
    const { sim } = setup();
    const t = sim.spawn("t", function* () {});
    sim.run();
    expect(() => sim.wake(t)).toThrow("@mmlab/sched: wake() of dead task t:1000");
    expect(() => sim.wake(t)).toThrow(TypeError);
    const other = new Sim();
    const o = other.spawn("o", function* () {});
    expect(() => sim.wake(o)).toThrow(TypeError);
    expect(() => current()).toThrow("@mmlab/sched: current() called outside a task");
  });

  it("rejects run() from inside a task", () => {
    const { sim } = setup();
    sim.spawn("t", function* () {
      yield cpu(1);
      sim.run();
    });
    expect(() => sim.run()).toThrow("run() called while the Sim is running");
  });
});
