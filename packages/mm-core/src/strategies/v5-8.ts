/** `v5.8`: v4.20's munmap with the downgrade veto next to a growing stack (246c320a8cfe). */
import type { Vma } from "@mmlab/vma-tree";
import type { Op } from "../charge.js";
import type { MmStruct } from "../mm-struct.js";
import type { MunmapStrategy } from "./strategy.js";
import { __vmMunmap, doMunmapBody } from "./v4-20.js";

/**
 * mm/mmap.c: __do_munmap() — v5.8 (246c320a8cfe "mm/mmap.c: close race between munmap() and
 * expand_upwards()/downwards()"): no downgrade next to a VM_GROWSDOWN / VM_GROWSUP VMA.
 */
export function __doMunmapV5_8(
  mm: MmStruct,
  start: number,
  len: number,
  uf: Vma[] | null,
  downgrade: boolean,
): Op<number> {
  return doMunmapBody(mm, start, len, uf, downgrade, "v5.8");
}

/** v5.8's munmap(2): as v4.20, no downgrade next to a growing stack. */
export const V5_8: MunmapStrategy = Object.freeze({
  name: "v5.8",
  kernel: "v5.8 mm/mmap.c __do_munmap() with the grows-down/up veto (246c320a8cfe)",
  description:
    "as v4.20, but stays under the write lock when the VMA above is VM_GROWSDOWN or the one below VM_GROWSUP",
  munmap: (mm: MmStruct, start: number, len: number) =>
    __vmMunmap(mm, start, len, true, __doMunmapV5_8),
  doMunmap: __doMunmapV5_8,
});
