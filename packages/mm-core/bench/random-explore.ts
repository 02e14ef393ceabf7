// How many schedules the generic `random` scenario needs to find a bug under a strategy:
// explores in chunks of 500 seeds and prints a line per chunk, so a long run that is stopped
// still says how far it got.
// pnpm exec tsx packages/mm-core/bench/random-explore.ts STRATEGY [MAX_SCHEDULES=100000]
import { explore, formatExploreResult } from "../src/index.js";

const strategy = process.argv[2] ?? "zapRlock";
const max = Number(process.argv[3] ?? 100_000);
const CHUNK = 500;
const t0 = process.hrtime.bigint();
const secs = () => (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0);
for (let first = 1; first <= max; first += CHUNK) {
  const r = explore({
    scenario: "random",
    strategy,
    firstSeed: first,
    schedules: Math.min(CHUNK, max - first + 1),
  });
  if (r.failure !== null) {
    console.log(`${strategy}: FOUND after ${first - 1 + r.schedules} schedules (${secs()} s)`);
    console.log(formatExploreResult({ ...r, schedules: first - 1 + r.schedules }));
    process.exit(1);
  }
  console.log(`${strategy}: nothing in seeds 1..${first - 1 + r.schedules} (${secs()} s)`);
}
console.log(`peak RSS ${process.resourceUsage().maxRSS} KiB`);
