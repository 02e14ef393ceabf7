/** The README's API list against the code: findings of the 0.1.0 installed-package trial. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const source = readFileSync(new URL("./rwsem.ts", import.meta.url), "utf8");

describe("README", () => {
  it("documents history with the type the getter has", () => {
    const typed = /get history\(\): ([^{]+?) \{/.exec(source)?.[1];
    expect(typed).toBe("ReadonlyArray<AcquisitionRecord>");
    expect(readme).toContain(`\`history: ${typed}\``);
  });

  it("says to install @mmlab/sched with it (a peer dependency)", () => {
    expect(readme).toContain("npm install\n@mmlab/sched @mmlab/rwsem");
  });
});
