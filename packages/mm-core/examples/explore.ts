/** Explore schedules of the 246c320a8cfe scenario under each munmap strategy. */
import * as mm from "@mmlab/mm-core";

for (const strategy of ["classic", "zapRlock", "v4.20", "v5.8", "perVmaLock"]) {
  const result = mm.explore({ scenario: "stack-expansion", strategy, schedules: 1000 });
  console.log(mm.formatExploreResult(result));
}
