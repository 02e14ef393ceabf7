// Schedules needed to find the 246c320a8cfe race, and the cost of exploring 1,000 schedules.
// pnpm exec tsx packages/mm-core/bench/explore.ts
import { explore } from "../src/index.js";

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
for (const strategy of ["zapRlock", "v4.20"]) {
  const needed: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < 20; k++) {
    const r = explore({ scenario: "stack-expansion", strategy, firstSeed: 1 + k * 1000 });
    needed.push(r.failure === null ? Number.NaN : r.schedules);
  }
  needed.sort((a, b) => a - b);
  console.log(
    `${strategy.padEnd(10)} schedules to find it, 20 explorations (first seeds 1, 1001, ...): min ${needed[0]} median ${needed[10]} max ${needed.at(-1)}; ${(ms(t0) / 20).toFixed(0)} ms per exploration`,
  );
}
for (const strategy of ["classic", "v5.8", "perVmaLock"]) {
  const t0 = process.hrtime.bigint();
  const r = explore({ scenario: "stack-expansion", strategy, schedules: 1000 });
  console.log(
    `${strategy.padEnd(10)} ${r.schedules} schedules, ${r.steps} steps checked, ${r.failure === null ? "nothing found" : `FOUND ${r.failure.kind}`}, ${ms(t0).toFixed(0)} ms`,
  );
}
console.log(`peak RSS ${process.resourceUsage().maxRSS} KiB`);
