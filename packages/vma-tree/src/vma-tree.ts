/**
 * The tree of VMAs an mm_struct holds: one interface, two implementations.
 *
 *   RbVmaTree    — mm->mm_rb + the vm_prev/vm_next list, augmented with rb_subtree_gap
 *                  (mm/mmap.c, lib/rbtree.c — v4.19)
 *   MapleVmaTree — mm->mm_mt, VMAs stored over [vm_start, vm_end - 1] (mm/mmap.c,
 *                  lib/maple_tree.c — v6.8)
 *
 * Both key on page indices (vmStart / PAGE_SIZE) so that 5-level (56-bit) addresses stay
 * exact; the interface speaks byte addresses. One contract suite (vma-tree.contract.ts) runs
 * against both.
 */
import type { Vma } from "./vma.js";

/** struct vm_unmapped_area_info (include/linux/mm.h — v4.19), in bytes. flags is implied by the call. */
export interface VmUnmappedAreaInfo {
  /** Bytes wanted, page aligned. */
  length: number;
  /** Lowest acceptable address. */
  lowLimit: number;
  /** The mapping must end at or below this address. */
  highLimit: number;
  /** Result satisfies (addr - alignOffset) & alignMask == 0; page-multiple mask, 0 for none. */
  alignMask: number;
  alignOffset: number;
  /** stack_guard_gap to respect below VM_GROWSDOWN neighbours; defaults to the tree's. */
  stackGuardGap?: number;
}

export interface VmaTree {
  readonly kind: "maple" | "rb";
  /** mm->map_count: number of VMAs. */
  readonly mapCount: number;
  /** First VMA with vmEnd > addr (it may start above addr), or null. */
  findVma(addr: number): Vma | null;
  /** find_vma plus its predecessor; prev is the last VMA when vma is null. */
  findVmaPrev(addr: number): { vma: Vma | null; prev: Vma | null };
  /** First VMA intersecting [start, end). */
  findVmaIntersection(start: number, end: number): Vma | null;
  /** The VMA containing addr, or null. */
  vmaLookup(addr: number): Vma | null;
  vmaNext(vma: Vma): Vma | null;
  vmaPrev(vma: Vma): Vma | null;
  first(): Vma | null;
  last(): Vma | null;
  /** Link a VMA; throws Error on overlap or if it is already linked (a bug in the caller). */
  insert(vma: Vma): void;
  /** Unlink a VMA; throws Error if it is not linked. */
  erase(vma: Vma): void;
  /**
   * Change a linked VMA's bounds and pgoff (vma_adjust); throws if it would overlap a
   * neighbour. Callers never assign vmStart/vmEnd of a linked VMA directly.
   */
  adjust(vma: Vma, vmStart: number, vmEnd: number, vmPgoff: number): void;
  /** VMAs intersecting [start, end), ascending. */
  range(start: number, end: number): IterableIterator<Vma>;
  [Symbol.iterator](): IterableIterator<Vma>;
  /** mm->highest_vm_end: vm_end_gap of the last VMA, 0 if empty. */
  readonly highestVmEnd: number;
  /** unmapped_area(): lowest fitting address, or -ENOMEM. */
  unmappedArea(info: VmUnmappedAreaInfo): number;
  /** unmapped_area_topdown(): highest fitting address, or -ENOMEM. */
  unmappedAreaTopdown(info: VmUnmappedAreaInfo): number;
  /** Throws Error describing the first broken invariant (sorted, no overlap, gaps, count). */
  validate(): void;
}
