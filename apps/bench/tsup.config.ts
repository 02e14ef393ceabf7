import { defineConfig } from "tsup";

/** The CLI and its tinypool worker module: ESM only, no declarations (the app is not published). */
export default defineConfig({
  entry: ["src/cli.ts", "src/campaign/run-job.ts"],
  format: ["esm"],
  dts: false,
  sourcemap: true,
  clean: true,
  target: "node20",
});
