import { defineConfig } from "tsup";
import base from "../../tsup.base.ts";

/** The shared build; current.ts reads import.meta.url only where __filename is missing (ESM). */
export default defineConfig({
  ...(base as object),
  esbuildOptions(options) {
    options.logOverride = { ...options.logOverride, "empty-import-meta": "silent" };
  },
});
