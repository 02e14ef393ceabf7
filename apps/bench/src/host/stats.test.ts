import { describe, expect, it } from "vitest";
import { actorStats, isBlocked, median } from "./stats.js";

describe("actorStats: the probe's statistics, on virtual time", () => {
  it("splits baseline and teardown operations, and finds the stall and the middle ones", () => {
    // teardown from 100 to 200; operations as [start, end]
    //   0-10  20-30          baseline
    //   95-105               overlaps the start
    //   110-120 130-140      inside the middle 80% (110..190)
    //   150-250              overlaps the end (blocked 100)
    //   260-270              after: not looked at
    const ops = [
      [0, 10],
      [20, 30],
      [95, 105],
      [110, 120],
      [130, 140],
      [150, 250],
      [260, 270],
    ];
    const s = actorStats(
      ops.map((o) => o[0] as number),
      ops.map((o) => o[1] as number),
      ops.length,
      100,
      200,
    );
    expect(s.baseline).toEqual({ count: 2, p50: 10, p99: 10, max: 10 });
    expect(s.during).toEqual({ count: 4, p50: 10, p99: 100, max: 100 });
    expect(s.midOps).toBe(2);
    // completions 30 | 105 120 140 250: the longest gap is 140 → 250
    expect(s.stallNs).toBe(110);
    expect(s.stallFromNs).toBe(40);
  });

  it("judges blocked (asleep half the teardown), not blocked (progress inside) or neither", () => {
    const d = (max: number) => ({ count: 1, p50: max, p99: max, max });
    expect(isBlocked({ duringLessCpuWait: d(60), midOps: 0 }, 100)).toBe(true);
    expect(isBlocked({ duringLessCpuWait: d(40), midOps: 3 }, 100)).toBe(false);
    expect(isBlocked({ duringLessCpuWait: d(40), midOps: 0 }, 100)).toBeNull();
    expect(
      isBlocked({ duringLessCpuWait: { count: 0, p50: 0, p99: 0, max: 0 }, midOps: 0 }, 100),
    ).toBeNull();
  });

  it("takes the lower middle as the median of an even count (a real sample)", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
  });
});
