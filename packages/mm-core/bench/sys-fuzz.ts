// The sys-fuzz property of src/sys-fuzz.property.test.ts, run longer: random hostile system
// calls from 2-4 concurrent tasks under every strategy and both trees, every call checked
// against the input contract, locks and validateMm checked whenever no task is in a call.
// pnpm exec tsx packages/mm-core/bench/sys-fuzz.ts [runs=3000] [seed=1]
import fc from "fast-check";
import { type FuzzStats, fuzzCase, runFuzzCase } from "../src/sys-fuzz.js";

const runs = Number(process.argv[2] ?? 3000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error("usage: sys-fuzz.ts [runs >= 1] [seed]");
  process.exit(2);
}
const stats: FuzzStats = { calls: 0, throws: 0, errnos: 0, successes: 0 };
const t0 = process.hrtime.bigint();
fc.assert(
  fc.property(fuzzCase(12), (c) => runFuzzCase(c, stats)),
  { seed, numRuns: runs },
);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(
  `${runs} runs (seed ${seed}), ${stats.calls} calls: ${stats.throws} contract throws, ${stats.errnos} errnos, ${stats.successes} successes; no property failure`,
);
console.log(`${(ms / 1000).toFixed(1)} s, ${((ms * 1000) / stats.calls).toFixed(0)} us per call`);
console.log(`peak RSS ${process.resourceUsage().maxRSS} KiB`);
