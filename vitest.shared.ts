import { defineProject } from "vitest/config";

/** Settings every package's vitest project shares: tests run against TypeScript source. */
export default defineProject({
  ssr: { resolve: { conditions: ["@mmlab/source", "module", "node", "development|production"] } },
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
