/**
 * Scale benchmark: map every 4 KiB page of 1, 80 and 320 GB, then tear it down the way munmap
 * does (zap through an MmuGather, stepping a ZapCursor once per PMD entry as mm-core will,
 * then freePgtables and tlbFinishMmu), and report ns per page and peak RSS.
 *
 *   pnpm exec tsx packages/page-table/bench/scale.ts            # 1, 80, 320 GB
 *   pnpm exec tsx packages/page-table/bench/scale.ts 80 320     # chosen sizes
 *
 * Each size runs in its own child process so that maxRSS is that size's peak. PhysMem is the
 * default 384 GiB (100,663,296 frames), as in the patch's machine; its per-frame arrays are
 * included in the RSS. Every size runs several rounds in one process (5 up to 8 GB, else 2)
 * and prints the best and the first: the first round pays for JIT warm-up and for the OS
 * faulting in fresh memory (the PTE slabs and per-frame arrays); later rounds reuse it.
 */

import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { freePgtables, MmuGather, PageTable, PhysMem, ZapCursor } from "../src/index.js";

const GiB = 2 ** 30;
const BASE = 0x7f0000000000; // 1 GiB aligned, as an mmap at the top of the mmap area

interface Round {
  populateNs: number;
  zapNs: number;
  freeNs: number;
  finishNs: number;
  steps: number;
}

function now(): bigint {
  return process.hrtime.bigint();
}

function round(pt: PageTable, bytes: number): Round {
  const end = BASE + bytes;
  const prot = { write: true, exec: false, dirty: true };
  let t = now();
  const r = pt.populateRange(BASE, end, prot);
  if (r !== 0) throw new Error(`populateRange: ${r}`);
  const populateNs = Number(now() - t);

  const tlb = new MmuGather(pt);
  tlb.tlbGatherMmu(BASE, end);
  t = now();
  const cursor = new ZapCursor(tlb, BASE, end);
  let steps = 0;
  let cleared = 0;
  for (;;) {
    const n = cursor.step();
    if (n < 0) break;
    cleared += n;
    steps++;
  }
  const zapNs = Number(now() - t);
  if (cleared !== bytes / 4096) throw new Error(`cleared ${cleared}`);

  t = now();
  freePgtables(tlb, [{ vmStart: BASE, vmEnd: end }], 0, 0);
  const freeNs = Number(now() - t);
  t = now();
  tlb.tlbFinishMmu(BASE, end);
  const finishNs = Number(now() - t);
  if (pt.nrPtes !== 0 || pt.phys.counts().anon !== 0) throw new Error("teardown left pages behind");
  return { populateNs, zapNs, freeNs, finishNs, steps };
}

function child(gb: number): void {
  const rssStart = process.resourceUsage().maxRSS;
  const phys = new PhysMem();
  const pt = new PageTable(phys);
  const rssPhys = process.resourceUsage().maxRSS;
  const bytes = gb * GiB;
  const pages = bytes / 4096;
  const rounds = gb <= 8 ? 5 : 2;
  const results: Round[] = [];
  for (let i = 0; i < rounds; i++) results.push(round(pt, bytes));
  const pick = (f: (r: Round) => number): { first: number; best: number } => ({
    first: f(results[0] as Round) / pages,
    best: Math.min(...results.map(f)) / pages,
  });
  const out = {
    gb,
    pages,
    rounds,
    populate: pick((r) => r.populateNs),
    zap: pick((r) => r.zapNs),
    freePgtables: pick((r) => r.freeNs),
    finish: pick((r) => r.finishNs),
    steps: (results[0] as Round).steps,
    rssStartKiB: rssStart,
    rssAfterPhysMemKiB: rssPhys,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function parent(sizes: number[]): void {
  const self = fileURLToPath(import.meta.url);
  console.log(`node ${process.version}, ${cpus().length} CPUs, ${cpus()[0]?.model ?? "?"}`);
  console.log(
    "size      pages        populate ns/page   zap ns/page     freePgtables ns/page  finish ns/page  ZapCursor steps  peak RSS",
  );
  for (const gb of sizes) {
    const r = spawnSync(process.execPath, [...process.execArgv, self, "--child", String(gb)], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) {
      console.log(`${gb} GB: child failed (${r.status}) ${r.stderr}`);
      continue;
    }
    const o = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    const f = (x: { first: number; best: number }): string =>
      o.rounds > 1 ? `${x.best.toFixed(2)} (1st ${x.first.toFixed(2)})` : x.first.toFixed(2);
    console.log(
      `${`${gb} GB`.padEnd(9)} ${String(o.pages).padEnd(12)} ${f(o.populate).padEnd(18)} ${f(o.zap).padEnd(15)} ${f(o.freePgtables).padEnd(21)} ${f(o.finish).padEnd(15)} ${String(o.steps).padEnd(16)} ${(o.maxRssKiB / 1024).toFixed(0)} MiB (after new PhysMem(): ${(o.rssAfterPhysMemKiB / 1024).toFixed(0)} MiB)`,
    );
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") child(Number(argv[1]));
else parent(argv.length > 0 ? argv.map(Number) : [1, 80, 320]);
