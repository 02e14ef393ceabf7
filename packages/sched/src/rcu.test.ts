import { describe, expect, it } from "vitest";
import { current } from "./current.js";
import { cpu, type Instruction, sleep } from "./instruction.js";
import { Rcu } from "./rcu.js";
import { Sim } from "./sim.js";

type Log = [string, number, string][];

/** Every event, the grace-period kthread's included (run() stops with the last non-daemon). */
function drain(sim: Sim): void {
  while (sim.peek() !== Number.POSITIVE_INFINITY) sim.step();
}
type Body = () => Generator<Instruction, unknown, unknown>;

/** A Sim, its RCU and a SimPy-style log of [comm, now, event]. */
function setup(gracePeriodNs = 0) {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const rcu = new Rcu(sim, { gracePeriodNs });
  const log: Log = [];
  const note = (ev: string): void => {
    log.push([current().comm, sim.now, ev]);
  };
  /** rcu_read_lock(), `ns` of CPU inside, rcu_read_unlock(). */
  const reader = (ns: number): Body =>
    function* () {
      rcu.readLock();
      note("rcu_read_lock");
      yield cpu(ns);
      note("rcu_read_unlock");
      rcu.readUnlock();
    };
  /** After `delay`, queue a callback that logs "freed <what>". */
  const updater = (delay: number, what: string): Body =>
    function* () {
      yield sleep(delay);
      note(`call_rcu(${what})`);
      rcu.callRcu(() => note(`freed ${what}`));
    };
  return { sim, rcu, log, note, reader, updater };
}

describe("Rcu: grace periods wait for the readers that were inside when they began", () => {
  it("a callback runs only after every pre-existing reader left", () => {
    const { sim, rcu, log, reader, updater } = setup();
    sim.spawn("r1", reader(100));
    sim.spawn("r2", reader(30), { delayNs: 10 });
    sim.spawn("upd", updater(20, "A"));
    drain(sim);
    rcu.validate();
    expect(log).toEqual([
      ["r1", 0, "rcu_read_lock"],
      ["r2", 10, "rcu_read_lock"],
      ["upd", 20, "call_rcu(A)"],
      ["r2", 40, "rcu_read_unlock"],
      ["r1", 100, "rcu_read_unlock"],
      ["rcu_preempt", 100, "freed A"],
    ]);
    expect(rcu.completed).toBe(1);
    expect(rcu.pending).toBe(0);
  });

  it("a reader that enters after the grace period began does not hold it back", () => {
    const { sim, log, reader, updater } = setup();
    sim.spawn("r1", reader(50));
    sim.spawn("upd", updater(10, "A"));
    sim.spawn("late", reader(1000), { delayNs: 20 });
    drain(sim);
    expect(log).toEqual([
      ["r1", 0, "rcu_read_lock"],
      ["upd", 10, "call_rcu(A)"],
      ["late", 20, "rcu_read_lock"],
      ["r1", 50, "rcu_read_unlock"],
      ["rcu_preempt", 50, "freed A"],
      ["late", 1020, "rcu_read_unlock"],
    ]);
  });

  it("a task that holds no rcu_read_lock does not delay anything (StackRot's reader)", () => {
    const { sim, log, note, updater } = setup();
    sim.spawn("walker", function* () {
      note("walks a node under mmap_lock only");
      yield cpu(100);
      note("reads the node again");
    });
    sim.spawn("upd", updater(10, "node"));
    drain(sim);
    expect(log).toEqual([
      ["walker", 0, "walks a node under mmap_lock only"],
      ["upd", 10, "call_rcu(node)"],
      ["rcu_preempt", 10, "freed node"],
      ["walker", 100, "reads the node again"],
    ]);
  });

  it("callbacks queued during a grace period wait for the next one", () => {
    const { sim, rcu, log, reader, updater } = setup();
    sim.spawn("r1", reader(100));
    sim.spawn("upd1", updater(10, "A"));
    sim.spawn("r2", reader(100), { delayNs: 50 });
    sim.spawn("upd2", updater(60, "B"));
    drain(sim);
    expect(log.filter((e) => e[2].startsWith("freed"))).toEqual([
      ["rcu_preempt", 100, "freed A"],
      ["rcu_preempt", 150, "freed B"],
    ]);
    expect(rcu.completed).toBe(2);
  });

  it("nested sections end at the outermost unlock", () => {
    const { sim, rcu, log, note, updater } = setup();
    sim.spawn("r", function* () {
      rcu.readLock();
      rcu.readLock();
      yield cpu(10);
      rcu.readUnlock();
      note("inner unlock");
      yield cpu(10);
      note("outer unlock");
      rcu.readUnlock();
    });
    sim.spawn("upd", updater(5, "A"));
    drain(sim);
    expect(log.map((e) => `${e[1]} ${e[2]}`)).toEqual([
      "5 call_rcu(A)",
      "10 inner unlock",
      "20 outer unlock",
      "20 freed A",
    ]);
  });

  it("gracePeriodNs is the shortest grace period", () => {
    const { sim, log, updater } = setup(1000);
    sim.spawn("upd", updater(10, "A"));
    drain(sim);
    expect(log).toEqual([
      ["upd", 10, "call_rcu(A)"],
      ["rcu_preempt", 1010, "freed A"],
    ]);
  });

  it("synchronize_rcu() returns after the readers of its grace period left", () => {
    const { sim, rcu, log, note, reader } = setup();
    sim.spawn("r1", reader(70));
    sim.spawn("sync", function* () {
      yield sleep(5);
      note("synchronize_rcu");
      yield* rcu.synchronizeRcu();
      note("returned");
    });
    drain(sim);
    expect(log.slice(1)).toEqual([
      ["sync", 5, "synchronize_rcu"],
      ["r1", 70, "rcu_read_unlock"],
      ["sync", 70, "returned"],
    ]);
  });

  it("is deterministic: the same scenario gives the same trace", () => {
    const run = () => {
      const { sim, log, reader, updater } = setup();
      for (let i = 0; i < 5; i++) sim.spawn(`r${i}`, reader(10 + i * 7), { delayNs: i * 3 });
      for (let i = 0; i < 3; i++) sim.spawn(`u${i}`, updater(2 + i * 11, `cb${i}`));
      drain(sim);
      return log;
    };
    expect(run()).toEqual(run());
  });

  it("bad calls throw and change nothing", () => {
    const { sim, rcu } = setup();
    expect(() => new Rcu(sim, { gracePeriodNs: -1 })).toThrow(RangeError);
    expect(() => rcu.callRcu(42 as unknown as () => void)).toThrow(TypeError);
    let msg = "";
    sim.spawn("bad", function* () {
      try {
        rcu.readUnlock();
      } catch (e) {
        msg = (e as Error).message;
      }
      rcu.readLock();
      try {
        yield* rcu.synchronizeRcu();
      } catch (e) {
        msg += ` | ${(e as Error).message}`;
      }
      rcu.readUnlock();
    });
    drain(sim);
    expect(msg).toBe(
      "@mmlab/sched: rcu_read_unlock() by bad:1000 without rcu_read_lock() | @mmlab/sched: synchronize_rcu() by bad:1000 inside an RCU read-side section",
    );
    rcu.validate();
    expect(rcu.pending).toBe(0);
  });
});
