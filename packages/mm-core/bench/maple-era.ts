// The maple-tree era under the explorer: schedules to find the 6.1 inconsistency and StackRot,
// and `schedules` (default 10,000) schedules where nothing should be found.
// pnpm exec tsx packages/mm-core/bench/maple-era.ts [schedules] [scenario ...]
// (no scenario named: both; naming one lets two processes share the work)
import { explore } from "../src/index.js";

const n = Number(process.argv[2] ?? 10_000);
const named = process.argv.slice(3);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
for (const scenario of named.length > 0 ? named : ["stack-guard-gone", "stackrot"]) {
  for (const strategy of ["v6.1", "v6.3", "v6.5"]) {
    const t0 = process.hrtime.bigint();
    const r = explore({ scenario, strategy, schedules: n });
    const what =
      r.failure === null
        ? `nothing found in ${r.schedules} schedules`
        : `${r.failure.kind} after ${r.schedules} schedule(s) (seed ${r.failure.replay.seed})`;
    console.log(
      `${scenario.padEnd(17)} ${strategy.padEnd(5)} ${what}; ${r.steps} steps, ${(ms(t0) / 1000).toFixed(1)} s`,
    );
  }
}
console.log(`peak RSS ${process.resourceUsage().maxRSS} KiB`);
