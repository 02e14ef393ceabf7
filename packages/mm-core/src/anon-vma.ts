/**
 * The anon_vma hierarchy fork builds (mm/rmap.c — v4.19): a child VMA's anon_vma has the
 * parent VMA's anon_vma as its parent (anon_vma->parent, ->root), and the child VMA is
 * chained to every anon_vma of the parent VMA (anon_vma_clone), so rmap finds the child's
 * PTEs of pages the parent faulted before the fork. @mmlab/vma-tree's AnonVma keeps only an
 * identity, a degree and the VMA's chain length; the parent links live here.
 */
import type { AnonVma, Vma } from "@mmlab/vma-tree";
import type { MmStruct } from "./mm-struct.js";

const parents = new WeakMap<AnonVma, AnonVma>();

/** anon_vma->parent, or null for a root (an anon_vma made by a fault, anon_vma_prepare()). */
export function anonVmaParent(av: AnonVma): AnonVma | null {
  return parents.get(av) ?? null;
}

/** anon_vma->root. */
export function anonVmaRoot(av: AnonVma): AnonVma {
  let a = av;
  for (let p = parents.get(a); p !== undefined; p = parents.get(a)) a = p;
  return a;
}

/** True when `ancestor` is `av` or one of its parents (the VMA of `av` is chained to it). */
export function anonVmaDescendsFrom(av: AnonVma, ancestor: AnonVma): boolean {
  for (let a: AnonVma | undefined = av; a !== undefined; a = parents.get(a)) {
    if (a === ancestor) return true;
  }
  return false;
}

/**
 * mm/rmap.c: anon_vma_fork() — v4.19: nothing when the parent VMA has no anon_vma;
 * otherwise the child VMA is chained to all the parent's anon_vmas (anon_vma_clone: the
 * same chain length) plus a new anon_vma of its own whose parent is the parent VMA's, whose
 * degree the link raises. 0 (the allocations do not fail in the model). Not modelled: the
 * reuse of an ancestor anon_vma left without VMAs (7a3ef208e662), which changes which
 * anon_vma a grandchild gets but not what rmap can reach.
 */
export function anonVmaFork(mm: MmStruct, vma: Vma, pvma: Vma): number {
  const pav = pvma.anonVma;
  if (pav === null) return 0;
  const av = mm.newAnonVma();
  parents.set(av, pav);
  pav.degree++;
  vma.anonVma = av;
  // anon_vma_prepare() paths of the model leave the chain length at 0; a VMA with an anon_vma
  // has at least its own link.
  vma.anonVmaChainLength = Math.max(pvma.anonVmaChainLength, 1) + 1;
  return 0;
}
