/**
 * DOC: huge leaves at teardown — mm/huge_memory.c, v4.19.
 *
 * A 2 MiB THP is mapped by one PMD leaf; a PTE table is deposited beside it when it is
 * mapped (counted in nr_ptes) so that splitting it can never fail for want of memory.
 *
 *   full coverage  zap_huge_pmd():   clear the PMD, drop the compound mapping, free the
 *                                    deposited table, MM_ANONPAGES -= 512, gather the page
 *   partial        __split_huge_pmd(): withdraw the deposited table, fill it with 512 PTEs
 *                                    mapping the subpages (each takes a reference and a
 *                                    mapcount), link it in place of the leaf; zap_pte_range()
 *                                    then clears the covered part
 *
 * A 1 GiB leaf in a PUD: full coverage -> zap_huge_pud(); partial coverage -> v4.19's
 * __split_huge_pud() only clears the entry (PUD leaves exist there only for DAX, whose data
 * stays in the file and refaults at a smaller size). The model does the same, so a partial zap
 * drops the whole 1 GiB mapping, and accounts for it as it would a full zap.
 */

import { PMD_SPAN, PUD_SPAN, spanFloor } from "./address.js";
import { HPAGE_PMD_NR, HPAGE_PUD_NR } from "./constants.js";
import { entryPfn, HI_NX, LO_FLAGS, LO_PSE, LO_TABLE } from "./entry.js";
import { LEVEL_PTE, SLAB_MASK, SLAB_SHIFT } from "./table-pool.js";
import type { MmuGather } from "./tlb.js";

/** mm/huge_memory.c: zap_huge_pmd() — v4.19 (anonymous THP). Returns 1 (entries cleared). */
export function zapHugePmd(tlb: MmuGather, pmdTab: number, i: number, addrPn: number): number {
  const pt = tlb.pt;
  const dirs = pt.dirs;
  const head = entryPfn(dirs.lo(pmdTab, i), dirs.hi(pmdTab, i));
  const deposit = dirs.child(pmdTab, i);
  dirs.clearEntry(pmdTab, i); // pmdp_huge_get_and_clear_full()
  tlb.tlbAdjustRange(addrPn, addrPn + PMD_SPAN); // tlb_remove_pmd_tlb_entry()
  pt.phys.addCompoundMapcount(head, -1); // page_remove_rmap(page, true)
  pt.freeTableNow(deposit, LEVEL_PTE); // zap_deposited_table(): pte_free() + mm_dec_nr_ptes()
  pt.mmNrPtes--;
  tlb.stats.pagetablePagesFreed++;
  pt.rss.anon -= HPAGE_PMD_NR;
  tlb.stats.hugePmdsZapped++;
  tlb.tlbRemovePage(head); // tlb_remove_page_size(tlb, page, HPAGE_PMD_SIZE)
  return 1;
}

/**
 * mm/huge_memory.c: __split_huge_pmd() — v4.19 (__split_huge_pmd_locked, anonymous, not
 * freezing): the leaf becomes a PTE table of 512 entries with the leaf's flags.
 */
export function __splitHugePmd(tlb: MmuGather, pmdTab: number, i: number, addrPn: number): void {
  const pt = tlb.pt;
  const dirs = pt.dirs;
  const phys = pt.phys;
  const lo = dirs.lo(pmdTab, i);
  const hi = dirs.hi(pmdTab, i);
  const head = entryPfn(lo, hi);
  const deposit = dirs.child(pmdTab, i); // pgtable_trans_huge_withdraw()
  const flagsLo = lo & LO_FLAGS & ~LO_PSE;
  const flagsHi = hi & HI_NX;
  const ptes = pt.ptes;
  const slab = ptes.slabs[deposit >>> SLAB_SHIFT] as Uint32Array;
  const base = (deposit & SLAB_MASK) << 10;
  for (let k = 0; k < HPAGE_PMD_NR; k++) {
    const pfn = head + k;
    slab[base + 2 * k] = ((pfn << 12) | flagsLo) >>> 0;
    slab[base + 2 * k + 1] = ((pfn >>> 20) | flagsHi) >>> 0;
    phys.addMapcount(pfn, 1); // atomic_inc(&page[i]._mapcount)
  }
  ptes.used[deposit] = HPAGE_PMD_NR;
  ptes.basePn[deposit] = spanFloor(addrPn, PMD_SPAN);
  phys.addRef(head, HPAGE_PMD_NR - 1); // page_ref_add(page, HPAGE_PMD_NR - 1)
  phys.addCompoundMapcount(head, -1); // the compound mapping goes
  const tpfn = ptes.pfn[deposit] as number;
  // pmdp_invalidate() + pmd_populate(): the PMD now links the table
  dirs.replaceEntry(pmdTab, i, ((tpfn << 12) | LO_TABLE) >>> 0, tpfn >>> 20, deposit);
  tlb.stats.hugePmdsSplit++;
}

/** mm/huge_memory.c: zap_huge_pud() — v4.19 (here for an anonymous 1 GiB page). Returns 1. */
export function zapHugePud(tlb: MmuGather, pudTab: number, i: number, addrPn: number): number {
  const pt = tlb.pt;
  const dirs = pt.dirs;
  const head = entryPfn(dirs.lo(pudTab, i), dirs.hi(pudTab, i));
  dirs.clearEntry(pudTab, i); // pudp_huge_get_and_clear_full()
  tlb.tlbAdjustRange(addrPn, addrPn + PUD_SPAN); // tlb_remove_pud_tlb_entry()
  pt.phys.addCompoundMapcount(head, -1);
  pt.rss.anon -= HPAGE_PUD_NR;
  tlb.stats.hugePudsZapped++;
  tlb.tlbRemovePage(head);
  return 1;
}

/**
 * mm/huge_memory.c: __split_huge_pud() — v4.19: clears the whole PUD leaf (with an immediate
 * flush, pudp_huge_clear_flush_notify()). Returns 1 (the leaf entry cleared).
 */
export function __splitHugePud(tlb: MmuGather, pudTab: number, i: number): number {
  const pt = tlb.pt;
  const dirs = pt.dirs;
  const head = entryPfn(dirs.lo(pudTab, i), dirs.hi(pudTab, i));
  dirs.clearEntry(pudTab, i);
  tlb.stats.tlbFlushes++; // flush_pud_tlb_range()
  pt.phys.addCompoundMapcount(head, -1);
  pt.rss.anon -= HPAGE_PUD_NR;
  tlb.stats.hugePudsSplit++;
  // the translation is already flushed, so the page can go at once
  const before = pt.phys.freeFrames;
  pt.phys.putPage(head);
  tlb.stats.pagesFreed += pt.phys.freeFrames - before;
  return 1;
}

/** True if a directory entry's low half is a huge leaf. */
export function isHugeLeaf(lo: number): boolean {
  return (lo & LO_PSE) !== 0;
}
