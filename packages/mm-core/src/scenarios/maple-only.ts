/** Shared by the maple-era scenarios: they need maple nodes to walk. */
import type { MunmapStrategy } from "../strategies/strategy.js";

/** null for a strategy on the maple tree, else why the scenario does not apply. */
export function mapleOnly(strategy: MunmapStrategy): string | null {
  return strategy.tree === "maple" ? null : "rb-tree: this strategy has no maple nodes to walk";
}
