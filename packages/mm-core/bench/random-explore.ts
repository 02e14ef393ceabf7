// How many schedules the generic `random` scenario needs to find a bug under a strategy:
// explores in chunks of 500 seeds and prints a line per chunk, so a long run that is stopped
// still says how far it got.
// pnpm exec tsx packages/mm-core/bench/random-explore.ts STRATEGY [MAX_SCHEDULES=100000] [FIRST_SEED=1]
import { explore, formatExploreResult } from "../src/index.js";

const strategy = process.argv[2] ?? "zapRlock";
const max = Number(process.argv[3] ?? 100_000);
const seed0 = Number(process.argv[4] ?? 1);
const CHUNK = 500;
const t0 = process.hrtime.bigint();
const secs = () => (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0);
for (let first = seed0; first < seed0 + max; first += CHUNK) {
  const r = explore({
    scenario: "random",
    strategy,
    firstSeed: first,
    schedules: Math.min(CHUNK, seed0 + max - first),
  });
  if (r.failure !== null) {
    const n = first - seed0 + r.schedules;
    console.log(`${strategy}: FOUND after ${n} schedules from seed ${seed0} (${secs()} s)`);
    console.log(formatExploreResult({ ...r, schedules: n }));
    process.exit(1);
  }
  console.log(`${strategy}: nothing in seeds ${seed0}..${first - 1 + r.schedules} (${secs()} s)`);
}
console.log(`peak RSS ${process.resourceUsage().maxRSS} KiB`);
