import { afterEach, describe, expect, it, vi } from "vitest";
import { SHARED_LAYOUT } from "./current.js";

/** A second, independent copy of the package's modules, as a nested install or a CJS build. */
async function secondCopy(): Promise<typeof import("./index.js")> {
  vi.resetModules();
  const path = "./index.js"; // not a literal: the import must not be hoisted or cached by vitest
  return (await import(/* @vite-ignore */ path)) as typeof import("./index.js");
}

const KEY = Symbol.for("@mmlab/sched");
const g = globalThis as unknown as Record<symbol, unknown>;

describe("two copies of @mmlab/sched in one program", () => {
  afterEach(() => {
    vi.resetModules();
  });

  it("share current(), and one copy's Sim runs the other copy's instructions and wait queues", async () => {
    const a = await import("./index.js");
    const b = await secondCopy();
    expect(b.Sim).not.toBe(a.Sim); // really two copies
    const sim = new a.Sim({ seed: 1 });
    const wq = new b.WaitQueue(sim, "other_copy");
    const log: string[] = [];
    sim.spawn("waiter", function* () {
      expect(b.current().comm).toBe("waiter");
      const v = yield* wq.wait("uninterruptible");
      log.push(`waiter woke with ${String(v)} at ${sim.now}`);
    });
    sim.spawn("waker", function* () {
      yield b.cpu(1000);
      yield b.sleep(500);
      log.push(`waker on ${b.current().comm}, woke ${wq.wakeAll(7)}`);
    });
    sim.run();
    expect(log).toEqual(["waker on waker, woke 1", "waiter woke with 7 at 1500"]);
    expect(() => b.current()).toThrow(/outside a task/);
  });

  it("a copy with another internal layout fails at load, naming both copies", async () => {
    const shared = g[KEY] as { layout: number; where: string };
    const saved = { ...shared };
    shared.layout = SHARED_LAYOUT + 1;
    shared.where = "file:///app/node_modules/@mmlab/sched/dist/index.js";
    try {
      const err = await secondCopy().then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(
        /two incompatible copies in one program: file:\/\/\/app\/node_modules\/@mmlab\/sched\/dist\/index\.js \(layout 2\) and .*current\.ts.* \(layout 1\)/,
      );
    } finally {
      Object.assign(shared, saved);
    }
  });
});
