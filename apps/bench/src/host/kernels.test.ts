import { describe, expect, it } from "vitest";
import { closestModel, KERNEL_STRATEGY_TABLE, parseKernelRelease } from "./kernels.js";

describe("closestModel: uname -r to the closest modelled kernel", () => {
  it.each([
    ["4.18.0-80.el8.x86_64", "classic", "v4.18", "rb", "v4.19"],
    ["4.19.0-27-amd64", "classic", "v4.18", "rb", "v4.19"],
    ["4.20.17", "v4.20", "v4.18", "rb", "v4.19"],
    ["5.4.0-150-generic", "v4.20", "v5.3", "rb", "v4.19"],
    ["5.10.0-28-amd64", "v5.8", "v5.3", "rb", "v4.19"],
    ["6.0.19", "v5.8", "v5.3", "rb", "v6.8"],
    ["6.1.0-18-amd64", "v6.1", "v5.3", "maple", "v6.8"],
    ["6.2.16", "v6.1", "v5.3", "maple", "v6.8"],
    ["6.3.13", "v6.3", "v5.3", "maple", "v6.8"],
    ["6.4.16", "perVmaLock", "v5.3", "maple", "v6.8"],
    ["6.5.0-44-generic", "v6.5", "v5.3", "maple", "v6.8"],
    ["6.8.0-45-generic", "v6.5", "v5.3", "maple", "v6.8"],
    ["6.18.44-fc-v1272", "v6.5", "v5.3", "maple", "v6.18"],
  ])("%s → %s", (release, strategy, rwsem, tree, generation) => {
    const k = closestModel(release);
    expect(k).toMatchObject({ release, strategy, rwsem, tree, generation });
    expect(k.why).toContain(release);
  });

  it("skips rows whose strategy is not registered, so new generations slot in by one row", () => {
    const table = [
      ...KERNEL_STRATEGY_TABLE,
      { since: [6, 9] as const, strategy: "notRegisteredYet", why: "a later kernel" },
    ];
    expect(closestModel("6.18.1", table).strategy).toBe("v6.5");
  });

  it("the maple-era rows are in history order and name a registered strategy each", () => {
    const rows = KERNEL_STRATEGY_TABLE.map((r) => `${r.since.join(".")} ${r.strategy}`);
    expect(rows).toEqual([
      "0.0 classic",
      "4.20 v4.20",
      "5.8 v5.8",
      "6.1 v6.1",
      "6.3 v6.3",
      "6.4 perVmaLock",
      "6.5 v6.5",
    ]);
    // a stable kernel is read by major.minor only: 6.3.13 has the StackRot fix, yet maps to v6.3
    expect(closestModel("6.3.13").why).toContain("6.3.11 has the fix");
  });

  it("refuses a release without major.minor", () => {
    expect(parseKernelRelease("6.18.44-fc")).toEqual([6, 18]);
    expect(parseKernelRelease("linux")).toBeNull();
    expect(() => closestModel("linux")).toThrow(RangeError);
  });
});
