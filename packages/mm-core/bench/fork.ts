/**
 * fork(2) of a process with every 4 KiB page of a large private anonymous mapping populated:
 * dup_mmap() -> copy_page_range() write-protects and shares every page, one copy_pte_range()
 * per PMD extent. Prints, per size, the fork's virtual time (the cost model's figure: not a
 * measurement, nothing calibrates fork), virtual ns per page, the simulation's own wall-clock
 * ns per page (median and range over the rounds), the child's exit_mmap, and the peak RSS.
 *
 *   pnpm exec tsx packages/mm-core/bench/fork.ts            # 1 and 80 GiB
 *   pnpm exec tsx packages/mm-core/bench/fork.ts 80         # chosen sizes, in GiB
 *
 * Each size runs in its own child process (so maxRSS is that size's peak) with the default
 * 384 GiB PhysMem and the e5-2680-v4.18 profile; the parent mapping is populated once, then
 * fork + exit of the child run 3 times.
 */
import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Sim } from "@mmlab/sched";
import {
  exitMmap,
  forkStats,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MmStruct,
  PROT_READ,
  PROT_WRITE,
  sysFork,
  sysMmap,
} from "../src/index.js";

const GiB = 2 ** 30;
const BASE = 0x7f0000000000;
const ROUNDS = 3;

function run<R>(sim: Sim, body: () => Generator<unknown, R, unknown>): R {
  // biome-ignore lint/suspicious/noExplicitAny: the bench drives sim tasks directly
  const task = sim.spawn("bench", body as any);
  sim.run();
  return task.result as R;
}

function child(gb: number): void {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const mm = new MmStruct(sim, { cost: "e5-2680-v4.18" });
  const pages = (gb * GiB) / 4096;
  let t = process.hrtime.bigint();
  const addr = run(sim, () =>
    sysMmap(
      mm,
      BASE,
      gb * GiB,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
    ),
  );
  if (addr !== BASE) throw new Error(`mmap: ${addr}`);
  const populateWall = Number(process.hrtime.bigint() - t);
  const rssPopulated = process.resourceUsage().maxRSS;
  const rounds: Array<{
    virt: number;
    wall: number;
    cpu: number;
    exitVirt: number;
    exitWall: number;
  }> = [];
  let ptes = 0;
  let extents = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const v0 = sim.now;
    t = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const c = run(sim, () => sysFork(mm));
    const wall = Number(process.hrtime.bigint() - t);
    const du = process.cpuUsage(cpu0);
    const cpu = (du.user + du.system) * 1000; // ns of CPU time (user + system)
    if (typeof c === "number") throw new Error(`fork: ${c}`);
    const virt = sim.now - v0;
    const st = forkStats(c);
    ptes = st?.ptes ?? 0;
    extents = st?.pmdExtents ?? 0;
    const v1 = sim.now;
    t = process.hrtime.bigint();
    run(sim, () => exitMmap(c));
    rounds.push({
      virt,
      wall,
      cpu,
      exitVirt: sim.now - v1,
      exitWall: Number(process.hrtime.bigint() - t),
    });
  }
  if (mm.phys.mapcount(mm.pt.followPage(BASE)) !== 1)
    throw new Error("the child's exit left a mapping");
  process.stdout.write(
    `${JSON.stringify({ gb, pages, ptes, extents, populateWall, rounds, rssPopulated, maxRss: process.resourceUsage().maxRSS })}\n`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function parent(sizes: number[]): void {
  const self = fileURLToPath(import.meta.url);
  console.log(
    `node ${process.version}, ${cpus().length} CPUs, ${cpus()[0]?.model ?? "?"}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  for (const gb of sizes) {
    const r = spawnSync(process.execPath, [...process.execArgv, self, "--child", String(gb)], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) {
      console.log(`${gb} GiB: child failed (${r.status}) ${r.stderr}`);
      continue;
    }
    const o = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    const walls = o.rounds.map((x: { wall: number }) => x.wall / o.pages);
    const exits = o.rounds.map((x: { exitWall: number }) => x.exitWall / o.pages);
    const cpus = o.rounds.map((x: { cpu: number }) => x.cpu / o.pages);
    const virt = o.rounds[0].virt as number;
    console.log(
      `${gb} GiB: ${o.pages.toLocaleString("en-US")} pages, ${o.ptes.toLocaleString("en-US")} PTEs copied in ${o.extents.toLocaleString("en-US")} copy_pte_range() extents\n` +
        `  fork virtual time ${(virt / 1e6).toFixed(1)} ms = ${(virt / o.pages).toFixed(1)} ns/page (cost model, not calibrated)\n` +
        `  fork wall ns/page median ${median(walls).toFixed(1)} (range ${Math.min(...walls).toFixed(1)}-${Math.max(...walls).toFixed(1)}, ${o.rounds.length} rounds)\n` +
        `  fork CPU ns/page (user + system) median ${median(cpus).toFixed(1)} (range ${Math.min(...cpus).toFixed(1)}-${Math.max(...cpus).toFixed(1)})\n` +
        `  child exit_mmap: virtual ${(o.rounds[0].exitVirt / 1e6).toFixed(1)} ms, wall ns/page median ${median(exits).toFixed(1)} (range ${Math.min(...exits).toFixed(1)}-${Math.max(...exits).toFixed(1)})\n` +
        `  populate wall ${(o.populateWall / 1e9).toFixed(1)} s; RSS after populate ${(o.rssPopulated / 1024).toFixed(0)} MiB, peak ${(o.maxRss / 1024).toFixed(0)} MiB`,
    );
  }
  console.log(
    `load after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") child(Number(argv[1]));
else parent(argv.length > 0 ? argv.map(Number) : [1, 80]);
