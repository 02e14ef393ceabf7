/** A 30-line experiment: unmap 8 GiB with every page mapped while `ps` reads /proc/PID/cmdline (the README's, in TypeScript). */

import {
  MAP_ANONYMOUS,
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

const SIZE = 8 * 2 ** 30;
const ms = (ns: number) => `${(ns / 1e6).toFixed(3).padStart(8)} ms`;
for (const strategy of ["classic", "zapRlock"]) {
  const sim = new Sim({ seed: 1 });
  const proc = new Process(sim, { comm: "bench", munmap: strategy, cost: "e5-2680-v4.18" });
  let done = false;
  proc.spawnThread("bench", function* () {
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
    const addr = yield* sysMmap(proc.mm, 0, SIZE, PROT_READ | PROT_WRITE, flags);
    yield* sysMunmap(proc.mm, addr, SIZE);
    done = true;
  });
  sim.spawn("ps", function* () {
    for (; !done; yield sleep(10e6)) yield* procPidCmdlineRead(proc);
  });
  sim.run();
  // proc.mm is the process's MmStruct; its mmap_sem keeps every acquisition
  const history = proc.mm.mmapSem.history;
  const munmap = history.filter((r) => r.comm === "bench" && r.mode === "write").at(-1);
  if (munmap === undefined) throw new Error("no munmap");
  const exclusiveEnd = Number.isNaN(munmap.downgradedAt) ? munmap.releasedAt : munmap.downgradedAt;
  const psWaits = history.filter((r) => r.comm === "ps").map((r) => r.acquiredAt - r.requestedAt);
  console.log(
    `${strategy.padEnd(8)}  exclusive hold ${ms(exclusiveEnd - munmap.acquiredAt)}  ps waited at most ${ms(Math.max(...psWaits))}`,
  );
}
