import { describe, expect, it } from "vitest";
import { E5_2680_V4_18 } from "./cost-model.js";
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
