import { defineConfig } from "tsup";

/** The CLI and its worker: ESM only, no declarations (the app is not published). */
export default defineConfig({
  entry: ["src/cli.ts", "src/sweep-worker.ts"],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
});
