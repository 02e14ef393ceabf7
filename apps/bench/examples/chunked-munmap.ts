/**
 * A custom experiment composed from the packages: what could user space do about a long
 * munmap before the patch? Unmap 16 GiB in one call, or in 1 GiB chunks (mmap_sem is
 * released between calls, so a waiting `ps` gets in), under classic; then the same single
 * call under zapRlock. Figures come from the simulation: mmap_sem's history and task times.
 *
 *   node --conditions=@mmlab/source --import tsx apps/bench/examples/chunked-munmap.ts
 */
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  Process,
  procPidCmdlineRead,
  sysMmap,
  sysMunmap,
} from "@mmlab/mm-core";
import { Sim, sleep } from "@mmlab/sched";

const GiB = 1024 ** 3;
const SIZE = 16 * GiB;
const ADDR = 0x1000_0000_0000;

function experiment(strategy: "classic" | "zapRlock", chunk: number) {
  const sim = new Sim({ seed: 1 });
  const proc = new Process(sim, { comm: "munmap_test", pid: 15000, munmap: strategy });
  const mm = proc.mm;
  proc.spawnThread("munmap_test", function* () {
    yield* sysMmap(
      mm,
      ADDR,
      SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
    );
  });
  sim.run(); // populate, not measured

  const t0 = sim.now;
  let done = false;
  let latency = 0;
  proc.spawnThread("munmap_test", function* () {
    for (let off = 0; off < SIZE; off += chunk) yield* sysMunmap(mm, ADDR + off, chunk);
    latency = sim.now - t0;
    done = true;
  });
  const ps = sim.spawn(
    "ps",
    function* () {
      while (!done) {
        yield* procPidCmdlineRead(proc);
        yield sleep(10e6);
      }
    },
    { pid: 14018 },
  );
  sim.run();

  // Read the figures off the lock: ps's waits, and the longest exclusive hold by munmap.
  let psMax = 0;
  let exclusiveMax = 0;
  for (const r of mm.mmapSem.history) {
    if (r.requestedAt < t0) continue;
    if (r.pid === ps.pid) psMax = Math.max(psMax, r.acquiredAt - r.requestedAt);
    if (r.mode === "write" && r.comm === "munmap_test") {
      const end = Number.isNaN(r.downgradedAt) ? r.releasedAt : r.downgradedAt;
      exclusiveMax = Math.max(exclusiveMax, end - r.acquiredAt);
    }
  }
  return { latency, psMax, exclusiveMax };
}

const ms = (ns: number) => `${(ns / 1e6).toFixed(3)} ms`.padStart(12);
console.log("16 GiB, every page mapped         munmap total   longest exclusive   ps wait max");
for (const [label, strategy, chunk] of [
  ["classic, one munmap(16G)", "classic", SIZE],
  ["classic, 16 x munmap(1G)", "classic", GiB],
  ["zapRlock, one munmap(16G)", "zapRlock", SIZE],
] as const) {
  const r = experiment(strategy, chunk);
  console.log(`${label.padEnd(32)} ${ms(r.latency)}   ${ms(r.exclusiveMax)}      ${ms(r.psMax)}`);
}

// Output:
// 16 GiB, every page mapped         munmap total   longest exclusive   ps wait max
// classic, one munmap(16G)           895.810 ms     895.808 ms        895.808 ms
// classic, 16 x munmap(1G)           896.125 ms      56.003 ms         56.003 ms
// zapRlock, one munmap(16G)          895.811 ms       0.008 ms          0.008 ms
