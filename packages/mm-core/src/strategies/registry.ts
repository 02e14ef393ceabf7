/**
 * The registry of munmap strategies: every kernel's file of this folder, in history order.
 * Your own strategies join it with registerMunmapStrategy().
 */
import { CLASSIC } from "./classic.js";
import type { MunmapStrategy } from "./strategy.js";
import { V4_20 } from "./v4-20.js";
import { V5_8 } from "./v5-8.js";
import { PER_VMA_LOCK } from "./v6-4.js";
import { V6_4_Y } from "./v6-4-y.js";
import { ZAP_RLOCK } from "./zap-rlock.js";

const registry = new Map<string, MunmapStrategy>([
  [CLASSIC.name, CLASSIC],
  [ZAP_RLOCK.name, ZAP_RLOCK],
  [V4_20.name, V4_20],
  [V5_8.name, V5_8],
  [PER_VMA_LOCK.name, PER_VMA_LOCK],
  [V6_4_Y.name, V6_4_Y],
]);

/** Adds a strategy (later kernels, your own idea); throws if the name is taken. */
export function registerMunmapStrategy(strategy: MunmapStrategy): void {
  if (registry.has(strategy.name)) {
    throw new Error(`@mmlab/mm-core: a munmap strategy named "${strategy.name}" already exists`);
  }
  registry.set(strategy.name, strategy);
}

/** The registered strategies, in registration order. */
export function munmapStrategies(): MunmapStrategy[] {
  return [...registry.values()];
}

/** Resolves a strategy by name (or passes a value through); RangeError names the known ones. */
export function munmapStrategy(nameOrValue: string | MunmapStrategy): MunmapStrategy {
  if (typeof nameOrValue !== "string") return nameOrValue;
  const s = registry.get(nameOrValue);
  if (s === undefined) {
    throw new RangeError(
      `@mmlab/mm-core: unknown munmap strategy "${nameOrValue}" (known: ${[...registry.keys()].join(", ")})`,
    );
  }
  return s;
}
