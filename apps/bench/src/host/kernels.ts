/**
 * From the host's kernel version (uname -r) to the closest modelled kernel: which munmap
 * strategy, rwsem generation, VMA tree and mm-core generation stand for it. One small table,
 * in history order: a new modelled generation is one more row (its strategy must be
 * registered in mm-core; rows whose strategy is not registered are skipped).
 */
import type { KernelGeneration } from "@mmlab/mm-core";
import { munmapStrategies } from "@mmlab/mm-core";

export interface KernelRow {
  /** first kernel version this row covers, [major, minor] */
  since: readonly [number, number];
  strategy: string;
  /** why this strategy stands for kernels from `since` on */
  why: string;
}

/** The rows: the newest row whose `since` is at most the host's version wins. */
export const KERNEL_STRATEGY_TABLE: readonly KernelRow[] = [
  {
    since: [0, 0],
    strategy: "classic",
    why: "before v4.20 munmap held mmap_sem for write from lookup to the last freed page",
  },
  {
    since: [4, 20],
    strategy: "v4.20",
    why: "v4.20 (dd2283f2605e) detaches under the write lock, downgrades, zaps under the read lock",
  },
  {
    since: [5, 8],
    strategy: "v5.8",
    why: "v5.8 (246c320a8cfe) keeps the downgrade, vetoed next to a growing stack",
  },
  {
    since: [6, 1],
    strategy: "v6.1",
    why: "v6.1 (d4af56c5c7c6) keeps the VMAs in a maple tree, not in RCU mode; stacks grow under the read lock",
  },
  {
    since: [6, 3],
    strategy: "v6.3",
    why: "v6.3 (3dd4432549415f) puts the maple tree in RCU mode; stacks still grow under the read lock (StackRot; 6.3.11 has the fix)",
  },
  {
    since: [6, 4],
    strategy: "perVmaLock",
    why: "v6.4+ faults take the VMA's own lock (lock_vma_under_rcu) before mmap_lock; munmap still downgrades for the zap",
  },
  {
    since: [6, 5],
    strategy: "v6.5",
    why: "v6.5+ (8d7071af8907) grow stacks under the mmap write lock; per-VMA-lock faults, maple tree in RCU mode",
  },
];

export interface HostKernel {
  /** uname -r as given */
  release: string;
  version: readonly [number, number];
  strategy: string;
  why: string;
  rwsem: "v4.18" | "v5.3";
  tree: "maple" | "rb";
  generation: KernelGeneration;
}

/** "6.18.44-fc-v1272" → [6, 18]; null when it does not start with major.minor. */
export function parseKernelRelease(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m === null ? null : [Number(m[1]), Number(m[2])];
}

function atLeast(v: readonly [number, number], since: readonly [number, number]): boolean {
  return v[0] > since[0] || (v[0] === since[0] && v[1] >= since[1]);
}

/** The closest modelled kernel for `release`; RangeError for an unparsable release. */
export function closestModel(
  release: string,
  table: readonly KernelRow[] = KERNEL_STRATEGY_TABLE,
): HostKernel {
  const version = parseKernelRelease(release);
  if (version === null) throw new RangeError(`cannot read a kernel version from "${release}"`);
  const known = new Set(munmapStrategies().map((s) => s.name));
  let row: KernelRow | undefined;
  for (const r of table) if (known.has(r.strategy) && atLeast(version, r.since)) row = r;
  if (row === undefined) throw new RangeError(`no modelled kernel covers ${release}`);
  const generation: KernelGeneration = !atLeast(version, [6, 0])
    ? "v4.19"
    : atLeast(version, [6, 18])
      ? "v6.18"
      : "v6.8";
  return {
    release,
    version,
    strategy: row.strategy,
    why: `${release} >= v${row.since.join(".")}: ${row.why}`,
    // v5.3's rwsem rewrite (reader optimistic spinning, hand-off) and the maple tree (v6.1)
    rwsem: atLeast(version, [5, 3]) ? "v5.3" : "v4.18",
    tree: atLeast(version, [6, 1]) ? "maple" : "rb",
    generation,
  };
}
