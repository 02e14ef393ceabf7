/**
 * Split and merge of VMAs (mm/mmap.c — v4.19), written against the VmaTree interface so they
 * work on either tree: every change goes through tree.insert / tree.erase / tree.adjust.
 *
 * Which struct keeps which part of a split (the object identity a caller holds on to):
 *
 *   v4.19 __split_vma(vma, addr, new_below)
 *     new_below = 0:   [ vma (original) | new ]      original keeps the LOW part, pgoff as is
 *     new_below = 1:   [ new | vma (original) ]      original keeps the HIGH part, pgoff += shift
 *     do_munmap splits the first VMA with new_below = 0 and the last with new_below = 1, so in
 *     4.19 the ORIGINAL structs are the survivors outside [start, end) and the new structs
 *     are the parts that get unmapped.
 *   v6.x (do_vmi_align_munmap) splits the first with new_below = 1 and the last with 0: the
 *     arithmetic is the same, but the original structs cover the unmapped part and the
 *     survivors are new (kernel-semantics 2.1). This module implements the 4.19 functions;
 *     a 6.x-style caller gets the 6.x identities by passing the opposite newBelow.
 *
 * vma_merge's table (P = prev, N = next/area, X = the VMA after N, A = [addr, end)):
 *
 *     AAAA             AAAA                AAAA          AAAA
 *    PPPPPPNNNNNN    PPPPPPNNNNNN    PPPPPPNNNNNN    PPPPNNNNXXXX
 *    cannot merge    might become    might become    might become
 *                    PPNNNNNNNNNN    PPPPPPPPPPNN    PPPPPPPPPPPP 6 or
 *    mmap, brk or    case 4 below    case 5 below    PPPPPPPPXXXX 7 or
 *    mremap move:                                    PPPPXXXXXXXX 8
 *        AAAA
 *    PPPP    NNNN    PPPPPPPPPPPP    PPPPPPPPNNNN    PPPPNNNNNNNN
 *    might become    case 1 below    case 2 below    case 3 below
 */
import { ENOMEM } from "./errno.js";
import { PAGE_SIZE } from "./page.js";
import {
  type AnonVma,
  checkVmaBounds,
  VM_SOFTDIRTY,
  VM_SPECIAL,
  Vma,
  type VmFile,
  vmaPages,
  vmFlagsDiff,
  vmFlagsHas,
} from "./vma.js";
import type { VmaTree } from "./vma-tree.js";

/** The bits of struct mm_struct that split and merge need. */
export interface VmaMm {
  tree: VmaTree;
  /** sysctl_max_map_count (DEFAULT_MAX_MAP_COUNT = 65530). */
  maxMapCount: number;
}

// =======================================================================================
// Split
// =======================================================================================

/**
 * mm/mmap.c: __split_vma() — v4.19. Splits `vma` at `addr` without the map_count check.
 * Returns the NEW Vma (below addr if newBelow, else above) or a negative errno from
 * vm_ops->split. The original object keeps the other part (see the header).
 * @internal used where the map_count limit was already checked (do_munmap).
 */
export function __splitVma(mm: VmaMm, vma: Vma, addr: number, newBelow: boolean): Vma | number {
  if (
    !Number.isInteger(addr) ||
    addr % PAGE_SIZE !== 0 ||
    addr <= vma.vmStart ||
    addr >= vma.vmEnd
  ) {
    throw new RangeError(
      `@mmlab/vma-tree: __splitVma: address ${addr} is not a page boundary inside ${String(vma)}`,
    );
  }
  const ops = vma.vmOps;
  if (ops?.split !== undefined) {
    const err = ops.split(vma, addr);
    if (err !== 0) return err;
  }
  // vm_area_dup + the bounds of the new part.
  const shift = (addr - vma.vmStart) / PAGE_SIZE;
  const created = new Vma({
    vmStart: newBelow ? vma.vmStart : addr,
    vmEnd: newBelow ? addr : vma.vmEnd,
    vmPgoff: newBelow ? vma.vmPgoff : vma.vmPgoff + shift,
    vmFlags: vma.vmFlags,
    anonVma: vma.anonVma, // anon_vma_clone: same anon_vma hierarchy
    anonVmaChainLength: vma.anonVmaChainLength,
    vmFile: vma.vmFile, // get_file
    vmOps: vma.vmOps,
    vmUserfaultfdCtx: vma.vmUserfaultfdCtx,
    vmPolicy: vma.vmPolicy, // vma_dup_policy: an mpol_equal copy; identity keeps it equal here
  });
  if (ops?.open !== undefined) ops.open(created);
  // vma_adjust: shrink the original first, then link the new part.
  if (newBelow) mm.tree.adjust(vma, addr, vma.vmEnd, vma.vmPgoff + shift);
  else mm.tree.adjust(vma, vma.vmStart, addr, vma.vmPgoff);
  mm.tree.insert(created);
  return created;
}

