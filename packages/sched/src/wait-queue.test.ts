import { describe, expect, it } from "vitest";
import { current } from "./current.js";
import { EINTR } from "./errno.js";
import { cpu } from "./instruction.js";
import { Sim } from "./sim.js";
import type { Task } from "./task.js";
import { WaitQueue } from "./wait-queue.js";

function setup() {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const wq = new WaitQueue(sim, "rwsem_down_read_failed");
  const log: [string, number, unknown][] = [];
  const note = (what: unknown) => log.push([current().comm, sim.now, what]);
  return { sim, wq, log, note };
}

describe("WaitQueue", () => {
  it("wakes waiters one at a time in FIFO order with the given value", () => {
    const { sim, wq, log, note } = setup();
    for (const name of ["r1", "r2", "r3"]) {
      sim.spawn(name, function* () {
        note(yield* wq.wait());
      });
    }
    sim.spawn("waker", function* () {
      yield cpu(10);
      note([wq.length, wq.waiters().map((t) => t.comm), (sim.tasks[0] as Task).waitChan]);
      note(wq.wakeOne("a"));
      yield cpu(10);
      note(wq.wakeAll("b"));
      note(wq.wakeOne("c"));
      wq.validate();
    });
    sim.run();
    expect(log).toEqual([
      ["waker", 10, [3, ["r1", "r2", "r3"], "rwsem_down_read_failed"]],
      ["waker", 10, true],
      ["r1", 10, "a"],
      ["waker", 20, 2],
      ["waker", 20, false],
      ["r2", 20, "b"],
      ["r3", 20, "b"],
    ]);
    expect(wq.length).toBe(0);
  });

  it("shows killable waiters as D and interruptible ones as S", () => {
    const { sim, wq } = setup();
    const d = sim.spawn("d", function* () {
      yield* wq.wait("killable");
    });
    const s = sim.spawn("s", function* () {
      yield* wq.wait("interruptible");
    });
    sim.run();
    expect([d.state, s.state]).toEqual(["uninterruptible", "sleeping"]);
  });

  it("a killed killable waiter returns -EINTR and leaves the queue; wakeOne skips it", () => {
    const { sim, wq, log, note } = setup();
    const victim = sim.spawn("victim", function* () {
      note(yield* wq.wait("killable"));
    });
    sim.spawn("next", function* () {
      note(yield* wq.wait("uninterruptible"));
    });
    sim.spawn("killer", function* () {
      yield cpu(5);
      victim.kill();
      // victim is woken but has not run yet: wakeOne must pass it over
      note(wq.wakeOne("granted"));
      note(wq.length);
    });
    sim.run();
    expect(log).toEqual([
      ["killer", 5, true],
      ["killer", 5, 0],
      ["victim", 5, -EINTR],
      ["next", 5, "granted"],
    ]);
    sim.validate();
  });

  it("a killed waiter that runs before any wake-up removes itself", () => {
    const { sim, wq, log, note } = setup();
    const victim = sim.spawn("victim", function* () {
      note(yield* wq.wait("interruptible"));
      note(wq.length);
    });
    sim.spawn("other", function* () {
      note(yield* wq.wait("killable"));
    });
    sim.spawn("killer", function* () {
      yield cpu(5);
      victim.kill();
      yield cpu(5);
      note(wq.waiters().map((t) => t.comm));
      wq.wakeAll(1);
    });
    sim.run();
    expect(log).toEqual([
      ["victim", 5, -EINTR],
      ["victim", 5, 1],
      ["killer", 10, ["other"]],
      ["other", 10, 1],
    ]);
  });

  it("does not wait killably with a fatal signal pending, but waits uninterruptibly", () => {
    const { sim, wq, log, note } = setup();
    const t = sim.spawn("t", function* () {
      current().kill();
      note(yield* wq.wait("killable"));
      note(wq.length);
      note(yield* wq.wait("uninterruptible"));
    });
    sim.spawn("waker", function* () {
      yield cpu(3);
      note([t.state, wq.wakeOne(7)]);
    });
    sim.run();
    expect(log).toEqual([
      ["t", 0, -EINTR],
      ["t", 0, 0],
      ["waker", 3, ["uninterruptible", true]],
      ["t", 3, 7],
    ]);
  });

  it("rejects a bad mode and a task of another Sim", () => {
    const { sim, wq } = setup();
    sim.spawn("t", function* () {
      // @ts-expect-error: deliberately wrong
      yield* wq.wait("stopped");
    });
    expect(() => sim.run()).toThrow(TypeError);
    const other = new Sim();
    other.spawn("o", function* () {
      yield* wq.wait();
    });
    expect(() => other.run()).toThrow("waits on a WaitQueue of another Sim");
  });
});
