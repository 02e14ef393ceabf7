/**
 * DOC: the page-table side of fork(2) and of copy-on-write (mm/memory.c — v4.19):
 *
 *   copyPteRange(dst, src, addr, end, cow, shared)   copy_pud/pmd_range() + copy_pte_range()
 *                                                    + copy_one_pte() for one PMD extent
 *   wpPageCopyInstall(pt, addr, old, copy)           the locked tail of wp_page_copy()
 *   pgdFree(pt)                                      pgd_free() when the last mm user goes
 *
 * Frames shared by two page tables are counted once in PhysMem: every PTE mapping a frame
 * holds one reference and one mapcount (get_page() + page_dup_rmap()), so after a fork a
 * private page has mapcount 2 and refcount 2 until one side breaks the COW or unmaps it.
 * These are additions beside PageTable (no change to its existing paths).
 */
import { PMD_SPAN, pteIndex, spanFloor } from "./address.js";
import {
  entryPfn,
  entryValue,
  HI_PFN,
  LO_ACCESSED,
  LO_DIRTY,
  LO_FLAGS,
  LO_PRESENT,
  LO_PROTNONE,
  LO_RW,
  LO_SPECIAL,
} from "./entry.js";
import { ENOMEM } from "./errno.js";
import { type PageTable, WALK_LEAF } from "./page-table.js";
import {
  KIND_ANON,
  KIND_FILE,
  KIND_MASK,
  KIND_SHMEM,
  MAP_ONE,
  MAP_SHIFT,
  OVERFLOW,
  PAGE_FLAGS,
  PG_HEAD,
  PG_TAIL,
  REF_ONE,
  REF_SHIFT,
} from "./phys-mem.js";
import { LEVEL_PGD, LEVEL_PMD, LEVEL_PTE, LEVEL_PUD, SLAB_MASK, SLAB_SHIFT } from "./table-pool.js";

/** The last refcount / mapcount value handled inline; above it PhysMem's overflow maps take over. */
const INLINE_MAX = OVERFLOW - 2;

/**
 * mm/memory.c: copy_pud_range() -> copy_pmd_range() -> copy_pte_range() -> copy_one_pte()
 * — v4.19, for [addr, end) inside ONE PMD extent (2 MiB): what dup_mmap() copies between two
 * cond_resched() points. The child's tables are allocated where the parent has them
 * (pud_alloc / pmd_alloc when the parent's upper entry is present, pte_alloc when its PMD
 * entry points to a PTE table, even an empty one). For each present parent PTE:
 *
 *   - `cow` (is_cow_mapping(): private and VM_MAYWRITE) and writable: the parent's entry is
 *     write-protected in place (ptep_set_wrprotect) and the child's copy is read-only too;
 *   - `shared` (VM_SHARED): the child's entry is clean (pte_mkclean);
 *   - the child's entry is old (pte_mkold);
 *   - a normal page gets a reference and a mapcount (get_page + page_dup_rmap) and counts in
 *     the child's rss by kind; the zero page (special) gets neither.
 *
 * Returns the number of present entries copied (the cost driver), or -ENOMEM when a child
 * table could not be allocated (the entries copied so far stay, as in the kernel).
 * A huge PMD or PUD leaf in the range throws: copy_huge_pmd() is not modelled (mm-core maps
 * no THP).
 */
export function copyPteRange(
  dst: PageTable,
  src: PageTable,
  addr: number,
  end: number,
  cow: boolean,
  shared: boolean,
): number {
  const s = src.toPn(addr, "copyPteRange: addr");
  const e = src.toPn(end, "copyPteRange: end");
  if (e <= s || e > spanFloor(s, PMD_SPAN) + PMD_SPAN) {
    throw new RangeError(
      `@mmlab/page-table: copyPteRange: [0x${addr.toString(16)}, 0x${end.toString(16)}) is empty or crosses a PMD boundary`,
    );
  }
  if (dst.phys !== src.phys) {
    throw new Error("@mmlab/page-table: copyPteRange: parent and child must share one PhysMem");
  }
  // copy_p4d/pud_range(): the child's upper tables exist wherever the parent's do.
  const srcPud = src.walk(s, LEVEL_PUD, false);
  if (srcPud === 0) return 0;
  if (dst.walk(s, LEVEL_PUD, true) === -ENOMEM) return -ENOMEM;
  const srcPmd = src.walk(s, LEVEL_PMD, false);
  if (srcPmd === WALK_LEAF) throw hugeLeaf(s, "PUD");
  if (srcPmd === 0) return 0;
  if (dst.walk(s, LEVEL_PMD, true) === -ENOMEM) return -ENOMEM;
  const srcTab = src.walk(s, LEVEL_PTE, false);
  if (srcTab === WALK_LEAF) throw hugeLeaf(s, "PMD");
  if (srcTab === 0) return 0; // pmd_none(): nothing to copy here
  const dstTab = dst.walk(s, LEVEL_PTE, true);
  if (dstTab === -ENOMEM) return -ENOMEM;
  if (dstTab === WALK_LEAF) throw hugeLeaf(s, "PMD (child)");

  const pool = src.ptes;
  const sSlab = pool.slabs[srcTab >>> SLAB_SHIFT] as Uint32Array;
  const sBase = (srcTab & SLAB_MASK) << 10;
  const dPool = dst.ptes;
  const dSlab = dPool.slabs[dstTab >>> SLAB_SHIFT] as Uint32Array;
  const dBase = (dstTab & SLAB_MASK) << 10;
  const phys = src.phys;
  const page = phys.pageArr;
  const clearLo = (cow ? LO_RW : 0) | (shared ? LO_DIRTY : 0) | LO_ACCESSED;
  let copied = 0;
  let anon = 0;
  let file = 0;
  let shmem = 0;
  const k0 = pteIndex(s);
  const kEnd = k0 + (e - s);
  for (let k = k0; k < kEnd; k++) {
    const o = k << 1;
    const lo = sSlab[sBase + o] as number;
    if (lo === 0) continue;
    const hi = sSlab[sBase + o + 1] as number;
    if ((lo & (LO_PRESENT | LO_PROTNONE)) === 0) {
      throw new Error(
        `@mmlab/page-table: copyPteRange: a swap entry at 0x${((s - k0 + k) * 4096).toString(16)} (swap is not modelled)`,
      );
    }
    if (dSlab[dBase + o] !== 0) {
      throw new Error(
        `@mmlab/page-table: copyPteRange: the child's PTE for 0x${((s - k0 + k) * 4096).toString(16)} is not none`,
      );
    }
    // ptep_set_wrprotect() on the parent: a COW mapping's writable entry loses RW.
    if (cow && (lo & LO_RW) !== 0) sSlab[sBase + o] = (lo & ~LO_RW) >>> 0;
    dSlab[dBase + o] = (lo & ~clearLo) >>> 0;
    dSlab[dBase + o + 1] = hi;
    copied++;
    if ((lo & LO_SPECIAL) !== 0) continue; // vm_normal_page() == NULL: the zero page
    const pfn = entryPfn(lo, hi);
    const w = page[pfn] as number;
    const code = w & PAGE_FLAGS;
    if (
      (code & (PG_HEAD | PG_TAIL)) === 0 &&
      ((w >>> REF_SHIFT) & OVERFLOW) <= INLINE_MAX &&
      w >>> MAP_SHIFT <= INLINE_MAX
    ) {
      page[pfn] = w + REF_ONE + MAP_ONE; // get_page(), page_dup_rmap()
    } else {
      phys.getPage(pfn);
      phys.addMapcount(pfn, 1);
    }
    const kind = code & KIND_MASK;
    if (kind === KIND_ANON) anon++;
    else if (kind === KIND_FILE) file++;
    else if (kind === KIND_SHMEM) shmem++;
  }
  (dPool.used[dstTab] as number) += copied;
  // add_mm_rss_vec(dst_mm, rss)
  dst.rss.anon += anon;
  dst.rss.file += file;
  dst.rss.shmem += shmem;
  return copied;
}

