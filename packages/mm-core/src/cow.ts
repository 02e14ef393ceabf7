/**
 * Copy-on-write of private pages (mm/memory.c do_wp_page(), wp_page_reuse(), wp_page_copy()
 * — v4.19): a write fault on a present, read-only entry of a writable private mapping.
 *
 *   the only mapping of an anonymous page   -> wp_page_reuse(): the entry becomes writable
 *   a page another PTE maps (fork), the     -> wp_page_copy(): a new anonymous page, filled
 *   zero page, a page-cache page               from the old one, replaces it in this PTE
 *
 * 4.19 decides "only mapping" with reuse_swap_page() (page_mapcount() == 1, no swap); 5.9's
 * 09854ba94c6a tests page_count() == 1 instead. The model has no other page references
 * (no GUP pins, no swap cache), so both read the same here.
 *
 * wp_page_copy() allocates and copies the page before it takes the page-table lock; time
 * passes there (the fault's cost is charged between the copy and the install), and the
 * install checks that the entry still maps the old page (pte_same), else frees the copy.
 */
import { wpPageCopyInstall } from "@mmlab/page-table";
import type { Vma } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { ENOMEM } from "./errno.js";
import type { MmStruct } from "./mm-struct.js";
import { copyUserHighpage } from "./page-contents.js";
import { flushTlbPage } from "./tlb-flush.js";

/** _PAGE_RW and _PAGE_SPECIAL of an x86 PTE. */
const PTE_RW = 2n;
const PTE_SPECIAL = 0x200n;

/**
 * mm/memory.c: do_wp_page() — v4.19, for a private mapping, with mmap_sem (or the VMA lock)
 * held for read: 0 when handled (also when the entry changed meanwhile: the access retries),
 * -ENOMEM when no frame was left for the copy.
 */
export function* doWpPage(mm: MmStruct, vma: Vma, addr: number): Op<number> {
  const pt = mm.pt;
  const phys = mm.phys;
  for (;;) {
    const pfn = pt.followPage(addr);
    if (pfn < 0) return 0; // zapped meanwhile: the access faults again
    const pte = pt.pteValue(addr);
    if ((pte & PTE_RW) !== 0n) return 0; // somebody else resolved it
    const special = (pte & PTE_SPECIAL) !== 0n;
    if (!special && phys.kindOf(pfn) === "anon" && phys.mapcount(pfn) === 1) {
      // wp_page_reuse(), decided and done under the page-table lock after the fault's cost.
      yield* charge(mm.cost.anonFault);
      if (pt.followPage(addr) !== pfn || phys.mapcount(pfn) !== 1) continue;
      if ((pt.pteValue(addr) & PTE_RW) !== 0n) return 0;
      const r = pt.doWpPage(addr); // mapcount 1: makes the entry writable, dirty, young
      if (r === 0 && vma.anonVma === null) vma.anonVma = mm.newAnonVma();
      return r;
    }
    return yield* wpPageCopy(mm, vma, addr, pfn, pte);
  }
}

/**
 * mm/memory.c: wp_page_copy() — v4.19: anon_vma_prepare(), allocate the new page and copy
 * the old one into it (cow_user_page; the zero page gives a cleared page), then, under the
 * page-table lock, install it if the entry is still `orig` (mapping `oldPfn`), flushing that page's TLB
 * entry (ptep_clear_flush_notify) so no CPU keeps writing to the old page.
 */
export function* wpPageCopy(
  mm: MmStruct,
  vma: Vma,
  addr: number,
  oldPfn: number,
  orig: bigint = mm.pt.pteValue(addr),
): Op<number> {
  const phys = mm.phys;
  if (vma.anonVma === null) vma.anonVma = mm.newAnonVma(); // anon_vma_prepare()
  const copy = phys.allocFrame("anon");
  if (copy < 0) return -ENOMEM;
  copyUserHighpage(phys, oldPfn, copy);
  yield* charge(mm.cost.anonFault);
  if (!wpPageCopyInstall(mm.pt, addr, orig, oldPfn, copy)) {
    phys.putPage(copy); // the entry changed meanwhile: drop the new page
    return 0;
  }
  flushTlbPage(mm, addr);
  return 0;
}
