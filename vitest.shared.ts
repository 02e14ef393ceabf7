import { defineProject } from "vitest/config";

/** Settings every package's vitest project shares: tests run against TypeScript source. */
export default defineProject({
  ssr: { resolve: { conditions: ["@mmlab/source", "module", "node", "development|production"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // A timeout here detects a hang, not slowness: property tests of a few seconds on an idle
    // machine take several times longer on a busy one, and must not fail for it.
    testTimeout: 60_000,
  },
});
