/**
 * `classic`: v4.18/v4.19 vm_munmap(): the whole munmap under the mmap_sem write lock.
 */
import { traced } from "@mmlab/sched";
import type { Vma } from "@mmlab/vma-tree";
import { charge, type Op } from "../charge.js";
import { EINTR } from "../errno.js";
import { userfaultfdUnmapComplete } from "../hooks.js";
import type { MmStruct } from "../mm-struct.js";
import { doMunmap } from "../munmap.js";
import type { MunmapStrategy } from "./strategy.js";

/** mm/mmap.c: vm_munmap() — v4.19: the munmap syscall before the patch. */
export function* vmMunmap(mm: MmStruct, start: number, len: number): Op<number> {
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR; // killed while waiting: nothing changed
  const uf: Vma[] | null = mm.userfaultfd === null ? null : [];
  let ret: number;
  try {
    yield* charge(mm.cost.lockOp);
    ret = yield* traced("do_munmap", doMunmap(mm, start, len, uf));
  } finally {
    sem.upWrite(); // also when a hook or a library throws: never leave mmap_sem held
  }
  yield* charge(mm.cost.lockOp);
  userfaultfdUnmapComplete(mm, uf); // the ranges do_munmap's prep recorded
  return ret;
}

export const CLASSIC: MunmapStrategy = Object.freeze({
  name: "classic",
  kernel: "v4.18 mm/mmap.c vm_munmap() -> do_munmap()",
  description: "everything under the mmap_sem write lock",
  munmap: vmMunmap,
});
