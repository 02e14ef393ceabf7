/**
 * Both front ends run the same scripts of arrivals, releases, downgrades and abandoned waits;
 * their grant orders must be identical, the lock must end free with nobody queued, and every
 * waiter that did not give up must have got the lock.
 */
import { block, cpu, current, type Instruction, Sim, type Task } from "@mmlab/sched";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AsyncRwSemaphore } from "./async-rwsem.js";
import { RwSemaphore } from "./rwsem.js";
import type { RwsemGeneration } from "./types.js";

interface Step {
  op: number; // 0 read arrives, 1 write arrives, 2 release, 3 downgrade, 4 abandon a wait
  who: number;
}
const stepArb = fc.record({ op: fc.integer({ min: 0, max: 4 }), who: fc.nat(100) });

/** Bookkeeping both runs share, so that `who` picks the same actor in both. */
class Book {
  readonly order: string[] = [];
  readonly holders: { name: string; mode: "read" | "write" }[] = [];
  readonly arrived: string[] = [];
  readonly done = new Set<string>(); // granted or gave up
  granted(name: string, mode: "read" | "write"): void {
    this.order.push(name);
    this.holders.push({ name, mode });
    this.done.add(name);
  }
  gaveUp(name: string): void {
    this.order.push(`${name}!`);
    this.done.add(name);
  }
  pending(): string[] {
    return this.arrived.filter((n) => !this.done.has(n));
  }
}

const MAX_DRAIN = 1000;

function runSim(generation: RwsemGeneration, steps: readonly Step[]): Book {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const sem = new RwSemaphore(sim, { generation });
  const book = new Book();
  const tasks = new Map<string, Task>();
  const actor = (name: string, mode: "read" | "write") =>
    function* (): Generator<Instruction, void, unknown> {
      const err = mode === "read" ? yield* sem.downReadKillable() : yield* sem.downWriteKillable();
      if (err !== 0) {
        book.gaveUp(name);
        return;
      }
      book.granted(name, mode);
      let cmd = yield block("uninterruptible", "hold");
      let held = mode;
      while (cmd === "downgrade") {
        sem.downgradeWrite();
        held = "read";
        cmd = yield block("uninterruptible", "hold");
      }
      if (held === "read") sem.upRead();
      else sem.upWrite();
    };
  sim.spawn("driver", function* () {
    let n = 0;
    for (const s of steps) {
      if (s.op <= 1) {
        const name = `${s.op === 0 ? "r" : "w"}${n++}`;
        book.arrived.push(name);
        tasks.set(name, sim.spawn(name, actor(name, s.op === 0 ? "read" : "write")));
      } else if (s.op === 2 && book.holders.length > 0) {
        const [h] = book.holders.splice(s.who % book.holders.length, 1);
        if (h !== undefined) sim.wake(tasks.get(h.name) as Task, "release");
      } else if (s.op === 3) {
        const writer = book.holders.find((h) => h.mode === "write");
        if (writer !== undefined) {
          writer.mode = "read";
          sim.wake(tasks.get(writer.name) as Task, "downgrade");
        }
      } else if (s.op === 4) {
        const p = book.pending();
        if (p.length > 0) (tasks.get(p[s.who % p.length] as string) as Task).kill();
      }
      yield cpu(1);
    }
    for (let i = 0; i < MAX_DRAIN && (book.holders.length > 0 || book.pending().length > 0); i++) {
      const h = book.holders.shift();
      if (h !== undefined) sim.wake(tasks.get(h.name) as Task, "release");
      yield cpu(1);
    }
    expect(current().comm).toBe("driver");
  });
  sim.run();
  sem.validate(true);
  expect(sem.isWriteLocked || sem.readers > 0 || sem.waiters().length > 0).toBe(false);
  return book;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function runAsync(generation: RwsemGeneration, steps: readonly Step[]): Promise<Book> {
  const sem = new AsyncRwSemaphore({ generation });
  const book = new Book();
  const controllers = new Map<string, AbortController>();
  let n = 0;
  const release = (mode: "read" | "write"): void =>
    mode === "read" ? sem.upRead() : sem.upWrite();
  for (const s of steps) {
    if (s.op <= 1) {
      const mode = s.op === 0 ? "read" : "write";
      const name = `${s.op === 0 ? "r" : "w"}${n++}`;
      const ac = new AbortController();
      controllers.set(name, ac);
      book.arrived.push(name);
      const p = mode === "read" ? sem.downRead(ac) : sem.downWrite(ac);
      p.then(
        () => book.granted(name, mode),
        () => book.gaveUp(name),
      );
    } else if (s.op === 2 && book.holders.length > 0) {
      const [h] = book.holders.splice(s.who % book.holders.length, 1);
      if (h !== undefined) release(h.mode);
    } else if (s.op === 3) {
      const writer = book.holders.find((h) => h.mode === "write");
      if (writer !== undefined) {
        writer.mode = "read";
        sem.downgradeWrite();
      }
    } else if (s.op === 4) {
      const p = book.pending();
      if (p.length > 0) controllers.get(p[s.who % p.length] as string)?.abort(new Error("gone"));
    }
    await settle();
  }
  for (let i = 0; i < MAX_DRAIN && (book.holders.length > 0 || book.pending().length > 0); i++) {
    const h = book.holders.shift();
    if (h !== undefined) release(h.mode);
    await settle();
  }
  sem.validate(true);
  expect(sem.isWriteLocked || sem.readers > 0 || sem.waiting > 0).toBe(false);
  return book;
}

describe("sim and async front ends", () => {
  for (const generation of ["v4.18", "v5.3"] as const) {
    it(`${generation}: identical grant orders, nobody lost, everyone served`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { maxLength: 40 }), async (steps) => {
          const a = runSim(generation, steps);
          const b = await runAsync(generation, steps);
          expect(b.order).toEqual(a.order);
          // everyone who arrived either got the lock once or gave up once
          for (const name of a.arrived) {
            const got = a.order.filter((e) => e === name).length;
            const gaveUp = a.order.filter((e) => e === `${name}!`).length;
            expect(got + gaveUp).toBe(1);
          }
        }),
        { seed: generation === "v4.18" ? 7 : 77, numRuns: 150 },
      );
    });
  }
});
