import { traced } from "@mmlab/sched";
import { charge, type Op } from "./charge.js";
import type { MmStruct } from "./mm-struct.js";
import { munmapStrategy } from "./strategies/registry.js";
import type { MunmapStrategy } from "./strategies/strategy.js";

/**
 * The munmap(2) system call: entry cost, then the chosen strategy (the mm's own unless the
 * call names one). 0 or a negative errno.
 */
export function* sysMunmap(
  mm: MmStruct,
  addr: number,
  len: number,
  strategy?: MunmapStrategy | string,
): Op<number> {
  yield* charge(mm.cost.syscall);
  const s = strategy === undefined ? mm.munmapStrategy : munmapStrategy(strategy);
  return yield* traced("SyS_munmap", s.munmap(mm, addr, len));
}
