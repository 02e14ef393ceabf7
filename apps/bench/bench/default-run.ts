/**
 * The default run's cost on this machine: 320 GiB, classic then zapRlock, sequentially in
 * one process (as `mmlab-bench` does). Prints wall time per phase, ns per page and peak RSS
 * as a markdown table for docs/benchmarks/bench.md.
 *
 *   pnpm exec tsx --conditions=@mmlab/source apps/bench/bench/default-run.ts [sizeGiB]
 */
import os from "node:os";
import { runExperiment } from "../src/experiment.js";
import { DEFAULTS, GiB } from "../src/params.js";

const size = Number(process.argv[2] ?? 320) * GiB;
const params = { ...DEFAULTS, sizeBytes: size };
const t0 = performance.now();
const rows: string[] = [];
for (const strategy of ["classic", "zapRlock"]) {
  const { result: r } = runExperiment(params, strategy);
  const w = r.sim.wallMs;
  rows.push(
    `| ${strategy} | ${r.pages.toLocaleString("en-US")} | ${w.populate.toFixed(0)} ms | ${((w.populate * 1e6) / r.pages).toFixed(1)} | ${w.measured.toFixed(0)} ms | ${((w.measured * 1e6) / r.pages).toFixed(1)} | ${(r.munmapLatencyNs / 1e9).toFixed(2)} s | ${r.exclusiveHoldNs} ns | ${(r.sim.peakRssBytes / 2 ** 20).toFixed(0)} MiB |`,
  );
}
const total = performance.now() - t0;
console.log(
  `- Machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model.trim()}, Node ${process.version}`,
);
console.log(
  `- Size: ${size / GiB} GiB; total wall ${(total / 1000).toFixed(2)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);
console.log("");
console.log(
  "| strategy | pages | populate wall | ns/page | munmap phase wall | ns/page | munmap (virtual) | exclusive hold (virtual) | peak RSS so far |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
