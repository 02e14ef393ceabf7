import { describe, expect, it } from "vitest";
import { costProfile, E5_2680_V4_18, registerCostProfile } from "./cost-model.js";
import { COST_FIELDS, costModelFromJson, costModelToJson } from "./cost-profile-json.js";

describe("cost profiles as JSON", () => {
  it("round-trips every named field", () => {
    const back = costModelFromJson(JSON.parse(costModelToJson(E5_2680_V4_18)));
    expect(back).toEqual(E5_2680_V4_18);
    expect(Object.isFrozen(back)).toBe(true);
    expect(COST_FIELDS).toContain("pteZap");
    expect(COST_FIELDS).not.toContain("name");
  });

  it("refuses a missing, mistyped, negative or unknown field, naming it", () => {
    const good = JSON.parse(costModelToJson(E5_2680_V4_18));
    const { pteZap: _, ...missing } = good;
    expect(() => costModelFromJson(missing)).toThrow(TypeError);
    expect(() => costModelFromJson(missing)).toThrow(/"pteZap"/);
    expect(() => costModelFromJson({ ...good, lockOp: "5" })).toThrow(/"lockOp" must be a number/);
    expect(() => costModelFromJson({ ...good, lockOp: -1 })).toThrow(RangeError);
    expect(() => costModelFromJson({ ...good, pteZapp: 1 })).toThrow(/unknown .*"pteZapp"/);
    expect(() => costModelFromJson({ ...good, name: "" })).toThrow(/"name"/);
    expect(() => costModelFromJson([])).toThrow(TypeError);
    expect(() => costModelFromJson(null)).toThrow(TypeError);
  });
});

describe("registerCostProfile", () => {
  it("makes a profile known to costProfile() under its key, never over a built-in one", () => {
    const fitted = { ...E5_2680_V4_18, name: "host-fit", source: "test", pteZap: 12 };
    registerCostProfile("/tmp/host.json", fitted);
    expect(costProfile("/tmp/host.json")).toBe(fitted);
    expect(() => registerCostProfile(E5_2680_V4_18.name, fitted)).toThrow(RangeError);
    expect(() => costProfile("/tmp/other.json")).toThrow(/unknown cost profile/);
  });
});
