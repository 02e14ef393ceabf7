/**
 * The type every munmap strategy is a value of. A strategy is one kernel's munmap(2): which parts
 * run under the mmap_sem write lock, when it downgrades, whether faults take per-VMA locks. The
 * strategies live one file per kernel in this folder; registry.ts imports them; MmStruct takes a
 * strategy value and never imports the files of this folder.
 */
import type { Vma } from "@mmlab/vma-tree";
import type { Op } from "../charge.js";
import type { MmStruct } from "../mm-struct.js";

export interface MunmapStrategy {
  /** Registry key, e.g. "classic". */
  readonly name: string;
  /** The kernel code it models, with version or commit. */
  readonly kernel: string;
  /** One line for tables and --help. */
  readonly description: string;
  /**
   * The munmap system call body from taking mmap_sem to userfaultfd_unmap_complete():
   * returns 0 or a negative errno. A generator: it runs as (part of) a sim task.
   */
  munmap(mm: MmStruct, start: number, len: number): Op<number>;
  /**
   * This kernel's `__do_munmap(mm, start, len, uf, downgrade)` for the brk and mremap shrink
   * paths, under the caller's write lock: 1 when it downgraded mmap_sem (the caller then
   * ends with up_read), 0, or -errno. Absent: v4.19's do_munmap (never downgrades).
   */
  readonly doMunmap?: DoMunmapFn;
  /** Page faults first try the VMA's own lock (lock_vma_under_rcu, v6.4+). */
  readonly perVmaLock?: boolean;
  /**
   * fork's dup_mmap() write-locks each parent VMA (vma_start_write) before copying it, so no
   * fault under a VMA lock runs during the copy (fb49c455323f, the fix of 6.4's fork race).
   */
  readonly forkLocksVmas?: boolean;
}

/** The signature every version's __do_munmap shares (brk and mremap call it through the strategy). */
export type DoMunmapFn = (
  mm: MmStruct,
  start: number,
  len: number,
  uf: Vma[] | null,
  downgrade: boolean,
) => Op<number>;
