import { describe, expect, it } from "vitest";
import { EFAULT, EINTR, EINVAL, ENOMEM, EOVERFLOW, EPERM, errnoName } from "./errno.js";

describe("errno", () => {
  it("has the Linux values", () => {
    expect([EPERM, EINTR, ENOMEM, EFAULT, EINVAL, EOVERFLOW]).toEqual([1, 4, 12, 14, 22, 75]);
  });
  it("names errors with the sign ignored", () => {
    expect(errnoName(-EINTR)).toBe("EINTR");
    expect(errnoName(ENOMEM)).toBe("ENOMEM");
    expect(errnoName(-9999)).toBe("E?9999");
  });
});