/** mm/mmap.c: split_vma() — v4.19. -ENOMEM if mapCount >= maxMapCount, else __split_vma. */
export function splitVma(mm: VmaMm, vma: Vma, addr: number, newBelow: boolean): Vma | number {
  if (mm.tree.mapCount >= mm.maxMapCount) return -ENOMEM;
  return __splitVma(mm, vma, addr, newBelow);
}

// =======================================================================================
// Mergeability predicates
// =======================================================================================

/**
 * mm/mmap.c: is_mergeable_vma() — v4.19. Flags equal ignoring VM_SOFTDIRTY, same file, no
 * vm_ops->close (a driver doing reference counting), same userfaultfd context.
 */
export function isMergeableVma(
  vma: Vma,
  file: VmFile | null,
  vmFlags: number,
  uffdCtx: object | null,
): boolean {
  if (vmFlagsDiff(vma.vmFlags, vmFlags, VM_SOFTDIRTY) !== 0) return false;
  if (vma.vmFile !== file) return false;
  if (vma.vmOps?.close !== undefined) return false;
  return vma.vmUserfaultfdCtx === uffdCtx; // is_mergeable_vm_userfaultfd_ctx
}

/**
 * mm/mmap.c: is_mergeable_anon_vma() — v4.19. A missing anon_vma on either side is fine
 * unless `vma` has an anon_vma_chain that is not exactly one entry long (inherited by fork,
 * or empty because vma has no anon_vma of its own); otherwise they must be the same.
 */
export function isMergeableAnonVma(
  av1: AnonVma | null,
  av2: AnonVma | null,
  vma: Vma | null,
): boolean {
  if ((av1 === null || av2 === null) && (vma === null || vma.anonVmaChainLength === 1)) {
    return true;
  }
  return av1 === av2;
}

/**
 * mm/mmap.c: can_vma_merge_before() — v4.19. Can (vmFlags, anonVma, file, pgoff) go right in
 * front of `next`? `pgoff` is the offset the request would have at next.vmStart.
 */
export function canVmaMergeBefore(
  next: Vma,
  vmFlags: number,
  anonVma: AnonVma | null,
  file: VmFile | null,
  pgoff: number,
  uffdCtx: object | null,
): boolean {
  return (
    isMergeableVma(next, file, vmFlags, uffdCtx) &&
    isMergeableAnonVma(anonVma, next.anonVma, next) &&
    next.vmPgoff === pgoff
  );
}

/**
 * mm/mmap.c: can_vma_merge_after() — v4.19. Can (vmFlags, anonVma, file, pgoff) go right after
 * `prev`? Needs prev.vmPgoff + vma_pages(prev) === pgoff.
 */
export function canVmaMergeAfter(
  prev: Vma,
  vmFlags: number,
  anonVma: AnonVma | null,
  file: VmFile | null,
  pgoff: number,
  uffdCtx: object | null,
): boolean {
  return (
    isMergeableVma(prev, file, vmFlags, uffdCtx) &&
    isMergeableAnonVma(anonVma, prev.anonVma, prev) &&
    prev.vmPgoff + vmaPages(prev) === pgoff
  );
}

/** mm/mempolicy.h: mpol_equal() — modelled as identity (null === null). */
function mpolEqual(a: object | null, b: object | null): boolean {
  return a === b;
}

// =======================================================================================
// vma_merge
// =======================================================================================

/**
 * mm/mmap.c: vma_merge() — v4.19. Tries to merge the request [addr, end) with `prev` (the VMA
 * before addr, or null) and/or the VMA at or after it, following the 8 cases of the header.
 * Returns the VMA now covering [addr, end), or null if nothing merged (and nothing changed).
 *
 * One rule is stricter than 4.19's letter: 4.19 never checks vm_ops->close on the VMA it
 * removes in cases 6, 7 and 8 (it relies on that VMA sharing prev's/next's file and ops);
 * like v6.x's vma_merge we refuse (return null) if that VMA has a close hook, so a VMA with
 * close is never removed by a merge.
 */
