/**
 * `v6.3`: the maple tree in RCU mode (3dd4432549415f "mm: enable maple tree RCU mode by default",
 * merged for v6.3 and backported to 6.1.y): every write builds new nodes and frees the old ones
 * through RCU (ma_free_rcu), so a reader of a rewritten node keeps a stable copy — but only for
 * as long as a grace period lasts. Readers that hold just the mmap_lock (find_vma() in a fault,
 * /proc/PID/maps) are not inside rcu_read_lock(), and stacks still grow under the read lock:
 * the grace period can end and the node be freed while such a reader walks it. That is
 * StackRot (CVE-2023-3269, Ruihan Li, July 2023), fixed by 8d7071af8907 in v6.5. munmap and
 * faults are v6.1's (per-VMA locks came in v6.4). Simplified: the model's RCU-mode tree
 * replaces a leaf on every write; the kernel keeps a lone pivot move in place when the node
 * has room (mas_wr_slot_store), so its stack growth replaces the node only off the fast paths.
 */
import type { MmStruct } from "../mm-struct.js";
import type { MunmapStrategy } from "./strategy.js";
import { __vmMunmap } from "./v4-20.js";
import { doMasMunmap } from "./v6-1.js";

/** v6.3's munmap(2): v6.1's, on a tree in RCU mode. */
export const V6_3: MunmapStrategy = Object.freeze({
  name: "v6.3",
  kernel:
    "v6.3 maple tree in RCU mode (3dd4432549415f): writes replace nodes, old ones freed after a grace period; expand_downwards() still under the read lock",
  description:
    "maple tree in RCU mode; mmap_lock readers are not RCU readers and a fault still grows a stack under the read lock (StackRot)",
  munmap: (mm: MmStruct, start: number, len: number) =>
    __vmMunmap(mm, start, len, true, doMasMunmap),
  doMunmap: doMasMunmap,
  tree: "maple",
  mapleRcu: true,
  stackExpansionLock: "read",
});
