import { defineConfig } from "tsup";
import base from "../../tsup.base.ts";

/** The shared build, with import.meta.url shimmed in the CJS build (current.ts names its copy). */
export default defineConfig({ ...(base as object), shims: true });
