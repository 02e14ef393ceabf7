import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CoreHarness } from "./test-utils.js";
import type { RwsemGeneration } from "./types.js";

/** One random step: what happens, to whom (an index), and how much virtual time passes. */
const opArb = fc.record({
  kind: fc.integer({ min: 0, max: 8 }),
  who: fc.nat(1000),
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3e6 })),
});

/** Exclusion and bookkeeping: the core agrees with who the harness thinks holds it. */
function checkExclusion(h: CoreHarness): void {
  h.core.validate();
  let writers = 0;
  let readers = 0;
  for (const mode of h.holders.values()) {
    if (mode === "write") writers++;
    else readers++;
  }
  expect(writers <= 1 && (writers === 0 || readers === 0)).toBe(true);
  expect(h.core.readers).toBe(readers);
  expect(h.core.writeLocked).toBe(writers === 1);
}

function pick<T>(items: Iterable<T>, who: number): T | undefined {
  const arr = [...items];
  return arr.length === 0 ? undefined : arr[who % arr.length];
}

function runScenario(
  generation: RwsemGeneration,
  writerStealing: boolean,
  maxReadersWakeup: number,
  ops: ReadonlyArray<{ kind: number; who: number; dt: number }>,
): void {
  const h = new CoreHarness({ generation, writerStealing, maxReadersWakeup });
  const arrived: string[] = [];
  const aborted = new Set<string>();
  const queueOrder: string[] = [];
  let next = 0;
  for (const op of ops) {
    h.now += op.dt;
    switch (op.kind) {
      case 0:
      case 1: {
        const name = `${op.kind === 0 ? "r" : "w"}${next++}`;
        arrived.push(name);
        if (op.kind === 0) h.read(name);
        else h.write(name);
        if (h.log.some((e) => e[0] === name && e[2].startsWith("wait"))) queueOrder.push(name);
        break;
      }
      case 2:
      case 3: {
        const holder = pick(h.holders.keys(), op.who);
        if (holder !== undefined) h.up(holder);
        break;
      }
      case 4: {
        const writer = pick(
          [...h.holders].filter(([, m]) => m === "write").map(([n]) => n),
          op.who,
        );
        if (writer !== undefined) h.downgrade(writer);
        break;
      }
      case 5: {
        const victim = pick(h.queued.keys(), op.who);
        if (victim !== undefined && h.abort(victim)) aborted.add(victim);
        break;
      }
      case 6:
        h.runWoken();
        break;
      case 7: {
        const name = `tr${next++}`;
        if (h.core.downReadTrylock()) {
          arrived.push(name);
          h.holders.set(name, "read");
          h.log.push([name, h.now, "acquire read"]);
        }
        break;
      }
      default: {
        const name = `tw${next++}`;
        if (h.core.downWriteTrylock()) {
          arrived.push(name);
          h.holders.set(name, "write");
          h.log.push([name, h.now, "acquire write"]);
        }
      }
    }
    checkExclusion(h);
  }
  // Drain: woken tasks run, holders release one by one. Nobody may be stranded.
  for (let guard = 0; h.holders.size > 0 || h.queued.size > 0; guard++) {
    expect(guard).toBeLessThan(10_000);
    h.runWoken();
    checkExclusion(h);
    const holder = pick(h.holders.keys(), 0);
    if (holder !== undefined) {
      h.now += 1000;
      h.up(holder);
      checkExclusion(h);
    } else if (h.queued.size > 0) {
      h.core.validate(true); // lock free with waiters: the head writer must have a wake pending
      expect(h.woken.length).toBeGreaterThan(0);
    }
  }
  // Every waiter that did not give up got the lock exactly once.
  for (const name of arrived) {
    const got = h.log.filter((e) => e[0] === name && e[2].startsWith("acquire")).length;
    expect(got).toBe(aborted.has(name) ? 0 : 1);
  }
  if (generation === "v4.18") {
    // FIFO: queued waiters are granted in arrival order (stealing happens only on arrival)
    expect(h.grantOrder).toEqual(queueOrder.filter((n) => !aborted.has(n)));
  }
}

describe("RwsemCore properties", () => {
  for (const generation of ["v4.18", "v5.3"] as const) {
    it(`${generation}: exclusion holds, no waiter is lost, everyone gets the lock`, () => {
      fc.assert(
        fc.property(
          fc.array(opArb, { maxLength: 80 }),
          fc.boolean(),
          fc.constantFrom(1, 2, 256),
          (ops, stealing, maxReaders) => runScenario(generation, stealing, maxReaders, ops),
        ),
        { seed: generation === "v4.18" ? 42 : 4242, numRuns: 600 },
      );
    });
  }
});