export function vmaMerge(
  mm: VmaMm,
  prev: Vma | null,
  addr: number,
  end: number,
  vmFlags: number,
  anonVma: AnonVma | null,
  file: VmFile | null,
  pgoff: number,
  policy: object | null,
  uffdCtx: object | null,
): Vma | null {
  checkVmaBounds(addr, end);
  const tree = mm.tree;
  // VM_SPECIAL mappings never merge (and, since flags must match, neither do their neighbours).
  if (vmFlagsHas(vmFlags, VM_SPECIAL)) return null;
  const pglen = (end - addr) / PAGE_SIZE;
  let next = prev !== null ? tree.vmaNext(prev) : tree.first();
  const area = next;
  if (area !== null && area.vmEnd === end) next = tree.vmaNext(area); // cases 6, 7, 8
  if ((prev !== null && addr <= prev.vmStart) || (area !== null && end > area.vmEnd)) {
    throw new RangeError(
      `@mmlab/vma-tree: vmaMerge: [${addr}, ${end}) is not between prev and next`,
    );
  }
  // `area` is removed in cases 6, 7, 8: it must be exactly [addr, end) and not `next`.
  const areaRemovable = area !== null && area !== next && area.vmOps?.close === undefined;

  // Can it merge with the predecessor?
  if (
    prev !== null &&
    prev.vmEnd === addr &&
    mpolEqual(prev.vmPolicy, policy) &&
    canVmaMergeAfter(prev, vmFlags, anonVma, file, pgoff, uffdCtx)
  ) {
    const areaOverlaps = area !== null && area.vmStart < end;
    if (areaOverlaps && area !== next && !areaRemovable) return null;
    // Can we now merge in the successor as well?
    if (
      next !== null &&
      end === next.vmStart &&
      mpolEqual(policy, next.vmPolicy) &&
      canVmaMergeBefore(next, vmFlags, anonVma, file, pgoff + pglen, uffdCtx) &&
      isMergeableAnonVma(prev.anonVma, next.anonVma, null)
    ) {
      // cases 1, 6: P grows over (N and) X.
      if (areaOverlaps && area !== next) {
        importAnonVma(prev, area.anonVma !== null ? area : next);
        tree.erase(area); // case 6
      } else {
        importAnonVma(prev, next);
      }
      const newEnd = next.vmEnd;
      tree.erase(next);
      tree.adjust(prev, prev.vmStart, newEnd, prev.vmPgoff);
    } else if (areaOverlaps && area.vmEnd === end) {
      importAnonVma(prev, area); // case 7: P grows over N, N removed
      tree.erase(area);
      tree.adjust(prev, prev.vmStart, end, prev.vmPgoff);
    } else if (areaOverlaps) {
      // case 5: the head of N moves to P.
      importAnonVma(prev, area);
      tree.adjust(area, end, area.vmEnd, area.vmPgoff + (end - area.vmStart) / PAGE_SIZE);
      tree.adjust(prev, prev.vmStart, end, prev.vmPgoff);
    } else {
      tree.adjust(prev, prev.vmStart, end, prev.vmPgoff); // case 2
    }
    return prev;
  }

  // Can this new request be merged in front of next?
  if (
    next !== null &&
    end === next.vmStart &&
    mpolEqual(policy, next.vmPolicy) &&
    canVmaMergeBefore(next, vmFlags, anonVma, file, pgoff + pglen, uffdCtx)
  ) {
    if (prev !== null && addr < prev.vmEnd) {
      // case 4: the tail of P moves to N.
      importAnonVma(next, prev);
      tree.adjust(prev, prev.vmStart, addr, prev.vmPgoff);
      tree.adjust(next, addr, next.vmEnd, next.vmPgoff - (next.vmStart - addr) / PAGE_SIZE);
    } else {
      if (area !== null && area !== next) {
        // case 8: X grows down over N, N removed.
        if (!areaRemovable) return null;
        importAnonVma(next, area);
        tree.erase(area);
      }
      tree.adjust(next, addr, next.vmEnd, next.vmPgoff - pglen); // cases 3, 8
    }
    return next;
  }
  return null;
}

/**
 * __vma_adjust's "easily overlooked" step — v4.19: when a boundary moves or a VMA is
 * absorbed, the growing VMA (importer) takes the shrinking one's (exporter) anon_vma if it
 * has none, via anon_vma_clone (which copies the whole chain).
 */
function importAnonVma(importer: Vma, exporter: Vma): void {
  if (exporter.anonVma !== null && importer.anonVma === null) {
    importer.anonVma = exporter.anonVma;
    importer.anonVmaChainLength = exporter.anonVmaChainLength;
  }
}
