import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { replayAgainstKernel } from "./kernel-oracle.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");

describe("replaying real 6.18 recordings (the kernel as oracle)", () => {
  for (const name of ["probe", "probe2", "c-mm", "cat", "ls", "python3"]) {
    it(`${name}: every return value and the final /proc/PID/maps match under v6.18`, () => {
      const r = replayAgainstKernel(
        fixture(`${name}.strace`),
        fixture(`${name}.start.maps`),
        fixture(`${name}.final.maps`),
        "v6.18",
      );
      expect(r.calls).toBeGreaterThan(5);
      expect(r.mismatches).toEqual([]);
      expect(r.model).toBe(r.kernel);
    });
  }
});
