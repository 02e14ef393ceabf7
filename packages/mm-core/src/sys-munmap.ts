import { traced } from "@mmlab/sched";
import { charge, type Op } from "./charge.js";
import type { MmStruct } from "./mm-struct.js";
import { munmapStrategy } from "./strategies/registry.js";
import type { MunmapStrategy } from "./strategies/strategy.js";
import { checkArg, ulongArg } from "./syscall-args.js";

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
  checkArg("sysMunmap", "addr", addr);
  checkArg("sysMunmap", "len", len);
  const s = strategy === undefined ? mm.munmapStrategy : munmapStrategy(strategy);
  // SYSCALL_DEFINE2(munmap, unsigned long, addr, size_t, len)
  addr = ulongArg(addr);
  len = ulongArg(len);
  yield* charge(mm.cost.syscall);
  return yield* traced("SyS_munmap", s.munmap(mm, addr, len));
}