function hugeLeaf(pn: number, where: string): Error {
  return new Error(
    `@mmlab/page-table: copyPteRange: a huge ${where} leaf maps 0x${(pn * 4096).toString(16)} (copy_huge_pmd is not modelled)`,
  );
}

/**
 * mm/memory.c: wp_page_copy() — v4.19, the part under the page-table lock after the new page
 * was allocated and filled: if the PTE at addr is still the entry `orig` the fault read
 * (pte_same: same frame `oldPfn`, same bits — a concurrent wp_page_reuse() that made it
 * writable changes it), replace it by a
 * writable, dirty, young entry for `copy` (a fresh anonymous frame with one reference, from
 * allocFrame("anon")), keeping the other flag bits; the old page loses this mapping and its
 * reference (page_remove_rmap + put_page, freed at 0) and the rss moves to MM_ANONPAGES.
 * Returns false, changing nothing, when the entry changed meanwhile (the caller frees `copy`).
 * The caller flushes the TLB entry (ptep_clear_flush_notify).
 */
export function wpPageCopyInstall(
  pt: PageTable,
  addr: number,
  orig: bigint,
  oldPfn: number,
  copy: number,
): boolean {
  const pn = pt.toPn(addr, "wpPageCopyInstall: addr");
  const tab = pt.walk(pn, LEVEL_PTE, false);
  if (tab <= 0) return false;
  const k = pteIndex(pn);
  const pool = pt.ptes;
  const lo = pool.lo(tab, k);
  if (lo === 0) return false;
  const hi = pool.hi(tab, k);
  if (entryPfn(lo, hi) !== oldPfn || entryValue(lo, hi) !== orig) return false;
  const phys = pt.phys;
  if (((phys.pageArr[copy] as number) & KIND_MASK) !== KIND_ANON || phys.refcount(copy) !== 1) {
    throw new Error(
      `@mmlab/page-table: wpPageCopyInstall: pfn 0x${copy.toString(16)} is not a fresh anonymous page`,
    );
  }
  if ((lo & LO_SPECIAL) === 0) {
    const kind = phys.kindCodeOf(oldPfn) & KIND_MASK;
    if (kind === KIND_ANON) pt.rss.anon--;
    else if (kind === KIND_FILE) pt.rss.file--;
    else if (kind === KIND_SHMEM) pt.rss.shmem--;
    phys.addMapcount(oldPfn, -1);
    phys.putPage(oldPfn);
  }
  phys.addMapcount(copy, 1);
  const newLo =
    ((lo & LO_FLAGS & ~LO_SPECIAL) | LO_RW | LO_DIRTY | LO_ACCESSED | (copy << 12)) >>> 0;
  pool.replaceEntry(tab, k, newLo, ((hi & ~HI_PFN) | (copy >>> 20)) >>> 0, 0);
  pt.rss.anon++;
  return true;
}

/**
 * arch/x86/mm/pgtable.c: pgd_free() — v4.19, from mmdrop() after exit_mmap(): free the pgd's
 * frame. Every user entry must be gone already (free_pgtables() over the whole address space);
 * the PageTable must not be used afterwards.
 */
export function pgdFree(pt: PageTable): void {
  if (pt.dirs.live[pt.pgdId] !== 1)
    throw new Error("@mmlab/page-table: pgdFree: the pgd is already freed");
  pt.freeTableNow(pt.pgdId, LEVEL_PGD);
}
