/**
 * munmap(2) strategies: values of one type in one registry, chosen per mm or per call.
 *
 * - `classic`: v4.18/v4.19 vm_munmap(): everything under the write lock.
 * - `zapRlock`: Yang Shi's do_munmap_zap_rlock() (RFC v7/v8, linux-mm 2018): lookup, split,
 *   munlock and detach under the write lock; downgrade_write(); zap, free_pgtables and
 *   remove_vma_list under the read lock. VM_HUGETLB / VM_PFNMAP / uprobed VMAs fall back
 *   to the classic path.
 *
 * - `v4.20`, `v5.8`, `perVmaLock`: the merged __do_munmap(..., downgrade) and its fixes, in
 *   munmap-v4-20.ts.
 *
 * Your own strategies join the same registry with registerMunmapStrategy().
 */

import { traced } from "@mmlab/sched";
import { VM_HUGETLB, VM_PFNMAP, type Vma, vmFlagsHas } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { EINTR } from "./errno.js";
import { userfaultfdUnmapComplete, userfaultfdUnmapPrep, vmaHasUprobes } from "./hooks.js";
import type { MmStruct } from "./mm-struct.js";
import {
  detachVmasToBeUnmapped,
  munlockRange,
  munmapAlignLen,
  munmapLookupVma,
  munmapRangeOk,
  removeVmaList,
  unmapRegion,
} from "./munmap.js";
import { type DoMunmapFn, PER_VMA_LOCK, V4_20, V5_8 } from "./munmap-v4-20.js";

export interface MunmapStrategy {
  /** Registry key, e.g. "classic". */
  readonly name: string;
  /** The kernel code it models, with version or commit. */
  readonly kernel: string;
  /** One line for tables and --help. */
  readonly description: string;
  /**
   * The munmap system call body from taking mmap_sem to userfaultfd_unmap_complete():
   * returns 0 or a negative errno.
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
}

/**
 * mm/mmap.c: do_munmap() — v4.19, entirely under the caller's write lock. Also the
 * fallback of zapRlock for special mappings, and what mmap(MAP_FIXED) uses to clear a range.
 */
export function* doMunmap(mm: MmStruct, start: number, len: number, uf: Vma[] | null): Op<number> {
  const bad = munmapRangeOk(mm, start, len);
  if (bad !== 0) return bad;
  const end = start + munmapAlignLen(len);

  const first = yield* munmapLookupVma(mm, start, end);
  if (typeof first === "number") return first;
  if (first === null) return 0;
  const prev = mm.tree.vmaPrev(first);

  if (uf !== null) {
    const err = userfaultfdUnmapPrep(mm, first, start, end, uf);
    if (err !== 0) return err;
  }
  yield* munlockRange(mm, first, end);
  const detached = yield* detachVmasToBeUnmapped(mm, first, end);
  yield* unmapRegion(mm, detached, prev, start, end);
  yield* removeVmaList(mm, detached);
  return 0;
}

/** mm/mmap.c: vm_munmap() — v4.19: the munmap syscall before the patch. */
export function* vmMunmap(mm: MmStruct, start: number, len: number): Op<number> {
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR; // killed while waiting: nothing changed
  yield* charge(mm.cost.lockOp);
  const uf: Vma[] | null = mm.userfaultfd === null ? null : [];
  const ret = yield* traced("do_munmap", doMunmap(mm, start, len, uf));
  sem.upWrite();
  yield* charge(mm.cost.lockOp);
  userfaultfdUnmapComplete(mm, uf, start, start + len);
  return ret;
}

/**
 * mm/mmap.c: do_munmap_zap_rlock() with vm_munmap_zap_rlock() — RFC v8 3/5 (Yang Shi,
 * linux-mm 2018-08-15). The special-mapping test is the intended
 * `vm_flags & (VM_HUGETLB | VM_PFNMAP)`; the posted patch had `|`, always true
 * (found by Vlastimil Babka in review).
 */
export function* vmMunmapZapRlock(mm: MmStruct, start: number, len: number): Op<number> {
  const bad = munmapRangeOk(mm, start, len);
  if (bad !== 0) return bad;
  const end = start + munmapAlignLen(len);
  const sem = mm.mmapSem;
  if ((yield* sem.downWriteKillable()) !== 0) return -EINTR; // killed while waiting: nothing changed
  yield* charge(mm.cost.lockOp);
  const uf: Vma[] | null = mm.userfaultfd === null ? null : [];
  const ret = yield* doMunmapZapRlock(mm, start, len, end, uf);
  userfaultfdUnmapComplete(mm, uf, start, end);
  return ret;
}

/** The body of do_munmap_zap_rlock(): takes the write lock held, returns with it released. */
function* doMunmapZapRlock(
  mm: MmStruct,
  start: number,
  len: number,
  end: number,
  uf: Vma[] | null,
): Op<number> {
  const sem = mm.mmapSem;
  const first = yield* munmapLookupVma(mm, start, end);
  if (first === null || typeof first === "number") {
    sem.upWrite();
    yield* charge(mm.cost.lockOp);
    return first === null ? 0 : first;
  }
  const prev = mm.tree.vmaPrev(first);
  if (uf !== null) {
    const err = userfaultfdUnmapPrep(mm, first, start, end, uf);
    if (err !== 0) {
      sem.upWrite();
      yield* charge(mm.cost.lockOp);
      return err;
    }
  }

  // Special mappings keep the old path, still under the write lock; the splits already done
  // are harmless (do_munmap finds the same boundaries).
  for (let v: Vma | null = first; v !== null && v.vmStart < end; v = mm.tree.vmaNext(v)) {
    yield* charge(mm.cost.vmaSpecialCheck);
    if (
      (v.vmFile !== null && vmaHasUprobes(mm, v, start, end)) ||
      vmFlagsHas(v.vmFlags, VM_HUGETLB | VM_PFNMAP)
    ) {
      const ret = yield* traced("do_munmap", doMunmap(mm, start, len, uf));
      sem.upWrite();
      yield* charge(mm.cost.lockOp);
      return ret;
    }
  }

  // munlock changes vm_flags of live VMAs: it must run before the downgrade.
  yield* munlockRange(mm, first, end);
  const detached = yield* detachVmasToBeUnmapped(mm, first, end);
  sem.downgradeWrite();
  yield* charge(mm.cost.lockOp);

  // Under the read lock from here: nobody can find the detached VMAs any more.
  yield* traced("unmap_region", unmapRegion(mm, detached, prev, start, end));
  yield* removeVmaList(mm, detached);
  sem.upRead();
  yield* charge(mm.cost.lockOp);
  return 0;
}

export const CLASSIC: MunmapStrategy = Object.freeze({
  name: "classic",
  kernel: "v4.18 mm/mmap.c vm_munmap() -> do_munmap()",
  description: "everything under the mmap_sem write lock",
  munmap: vmMunmap,
});

export const ZAP_RLOCK: MunmapStrategy = Object.freeze({
  name: "zapRlock",
  kernel: "RFC v8 3/5 do_munmap_zap_rlock() (Yang Shi, linux-mm 2018-08-15)",
  description:
    "detach under the write lock, downgrade, zap and free page tables under the read lock",
  munmap: vmMunmapZapRlock,
});

const registry = new Map<string, MunmapStrategy>([
  [CLASSIC.name, CLASSIC],
  [ZAP_RLOCK.name, ZAP_RLOCK],
  [V4_20.name, V4_20],
  [V5_8.name, V5_8],
  [PER_VMA_LOCK.name, PER_VMA_LOCK],
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
