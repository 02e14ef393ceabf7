/**
 * Whole-trace concurrency scenarios: one process, a munmap of an 8 MiB populated mapping
 * (4 PMD entries, so 4 cond_resched steps of 1 us each), and tasks that arrive while it runs.
 * Costs are zero except the ones named in COSTS, so every time in the traces can be read
 * off the scenario.
 */
import { PhysMem } from "@mmlab/page-table";
import { Sim, sleep, type TraceEvent, TraceRecorder } from "@mmlab/sched";
import { describe, expect, it } from "vitest";
import { doPageFault, FAULT_SIGSEGV_MAPERR } from "./fault.js";
import { sysMmap } from "./mmap.js";
import { Process, procPidCmdlineRead } from "./process.js";
import { sysMunmap } from "./sys-munmap.js";
import { FREE, MiB } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMm } from "./validate.js";

const COSTS = {
  ...FREE,
  name: "scenario",
  vmaDetach: 10,
  pmdStep: 1000,
  anonFault: 100,
  cmdlineRead: 50,
};
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const VICTIM = 0x600000000; // the 8 MiB that is unmapped
const OTHER = 0x700000000; // 4 MiB elsewhere in the same mm, where faults go

type LogLine = [comm: string, time: number, what: string];

function scenario(strategy: "classic" | "zapRlock") {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const proc = new Process(sim, {
    comm: "bench",
    pid: 100,
    argv: ["bench", "--size", "8M"],
    cost: COSTS,
    munmap: strategy,
    phys: new PhysMem({ bytes: 64 * MiB }),
  });
  const mm = proc.mm;
  const log: LogLine[] = [];
  const setup = sim.spawn("setup", function* () {
    yield* sysMmap(mm, VICTIM, 8 * MiB, RW, ANON | MAP_FIXED | MAP_POPULATE);
    yield* sysMmap(mm, OTHER, 4 * MiB, RW, ANON | MAP_FIXED);
  });
  sim.run();
  expect(setup.state).toBe("dead");
  validateMm(mm, { ownsPhys: true });
  const t0 = sim.now;

  const rec = new TraceRecorder(sim);
  proc.spawnThread("munmap", function* () {
    const r = yield* sysMunmap(mm, VICTIM, 8 * MiB);
    log.push(["munmap", sim.now - t0, `returned ${r}`]);
  });
  sim.spawn(
    "ps",
    function* () {
      const text = yield* procPidCmdlineRead(proc);
      log.push(["ps", sim.now - t0, `read ${JSON.stringify(text)}`]);
    },
    { delayNs: 5 },
  );
  proc.spawnThread("faulter", function* () {
    const r = yield* doPageFault(mm, OTHER, { write: true });
    log.push(["faulter", sim.now - t0, r === 0 ? "mapped" : r.name]);
  });
  proc.spawnThread("stray", function* () {
    yield sleep(20);
    const r = yield* doPageFault(mm, VICTIM + 4096, { write: true });
    log.push(["stray", sim.now - t0, r === 0 ? "mapped" : r.name]);
  });
  proc.spawnThread("mmap", function* () {
    yield sleep(30);
    const r = yield* sysMmap(mm, OTHER + 4 * MiB, 2 * MiB, RW, ANON | MAP_FIXED);
    log.push(["mmap", sim.now - t0, `returned 0x${r.toString(16)}`]);
  });
  sim.spawn(
    "ps2",
    function* () {
      yield sleep(40);
      const text = yield* procPidCmdlineRead(proc);
      log.push(["ps2", sim.now - t0, `read ${text.length} bytes`]);
    },
    { delayNs: 0 },
  );
  sim.run();
  rec.stop();
  validateMm(mm, { ownsPhys: true });
  const locks = rec.events
    .filter((e): e is Extract<TraceEvent, { lock: string }> => "lock" in e)
    .map(
      (e) =>
        [commOf(sim, e.pid), e.time - t0, `${e.type}${"mode" in e ? ` ${e.mode}` : ""}`] as LogLine,
    );
  return { log, locks, mm };
}

function commOf(sim: Sim, pid: number): string {
  return sim.tasks.find((t) => t.pid === pid)?.comm ?? String(pid);
}

describe("munmap concurrency scenarios", () => {
  it("zapRlock: ps and faults elsewhere run during the zap; a stray fault gets SIGSEGV; a writer waits and readers queue behind it", () => {
    const { log, locks } = scenario("zapRlock");
    // Exclusive for 10 ns (detach), then the zap's 4 us run under the read lock beside ps
    // and the faulter; the mmap writer queues behind the zap and ps2 queues behind the writer.
    expect(locks).toEqual([
      ["munmap", 0, "lock-acquire write"],
      ["faulter", 0, "lock-wait read"],
      ["ps", 5, "lock-wait read"],
      ["munmap", 10, "lock-downgrade"],
      ["faulter", 10, "lock-acquire read"],
      ["ps", 10, "lock-acquire read"],
      ["stray", 20, "lock-acquire read"],
      ["stray", 20, "lock-release read"],
      ["mmap", 30, "lock-wait write"],
      ["ps2", 40, "lock-wait read"],
      ["ps", 60, "lock-release read"],
      ["faulter", 110, "lock-release read"],
      ["munmap", 4010, "lock-release read"],
      ["mmap", 4010, "lock-acquire write"],
      ["mmap", 4010, "lock-release write"],
      ["ps2", 4010, "lock-acquire read"],
      ["ps2", 4060, "lock-release read"],
    ]);
    expect(log).toEqual([
      ["stray", 20, FAULT_SIGSEGV_MAPERR.name],
      ["ps", 60, 'read "bench\\u0000--size\\u00008M\\u0000"'],
      ["faulter", 110, "mapped"],
      ["munmap", 4010, "returned 0"],
      ["mmap", 4010, "returned 0x700400000"],
      ["ps2", 4060, "read 16 bytes"],
    ]);
  });

  it("classic: everybody waits for the whole munmap", () => {
    const { log, locks } = scenario("classic");
    // The write lock covers the whole 4,010 ns; the readers at the head of the queue are
    // then woken together, the writer behind them waits for all three, ps2 for the writer.
    expect(locks).toEqual([
      ["munmap", 0, "lock-acquire write"],
      ["faulter", 0, "lock-wait read"],
      ["ps", 5, "lock-wait read"],
      ["stray", 20, "lock-wait read"],
      ["mmap", 30, "lock-wait write"],
      ["ps2", 40, "lock-wait read"],
      ["munmap", 4010, "lock-release write"],
      ["faulter", 4010, "lock-acquire read"],
      ["ps", 4010, "lock-acquire read"],
      ["stray", 4010, "lock-acquire read"],
      ["stray", 4010, "lock-release read"],
      ["ps", 4060, "lock-release read"],
      ["faulter", 4110, "lock-release read"],
      ["mmap", 4110, "lock-acquire write"],
      ["mmap", 4110, "lock-release write"],
      ["ps2", 4110, "lock-acquire read"],
      ["ps2", 4160, "lock-release read"],
    ]);
    expect(log).toEqual([
      ["munmap", 4010, "returned 0"],
      ["stray", 4010, FAULT_SIGSEGV_MAPERR.name],
      ["ps", 4060, 'read "bench\\u0000--size\\u00008M\\u0000"'],
      ["faulter", 4110, "mapped"],
      ["mmap", 4110, "returned 0x700400000"],
      ["ps2", 4160, "read 16 bytes"],
    ]);
  });
});
