import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { replayAgainstKernel } from "./kernel-oracle.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8");

describe("replaying real 6.18 recordings (the kernel as oracle)", () => {
  for (const name of ["probe", "probe2", "c-mm", "cat", "ls", "python3", "c-threads", "node"]) {
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

describe("what the older generations get wrong about a 6.18 recording", () => {
  const replay = (name: string, generation: "v4.19" | "v6.8") =>
    replayAgainstKernel(
      fixture(`${name}.strace`),
      fixture(`${name}.start.maps`),
      fixture(`${name}.final.maps`),
      generation,
    );

  it("v6.8 aligns anonymous mappings 6.18 leaves alone (not a 2 MiB multiple)", () => {
    // probe: a 3 MiB mmap; c-threads: glibc's 8 MiB + 4 KiB thread stacks.
    expect(replay("probe", "v6.8").mismatches[0]).toMatch(
      /^line 22: mmap\(NULL, 3145728, .*\) = 0x7ffff7600000 \(kernel: 0x7ffff7700000\)$/,
    );
    expect(replay("c-threads", "v6.8").mismatches[0]).toMatch(
      /^line 21: mmap\(NULL, 8392704, .*MAP_STACK.*\) = 0x7ffff7400000 \(kernel: 0x7ffff75d1000\)$/,
    );
  });

  it("v4.19 aligns nothing and merges the heap into the bss", () => {
    expect(replay("probe", "v4.19").mismatches[0]).toMatch(
      /^line 21: mmap\(NULL, 2097152, .*\) = 0x7ffff7bd2000 \(kernel: 0x7ffff7a00000\)$/,
    );
    const ls = replay("ls", "v4.19");
    expect(ls.mismatches).toEqual([]); // same return values ...
    expect(ls.model.split("\n")[5]).toMatch(/^555555579000-55555559b000 rw-p .*\[heap\]$/);
    expect(ls.kernel.split("\n")[5]).toBe("555555579000-55555557a000 rw-p 00000000 00:00 0 ");
  });
});
