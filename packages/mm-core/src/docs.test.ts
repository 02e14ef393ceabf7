/** The README against the code: findings of the 0.1.0 installed-package trial. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("its first example does not use `mm` both for the package and for an MmStruct", () => {
    const first = /```js\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(first).toContain('from "@mmlab/mm-core"');
    expect(first).not.toMatch(/import \* as mm\b/);
  });

  it("says a custom strategy's munmap is a generator function", () => {
    const strategies = readme.slice(readme.indexOf("registerMunmapStrategy("));
    expect(strategies.slice(0, 400)).toMatch(/`munmap` is a generator function/);
  });
});
