import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cpu, type Instruction, sleep, type WaitMode } from "./instruction.js";
import { Sim } from "./sim.js";
import type { Task } from "./task.js";
import { TraceRecorder } from "./trace.js";
import { WaitQueue } from "./wait-queue.js";

/** One step of a random task program. */
type Op =
  | { op: "cpu" | "sleep" | "spawn"; ns: number }
  | { op: "wait"; q: number; mode: WaitMode }
  | { op: "wakeOne" | "wakeAll"; q: number }
  | { op: "kill"; target: number }
  | { op: "rand" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom("cpu" as const, "sleep" as const, "spawn" as const),
    ns: fc.integer({ min: 0, max: 40 }),
  }),
  fc.record({
    op: fc.constant("wait" as const),
    q: fc.integer({ min: 0, max: 1 }),
    mode: fc.constantFrom<WaitMode>("uninterruptible", "killable", "interruptible"),
  }),
  fc.record({
    op: fc.constantFrom("wakeOne" as const, "wakeAll" as const),
    q: fc.integer({ min: 0, max: 1 }),
  }),
  fc.record({ op: fc.constant("kill" as const), target: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ op: fc.constant("rand" as const) }),
);

const scenarioArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
  cpus: fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
  shuffleTies: fc.boolean(),
  programs: fc.array(fc.array(opArb, { maxLength: 12 }), { minLength: 1, maxLength: 6 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

/** Run a scenario with run() or with step() + validate() after every event. */
function play(s: Scenario, how: "run" | "step") {
  const sim = new Sim({
    seed: s.seed,
    cpus: s.cpus,
    shuffleTies: s.shuffleTies,
    hungTaskTimeoutNs: 0,
  });
  const rec = new TraceRecorder(sim);
  const queues = [new WaitQueue(sim, "wq0"), new WaitQueue(sim, "wq1")];
  const log: [number, number, number, unknown][] = [];
  const tasks: Task[] = [];
  s.programs.forEach((program, n) => {
    tasks.push(
      sim.spawn(`t${n}`, function* (): Generator<Instruction, number, unknown> {
        for (let i = 0; i < program.length; i++) {
          const o = program[i] as Op;
          let r: unknown = null;
          switch (o.op) {
            case "cpu":
              r = yield cpu(o.ns);
              break;
            case "sleep":
              r = yield sleep(o.ns);
              break;
            case "spawn":
              sim.spawn(`c${n}.${i}`, function* () {
                yield cpu(o.ns);
              });
              break;
            case "wait":
              r = yield* (queues[o.q] as WaitQueue).wait(o.mode);
              break;
            case "wakeOne":
              r = (queues[o.q] as WaitQueue).wakeOne(i);
              break;
            case "wakeAll":
              r = (queues[o.q] as WaitQueue).wakeAll(i);
              break;
            case "kill":
              tasks[o.target % tasks.length]?.kill();
              break;
            case "rand":
              r = yield cpu(sim.random.int(20));
              break;
          }
          log.push([n, sim.now, i, r]);
        }
        return n;
      }),
    );
  });
  if (how === "run") {
    sim.run();
  } else {
    while (sim.peek() !== Number.POSITIVE_INFINITY) {
      sim.step();
      sim.validate();
      for (const q of queues) q.validate();
    }
  }
  sim.validate();
  const states = sim.tasks.map((t) => [t.pid, t.state, t.startTime, t.endTime, t.switchCount]);
  return { now: sim.now, log, events: rec.events, states };
}

describe("Sim: properties of random task programs", () => {
  it("same seed and inputs give the same trace; time never goes backwards", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const a = play(s, "run");
        const b = play(s, "run");
        expect(b).toEqual(a);
        // stepping with validate() after every event gives the same trace as run()
        expect(play(s, "step")).toEqual(a);
        for (let i = 1; i < a.events.length; i++) {
          expect((a.events[i] as { time: number }).time).toBeGreaterThanOrEqual(
            (a.events[i - 1] as { time: number }).time,
          );
        }
        for (let i = 1; i < a.log.length; i++) {
          expect((a.log[i] as number[])[1]).toBeGreaterThanOrEqual(
            (a.log[i - 1] as number[])[1] as number,
          );
        }
      }),
      { seed: 42, numRuns: 400 },
    );
  });
});
