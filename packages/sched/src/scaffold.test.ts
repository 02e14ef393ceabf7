import { describe, expect, it } from "vitest";

describe("scaffold", () => {
  it("runs", () => {
    expect(1).toBe(1);
  });
});
