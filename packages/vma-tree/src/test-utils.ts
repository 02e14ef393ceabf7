/**
 * Test harness in the style of tools/testing/vma/vma.c (v6.x): the helpers keep the kernel
 * harness names so that ported cases read the same. Byte addresses; one ruler column of a
 * case's ASCII diagram is one page (0x1000).
 */
import { type VmaMm, vmaMerge } from "./mmap.js";
import { PAGE_SIZE } from "./page.js";
import { RbVmaTree } from "./rb-vma-tree.js";
import {
  type AnonVma,
  DEFAULT_MAX_MAP_COUNT,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_READ,
  VM_WRITE,
  Vma,
  type VmaInit,
} from "./vma.js";
import type { VmaTree } from "./vma-tree.js";

/** The flags the kernel harness uses for ordinary anonymous VMAs. */
export const VM_RW = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;

export type VmaTreeFactory = (opts?: { stackGuardGap?: number }) => VmaTree;

/** A fresh mm with an empty tree (RbVmaTree unless a factory is given). */
export function createMm(
  factory: VmaTreeFactory = (opts) => new RbVmaTree(opts),
  maxMapCount: number = DEFAULT_MAX_MAP_COUNT,
): VmaMm {
  return { tree: factory(), maxMapCount };
}

type VmaExtra = Omit<VmaInit, "vmStart" | "vmEnd" | "vmPgoff" | "vmFlags">;

/** alloc_vma(): a VMA that is not linked anywhere. */
export function allocVma(
  start: number,
  end: number,
  pgoff: number,
  flags: number,
  extra: VmaExtra = {},
): Vma {
  return new Vma({ vmStart: start, vmEnd: end, vmPgoff: pgoff, vmFlags: flags, ...extra });
}

/** alloc_and_link_vma(): allocate and link into mm's tree. */
export function allocAndLinkVma(
  mm: VmaMm,
  start: number,
  end: number,
  pgoff: number,
  flags: number,
  extra: VmaExtra = {},
): Vma {
  const vma = allocVma(start, end, pgoff, flags, extra);
  mm.tree.insert(vma);
  return vma;
}

/**
 * try_merge_new_vma(): what mmap_region does for a new range — vma_merge with the VMA
 * before `start` as prev; if nothing merges, allocate and link a new VMA.
 */
export function tryMergeNewVma(
  mm: VmaMm,
  start: number,
  end: number,
  pgoff: number,
  flags: number,
  extra: { anonVma?: AnonVma | null; policy?: object | null; uffdCtx?: object | null } = {},
): { vma: Vma; merged: boolean } {
  const { prev } = mm.tree.findVmaPrev(start);
  const merged = vmaMerge(
    mm,
    prev,
    start,
    end,
    flags,
    extra.anonVma ?? null,
    null,
    pgoff,
    extra.policy ?? null,
    extra.uffdCtx ?? null,
  );
  if (merged !== null) return { vma: merged, merged: true };
  return {
    vma: allocAndLinkVma(mm, start, end, pgoff, flags, {
      anonVma: extra.anonVma ?? null,
      vmPolicy: extra.policy ?? null,
      vmUserfaultfdCtx: extra.uffdCtx ?? null,
    }),
    merged: false,
  };
}

/** cleanup_mm(): unlink every VMA; returns how many there were. */
export function cleanupMm(mm: VmaMm): number {
  const all = [...mm.tree];
  for (const vma of all) mm.tree.erase(vma);
  return all.length;
}

/** A fresh anon_vma. */
let nextAnonVmaId = 1;
export function allocAnonVma(): AnonVma {
  return { id: nextAnonVmaId++, degree: 1 };
}

/** [start, end) in ruler columns (pages). */
export function pages(first: number, endExclusive: number): [number, number] {
  return [first * PAGE_SIZE, endExclusive * PAGE_SIZE];
}

/**
 * Renders the tree on a ruler of `width` pages: each VMA as a run of its letter from
 * `names` (by identity), unknown VMAs as '?', holes as ' '. For readable expectations:
 * expect(rulerOf(tree, 13, {A: a, B: b})).toBe("AA B       CC").
 */
export function rulerOf(tree: VmaTree, width: number, names: Record<string, Vma>): string {
  const cells: string[] = [];
  for (let i = 0; i < width; i++) cells.push(" ");
  for (const vma of tree.range(0, width * PAGE_SIZE)) {
    let letter = "?";
    for (const key of Object.keys(names)) if (names[key] === vma) letter = key;
    const from = vma.vmStart / PAGE_SIZE;
    const to = Math.min(width, vma.vmEnd / PAGE_SIZE);
    for (let i = from; i < to; i++) cells[i] = letter;
  }
  return cells.join("").trimEnd();
}
