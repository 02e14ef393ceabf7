/** The README's API list against the code: findings of the 0.1.0 installed-package trial. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PageTable } from "./page-table.js";
import { PhysMem } from "./phys-mem.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("kindOf lists every frame kind counts() reports", () => {
    const kindOf = readme.split("\n").find((l) => l.includes("`kindOf(pfn)`")) ?? "";
    for (const kind of Object.keys(new PhysMem({ bytes: 2 ** 22 }).counts())) {
      expect(kindOf, kind).toContain(`"${kind}"`);
    }
  });

  it("lists every rss counter and the kernel-named methods of PageTable", () => {
    const pt = new PageTable(new PhysMem({ bytes: 2 ** 22 }));
    for (const counter of Object.keys(pt.rss)) expect(readme).toContain(counter);
    for (const method of ["changeProtection", "doWpPage", "pteAlloc", "mapHugePmd", "ptdump"]) {
      expect(readme).toContain(`\`${method}(`);
    }
  });

  it("does not call MM_SHMEMPAGES always 0 (a MAP_SHARED populate counts shmem frames)", () => {
    expect(readme).not.toMatch(/MM_SHMEMPAGES[^.\n]*(always 0|stays? 0)/);
    const source = readFileSync(new URL("./page-table.ts", import.meta.url), "utf8");
    expect(source).not.toMatch(/MM_SHMEMPAGES \(always 0/);
  });
});
