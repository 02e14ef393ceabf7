/**
 * DOC: mm/memory.c (v4.19) — the page-table ladders: allocation on a fault, the zap walk of
 * unmap_page_range(), and free_pgtables().
 *
 * Each ladder is a chain of functions of the same shape, one per level, each looping
 *
 *     do { next = pXdAddrEnd(addr, end); ...entry at addr...; } while (addr = next, addr !== end)
 *
 * over page numbers (see address.ts), taking the table entry that points at the table it
 * walks as (parent table id, index), the way the kernel passes a pud_t * to zap_pmd_range().
 * With 4 levels the P4D is folded: the "P4D entry" is the PGD entry itself.
 *
 * Zap (unmap_page_range):
 *
 *     unmapPageRange ─► zapP4dRange ─► zapPudRange ─► zapPmdRange ─► zapPteRange
 *                                        │ huge PUD     │ huge PMD
 *                                        ├ full: zapHugePud     ├ full: zapHugePmd
 *                                        └ partial: __splitHugePud └ partial: __splitHugePmd
 *
 * The kernel calls cond_resched() once per PMD entry (and once per PUD entry); ZapCursor
 * stops at exactly those points so mm-core can charge time between steps.
 *
 * Free (free_pgtables -> free_pgd_range -> free_p4d_range -> free_pud_range ->
 * free_pmd_range -> free_pte_range): see the floor/ceiling comment at freePgdRange().
 */

import {
  minus1,
  P4D_SPAN,
  PGDIR_SPAN_5,
  PMD_SPAN,
  PUD_SPAN,
  spanAddrEnd,
  spanFloor,
  spanIndex,
  TOP_PN,
} from "./address.js";
import { PAGE_SIZE } from "./constants.js";
import { HI_PFN, LO_DIRTY, LO_PSE, LO_SPECIAL } from "./entry.js";
import { ENOMEM } from "./errno.js";
import { __splitHugePmd, __splitHugePud, zapHugePmd, zapHugePud } from "./huge-memory.js";
import type { PageTable } from "./page-table.js";
import {
  ANON_REF_ONE,
  KIND_ANON,
  KIND_FILE,
  KIND_MASK,
  KIND_SHMEM,
  MAP_ONE,
  MAP_SHIFT,
  PAGE_FLAGS,
} from "./phys-mem.js";
import { LEVEL_P4D, LEVEL_PMD, LEVEL_PTE, LEVEL_PUD, SLAB_MASK, SLAB_SHIFT } from "./table-pool.js";
import type { MmuGather } from "./tlb.js";

// ====================================================================== allocation

/** mm/memory.c: __p4d_alloc() — v4.19 (LA57 only): a P4D table for the PGD slot (pgd, i). 0 or -ENOMEM. */
export function __p4dAlloc(pt: PageTable, pgd: number, i: number, pn: number): number {
  const t = pt.allocTable(LEVEL_P4D, spanFloor(pn, PGDIR_SPAN_5));
  if (t < 0) return -ENOMEM;
  pt.mmNrP4ds++; // not accounted by v4.19; counted here for nrP4ds only
  pt.linkTable(pgd, i, t, LEVEL_P4D); // pgd_populate()
  return 0;
}

/** mm/memory.c: __pud_alloc() — v4.19: a PUD table for the P4D slot (p4d, i). 0 or -ENOMEM. */
export function __pudAlloc(pt: PageTable, p4d: number, i: number, pn: number): number {
  const t = pt.allocTable(LEVEL_PUD, spanFloor(pn, P4D_SPAN));
  if (t < 0) return -ENOMEM;
  pt.mmNrPuds++; // mm_inc_nr_puds()
  pt.linkTable(p4d, i, t, LEVEL_PUD); // p4d_populate()
  return 0;
}

/** mm/memory.c: __pmd_alloc() — v4.19: a PMD table for the PUD slot (pud, i). 0 or -ENOMEM. */
export function __pmdAlloc(pt: PageTable, pud: number, i: number, pn: number): number {
  const t = pt.allocTable(LEVEL_PMD, spanFloor(pn, PUD_SPAN));
  if (t < 0) return -ENOMEM;
  pt.mmNrPmds++; // mm_inc_nr_pmds()
  pt.linkTable(pud, i, t, LEVEL_PMD); // pud_populate()
  return 0;
}

/** mm/memory.c: __pte_alloc() — v4.19: a PTE table for the PMD slot (pmd, i). 0 or -ENOMEM. */
export function __pteAlloc(pt: PageTable, pmd: number, i: number, pn: number): number {
  const t = pt.allocTable(LEVEL_PTE, spanFloor(pn, PMD_SPAN));
  if (t < 0) return -ENOMEM;
  pt.mmNrPtes++; // mm_inc_nr_ptes()
  pt.linkTable(pmd, i, t, LEVEL_PTE); // pmd_populate()
  return 0;
}

// ====================================================================== zap

/** The struct page word of an order-0 anonymous page with one reference and one mapping. */
const ANON_MAPPED_ONCE = ANON_REF_ONE | MAP_ONE;

// Module-local copies of the constants zapPteRange() tests per PTE. An imported binding is a
// live module cell that optimized code (Node 20, run from src as bench/scale.ts does) reloads
// and checks (hole, Smi) on every use in the loop; a module-local const in a top-level
// function is folded into the code.
const Z_LO_SPECIAL = LO_SPECIAL;
const Z_LO_DIRTY = LO_DIRTY;
const Z_HI_PFN = HI_PFN;
const Z_ANON_REF_ONE = ANON_REF_ONE;
const Z_PAGE_FLAGS = PAGE_FLAGS;
const Z_KIND_MASK = KIND_MASK;
const Z_KIND_ANON = KIND_ANON;
const Z_KIND_FILE = KIND_FILE;
const Z_KIND_SHMEM = KIND_SHMEM;
const Z_MAP_SHIFT = MAP_SHIFT;
const Z_MAP_ONE = MAP_ONE;
const Z_SLAB_SHIFT = SLAB_SHIFT;
const Z_SLAB_MASK = SLAB_MASK;

/**
 * mm/memory.c: zap_pte_range() — v4.19: clear the PTEs of [addr, end) in the table linked
 * from (pmdTab, i). Per present PTE: get-and-clear, widen the flush range, and for a normal
 * page (not the special zero page) count it down in its rss counter, drop its mapcount and
 * gather it. A full gather (or a dirty file page) forces a flush before the table is left,
 * then the walk resumes. Returns the PTEs cleared (the kernel returns addr).
 *
 * The work per PTE is the kernel's, in the kernel's order; the loop is cut for speed: the
 * common case (an order-0 anonymous page mapped once) runs in an inner loop bounded by the
 * free gather slots (each such PTE takes one), so it needs no per-PTE "gather full?" test
 * and counts its PTEs by how far nr moved; anything else leaves it for one general step.
 */
export function zapPteRange(
  tlb: MmuGather,
  pmdTab: number,
  i: number,
  addr: number,
  end: number,
): number {
  const pt = tlb.pt;
  const ptes = pt.ptes;
  const tab = pt.dirs.child(pmdTab, i);
  const slab = ptes.slabs[tab >>> Z_SLAB_SHIFT] as Uint32Array;
  const base = (tab & Z_SLAB_MASK) << 10;
  const phys = pt.phys;
  const page = phys.pageArr;
  const pages = tlb.pages;
  const pn0 = spanFloor(addr, 512);
  // Word offsets of PTEs in the slab, as int32 (pn0 lies beyond 2^31: a double)
  let o = (base + (addr - pn0) * 2) | 0;
  const oEnd = (base + (end - pn0) * 2) | 0;
  let cleared = 0;
  for (;;) {
    // "again:" — one pass under the page-table lock
    let anon = 0;
    let file = 0;
    let shmem = 0;
    let n = 0;
    let forceFlush = false;
    const nr0 = tlb.nr | 0;
    let nr = nr0;
    let cap = tlb.cap | 0;
    while (o < oEnd && slab[o] === 0) o += 2; // pte_none() up to the first present PTE
    const first = o;
    let last = o;
    while (o < oEnd) {
      // the common case, up to the end or the last free gather slot
      let stop = o + ((cap - nr) << 1);
      if (stop > oEnd) stop = oEnd;
      const nrRun = nr;
      for (; o < stop; o += 2) {
        const lo = (slab[o] as number) | 0; // int32: V8 keeps it in a register, no Uint32 -> Number
        if (lo === 0) continue; // pte_none()
        if ((lo & Z_LO_SPECIAL) !== 0) break; // the zero page: the general step
        const pfn = (lo >>> 12) | (((slab[o + 1] as number) & Z_HI_PFN) << 20); // an int32: pfn < 2^31 (PhysMem)
        if (page[pfn] !== ANON_MAPPED_ONCE) break; // shared, file, THP subpage...: the general step
        slab[o] = 0; // ptep_get_and_clear_full()
        slab[o + 1] = 0;
        page[pfn] = Z_ANON_REF_ONE; // page_remove_rmap(): one reference, no mapping
        pages[nr++] = pfn; // __tlb_remove_page()
        last = o;
      }
      n += nr - nrRun;
      anon += nr - nrRun;
      if (o < stop) {
        // the general step: one present PTE that is not the common case
        const lo = (slab[o] as number) | 0;
        const hi = (slab[o + 1] as number) | 0;
        slab[o] = 0; // ptep_get_and_clear_full()
        slab[o + 1] = 0;
        n++;
        last = o;
        o += 2;
        if ((lo & Z_LO_SPECIAL) !== 0) continue; // vm_normal_page() == NULL: zero page
        const pfn = (lo >>> 12) | ((hi & Z_HI_PFN) << 20);
        const w = page[pfn] as number;
        const code = w & Z_PAGE_FLAGS;
        if ((code & Z_KIND_MASK) === Z_KIND_ANON)
          anon++; // shared, pinned, or a subpage of a split THP
        else if ((code & Z_KIND_MASK) === Z_KIND_FILE || (code & Z_KIND_MASK) === Z_KIND_SHMEM) {
          if ((code & Z_KIND_MASK) === Z_KIND_FILE) file++;
          else shmem++; // mm_counter_file(): swap-backed pages count in MM_SHMEMPAGES
          if ((lo & Z_LO_DIRTY) !== 0) forceFlush = true; // set_page_dirty(); flush before unlock
        } else badPte(pt, pn0 + ((o - 2 - base) >> 1), lo >>> 0, hi >>> 0, code);
        if (w >>> Z_MAP_SHIFT === 1)
          page[pfn] = w - Z_MAP_ONE; // page_remove_rmap()
        else phys.addMapcount(pfn, -1); // shared, overflowing, or a bug (throws on underflow)
        pages[nr++] = pfn; // __tlb_remove_page()
      }
      if (nr === cap) {
        // the active batch is full: tlb_next_batch(), or flush
        tlb.nr = nr;
        if (!tlb.tlbNextBatch()) {
          forceFlush = true;
          break;
        }
        cap = tlb.cap | 0;
      }
    }
    tlb.stats.pagesGathered += nr - nr0;
    tlb.nr = nr;
    pt.rss.anon -= anon; // add_mm_rss_vec()
    pt.rss.file -= file;
    pt.rss.shmem -= shmem;
    (ptes.used[tab] as number) -= n;
    cleared += n;
    // tlb_remove_tlb_entry()
    if (n !== 0) tlb.tlbAdjustRange(pn0 + ((first - base) >> 1), pn0 + ((last - base) >> 1) + 1);
    if (!forceFlush) break;
    tlb.stats.forcedFlushes++;
    tlb.tlbFlushMmuTlbonly(); // before dropping the PTE lock
    tlb.tlbFlushMmuFree();
    if (o === oEnd) break;
  }
  tlb.stats.ptesCleared += cleared;
  return cleared;
}

function badPte(pt: PageTable, pn: number, lo: number, hi: number, code: number): never {
  throw new Error(
    `@mmlab/page-table: BUG: Bad page map at 0x${(pn * PAGE_SIZE).toString(16)}: pte ${hi.toString(16)}${lo
      .toString(16)
      .padStart(8, "0")} maps a frame of kind code ${code} (levels ${pt.levels})`,
  );
}

/**
 * mm/memory.c: zap_pmd_range() — v4.19: per PMD entry of [addr, end) in the table linked from
 * (pudTab, i): a huge leaf is zapped whole or split first; a table has its PTEs zapped. Each
 * entry ends with cond_resched(). Returns the entries cleared.
 */
export function zapPmdRange(
  tlb: MmuGather,
  pudTab: number,
  i: number,
  addr: number,
  end: number,
): number {
  const dirs = tlb.pt.dirs;
  const pmd = dirs.child(pudTab, i);
  let cleared = 0;
  for (;;) {
    const next = spanAddrEnd(addr, end, PMD_SPAN);
    const j = spanIndex(addr, PMD_SPAN);
    let lo = dirs.lo(pmd, j);
    if ((lo & LO_PSE) !== 0) {
      if (next - addr !== PMD_SPAN) {
        __splitHugePmd(tlb, pmd, j, addr);
        lo = dirs.lo(pmd, j);
      } else {
        cleared += zapHugePmd(tlb, pmd, j, addr); // then goto next
        lo = 0;
      }
    }
    // pmd_none_or_trans_huge_or_clear_bad(): nothing below a none entry
    if (lo !== 0) cleared += zapPteRange(tlb, pmd, j, addr, next);
    // next: cond_resched()
    addr = next;
    if (addr === end) return cleared;
  }
}

/**
 * mm/memory.c: zap_pud_range() — v4.19: per PUD entry of [addr, end) in the table linked from
 * the P4D slot (p4dTab, i). Returns the entries cleared.
 */
export function zapPudRange(
  tlb: MmuGather,
  p4dTab: number,
  i: number,
  addr: number,
  end: number,
): number {
  const dirs = tlb.pt.dirs;
  const pud = dirs.child(p4dTab, i);
  let cleared = 0;
  for (;;) {
    const next = spanAddrEnd(addr, end, PUD_SPAN);
    const j = spanIndex(addr, PUD_SPAN);
    if ((dirs.lo(pud, j) & LO_PSE) !== 0) {
      // partial coverage: split (v4.19 clears the leaf), then it is none below
      if (next - addr !== PUD_SPAN) cleared += __splitHugePud(tlb, pud, j);
      else cleared += zapHugePud(tlb, pud, j, addr);
    }
    // pud_none_or_clear_bad(): skipped without cond_resched()
    if (dirs.lo(pud, j) !== 0) cleared += zapPmdRange(tlb, pud, j, addr, next);
    addr = next;
    if (addr === end) return cleared;
  }
}

/**
 * mm/memory.c: zap_p4d_range() — v4.19: per P4D entry of [addr, end) under the PGD slot
 * (pgdTab, i); with 4 levels the P4D is the PGD entry itself. Returns the entries cleared.
 */
export function zapP4dRange(
  tlb: MmuGather,
  pgdTab: number,
  i: number,
  addr: number,
  end: number,
): number {
  const pt = tlb.pt;
  if (pt.levels === 4) return zapPudRange(tlb, pgdTab, i, addr, end);
  const dirs = pt.dirs;
  const p4d = dirs.child(pgdTab, i);
  let cleared = 0;
  for (;;) {
    const next = spanAddrEnd(addr, end, P4D_SPAN);
    const j = spanIndex(addr, P4D_SPAN);
    if (dirs.lo(p4d, j) !== 0) cleared += zapPudRange(tlb, p4d, j, addr, next);
    addr = next;
    if (addr === end) return cleared;
  }
}

function zapRangeArgs(tlb: MmuGather, start: number, end: number, what: string): [number, number] {
  tlb.assertActive(what);
  const s = tlb.pt.toPn(start, `${what}: start`);
  const e = tlb.pt.toPn(end, `${what}: end`);
  if (e < s)
    throw new RangeError(
      `@mmlab/page-table: ${what}: end 0x${end.toString(16)} < start 0x${start.toString(16)}`,
    );
  return [s, e];
}

/**
 * mm/memory.c: unmap_page_range() — v4.19: tlb_start_vma(), zap every PGD entry of
 * [start, end), tlb_end_vma() (flushes the range unless fullmm). Returns the entries cleared
 * (4 KiB PTEs; a huge leaf counts as one).
 */
export function unmapPageRange(tlb: MmuGather, start: number, end: number): number {
  const [s, e] = zapRangeArgs(tlb, start, end, "unmapPageRange");
  if (s === e) return 0;
  const pt = tlb.pt;
  const dirs = pt.dirs;
  let cleared = 0;
  let addr = s;
  do {
    const next = spanAddrEnd(addr, e, pt.pgdSpan);
    const i = spanIndex(addr, pt.pgdSpan);
    // pgd_none_or_clear_bad(): skip
    if (dirs.lo(pt.pgdId, i) !== 0) cleared += zapP4dRange(tlb, pt.pgdId, i, addr, next);
    addr = next;
  } while (addr !== e);
  tlb.tlbEndVma();
  return cleared;
}

/**
 * unmap_page_range() cut at its cond_resched() points. Each step() does one PMD entry of the
 * range (up to 512 PTEs, one huge PMD, or one empty entry), or one huge PUD, exactly as
 * zap_pmd_range()/zap_pud_range() would between two cond_resched() calls; empty PGD/P4D/PUD
 * entries are skipped inside a step, as the kernel skips them without rescheduling. Every
 * step walks down from the PGD again, so tables freed between steps are never touched.
 * step() returns the entries it cleared, and -1 once the range is done (after tlb_end_vma()).
 */
export class ZapCursor {
  readonly tlb: MmuGather;
  private cur: number;
  private readonly end: number;
  private done: boolean;

  constructor(tlb: MmuGather, start: number, end: number) {
    const [s, e] = zapRangeArgs(tlb, start, end, "ZapCursor");
    this.tlb = tlb;
    this.cur = s;
    this.end = e;
    this.done = false;
  }

  /** Where the next step starts (a byte address). */
  get addr(): number {
    return this.cur * PAGE_SIZE;
  }

  step(): number {
    if (this.done) return -1;
    const tlb = this.tlb;
    tlb.assertActive("ZapCursor.step");
    const pt = tlb.pt;
    const dirs = pt.dirs;
    const end = this.end;
    let addr = this.cur;
    // PTEs cleared by splitting a partly covered huge PUD: zap_pud_range() then `continue`s
    // past the cond_resched() label, so they are reported with the next step's.
    let carried = 0;
    while (addr !== end) {
      // PGD (and with LA57, P4D): skip empty entries without rescheduling
      let tab = pt.pgdId;
      let i = spanIndex(addr, pt.pgdSpan);
      if (dirs.lo(tab, i) === 0) {
        addr = spanAddrEnd(addr, end, pt.pgdSpan);
        continue;
      }
      if (pt.levels === 5) {
        tab = dirs.child(tab, i);
        i = spanIndex(addr, P4D_SPAN);
        if (dirs.lo(tab, i) === 0) {
          addr = spanAddrEnd(addr, end, P4D_SPAN);
          continue;
        }
      }
      // PUD entry (zap_pud_range's loop body)
      const pud = dirs.child(tab, i);
      const j = spanIndex(addr, PUD_SPAN);
      const pudNext = spanAddrEnd(addr, end, PUD_SPAN);
      let cleared = 0;
      if ((dirs.lo(pud, j) & LO_PSE) !== 0) {
        if (pudNext - addr === PUD_SPAN) {
          cleared = zapHugePud(tlb, pud, j, addr);
          this.cur = pudNext;
          return carried + cleared; // cond_resched()
        }
        carried += __splitHugePud(tlb, pud, j);
      }
      if (dirs.lo(pud, j) === 0) {
        addr = pudNext; // pud_none_or_clear_bad(): continue, no cond_resched()
        continue;
      }
      // one PMD entry (zap_pmd_range's loop body), then cond_resched()
      const next = spanAddrEnd(addr, end, PMD_SPAN);
      cleared = zapPmdRange(tlb, pud, j, addr, next);
      this.cur = next;
      return carried + cleared;
    }
    this.cur = end;
    if (carried !== 0) return carried; // report them; the next step() ends the range
    this.done = true;
    tlb.tlbEndVma();
    return -1;
  }
}

// ====================================================================== free_pgtables

/**
 * mm/memory.c: free_pte_range() — v4.19: unlink the PTE table from the PMD slot (pmdTab, i)
 * and hand it to the gather (pte_free_tlb); nr_ptes - 1.
 */
export function freePteRange(tlb: MmuGather, pmdTab: number, i: number, addr: number): void {
  const pt = tlb.pt;
  const tab = pt.dirs.child(pmdTab, i);
  const pfn = pt.poisonTable(tab, LEVEL_PTE);
  pt.dirs.clearEntry(pmdTab, i); // pmd_clear()
  tlb.pXdFreeTlb(pfn, addr); // pte_free_tlb()
  pt.mmNrPtes--; // mm_dec_nr_ptes()
}

/**
 * The shared tail of free_pmd_range/free_pud_range/free_p4d_range: may the table that covers
 * `span` pages from start (rounded down) be freed, given floor and ceiling? See freePgdRange.
 */
function tableFreeable(
  start: number,
  end: number,
  floor: number,
  ceiling: number,
  span: number,
): boolean {
  start = spanFloor(start, span);
  if (start < floor) return false;
  if (ceiling !== 0) {
    ceiling = spanFloor(ceiling, span);
    if (ceiling === 0) return false;
  }
  if (minus1(end) > minus1(ceiling)) return false;
  return true;
}

/**
 * mm/memory.c: free_pmd_range() — v4.19: free every PTE table of [addr, end) in the PMD table
 * linked from (pudTab, i); then free the PMD table itself if its whole 1 GiB lies within
 * [floor, ceiling) (start rounded down to PUD_MASK, ceiling too, compared with "- 1").
 */
export function freePmdRange(
  tlb: MmuGather,
  pudTab: number,
  i: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const pt = tlb.pt;
  const dirs = pt.dirs;
  const pmd = dirs.child(pudTab, i);
  const start = addr;
  do {
    const next = spanAddrEnd(addr, end, PMD_SPAN);
    const j = spanIndex(addr, PMD_SPAN);
    const lo = dirs.lo(pmd, j);
    if ((lo & LO_PSE) !== 0) badTable(pt, "PMD", addr);
    if (lo !== 0) freePteRange(tlb, pmd, j, addr); // pmd_none_or_clear_bad(): skip
    addr = next;
  } while (addr !== end);

  if (!tableFreeable(start, end, floor, ceiling, PUD_SPAN)) return;
  const pfn = pt.poisonTable(pmd, LEVEL_PMD);
  dirs.clearEntry(pudTab, i); // pud_clear()
  tlb.pXdFreeTlb(pfn, spanFloor(start, PUD_SPAN)); // pmd_free_tlb()
  pt.mmNrPmds--; // mm_dec_nr_pmds()
}

/**
 * mm/memory.c: free_pud_range() — v4.19: free_pmd_range() for every PUD entry of [addr, end)
 * in the PUD table linked from the P4D slot (p4dTab, i); then free the PUD table if its whole
 * 512 GiB (P4D_MASK, = PGDIR_MASK when folded) lies within [floor, ceiling).
 */
export function freePudRange(
  tlb: MmuGather,
  p4dTab: number,
  i: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const pt = tlb.pt;
  const dirs = pt.dirs;
  const pud = dirs.child(p4dTab, i);
  const start = addr;
  do {
    const next = spanAddrEnd(addr, end, PUD_SPAN);
    const j = spanIndex(addr, PUD_SPAN);
    const lo = dirs.lo(pud, j);
    if ((lo & LO_PSE) !== 0) badTable(pt, "PUD", addr);
    if (lo !== 0) freePmdRange(tlb, pud, j, addr, next, floor, ceiling); // pud_none_or_clear_bad(): skip
    addr = next;
  } while (addr !== end);

  if (!tableFreeable(start, end, floor, ceiling, P4D_SPAN)) return;
  const pfn = pt.poisonTable(pud, LEVEL_PUD);
  dirs.clearEntry(p4dTab, i); // p4d_clear() (pgd_clear() when folded)
  tlb.pXdFreeTlb(pfn, spanFloor(start, P4D_SPAN)); // pud_free_tlb()
  pt.mmNrPuds--; // mm_dec_nr_puds()
}

/**
 * mm/memory.c: free_p4d_range() — v4.19: free_pud_range() per P4D entry of [addr, end) under
 * the PGD slot (pgdTab, i); then free the P4D table if its whole PGDIR span (256 TiB) lies
 * within [floor, ceiling). With 4 levels the P4D is folded into the PGD: one "entry" (the PGD
 * entry) and nothing to free (pgd_clear() and p4d_free_tlb() are no-ops).
 */
export function freeP4dRange(
  tlb: MmuGather,
  pgdTab: number,
  i: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const pt = tlb.pt;
  if (pt.levels === 4) {
    freePudRange(tlb, pgdTab, i, addr, end, floor, ceiling);
    return;
  }
  const dirs = pt.dirs;
  const p4d = dirs.child(pgdTab, i);
  const start = addr;
  do {
    const next = spanAddrEnd(addr, end, P4D_SPAN);
    const j = spanIndex(addr, P4D_SPAN);
    if (dirs.lo(p4d, j) !== 0) freePudRange(tlb, p4d, j, addr, next, floor, ceiling); // p4d_none_or_clear_bad(): skip
    addr = next;
  } while (addr !== end);

  if (!tableFreeable(start, end, floor, ceiling, PGDIR_SPAN_5)) return;
  const pfn = pt.poisonTable(p4d, LEVEL_P4D);
  dirs.clearEntry(pgdTab, i); // pgd_clear()
  tlb.pXdFreeTlb(pfn, spanFloor(start, PGDIR_SPAN_5)); // p4d_free_tlb()
  pt.mmNrP4ds--;
}

function badTable(pt: PageTable, level: string, pn: number): never {
  throw new Error(
    `@mmlab/page-table: BUG: free_pgtables met a huge ${level} leaf at 0x${(pn * PAGE_SIZE).toString(16)} ` +
      `(levels ${pt.levels}): zap the range before freeing its tables`,
  );
}

/** A page-aligned byte address below 2^64 as a page number; 0 stays 0 (bottom or top). */
function boundPn(x: number, what: string): number {
  const pn = x / PAGE_SIZE;
  if (!Number.isInteger(pn) || pn < 0 || pn >= TOP_PN) {
    throw new RangeError(
      `@mmlab/page-table: ${what} ${x} is not a page-aligned address below 2^64`,
    );
  }
  return pn;
}

/**
 * mm/memory.c: free_pgd_range() — v4.19: free the page tables that map only [addr, end),
 * never one that a neighbour below `floor` or at/above `ceiling` may still use.
 *
 * Why "- 1" everywhere: 0 stands for both ends of the address space. addr 0 and floor 0 are
 * the bottom, but end 0 and ceiling 0 are the top, so every comparison against an end or a
 * ceiling is made on "x - 1" in unsigned arithmetic (0 - 1 is the highest value), and a value
 * that was rounded must be checked for having become "the other 0" before it is compared.
 *
 * Why PMD rounding here, at the top: most calls have nothing to free (the range shares its
 * only PTE table with a neighbour), and this finds out without walking down:
 * - addr is rounded down to its 2 MiB boundary; if that is below floor the first PTE table
 *   is shared with what lies below, so start at the next boundary (which may wrap to 0: done);
 * - ceiling is rounded down to its 2 MiB boundary (if that gives 0 nothing can be freed);
 * - if end - 1 lies beyond ceiling - 1, the last PTE table is shared with what lies above, so
 *   end comes down by 2 MiB;
 * - if now addr > end - 1, no PTE table is ours alone.
 * Then each level frees its children in [addr, end) and tests its own table the same way with
 * its own span: start rounded down must not be below floor, ceiling rounded down must not be
 * 0, and end - 1 must not exceed ceiling - 1. floor and end are never rounded up: the tests
 * do not need it.
 *
 * Here on page numbers modulo 2^52, so 0 still means the top for end and ceiling, and the
 * walk stops at the top of user space (the upper half of the PGD belongs to the kernel).
 */
export function freePgdRange(
  tlb: MmuGather,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  tlb.assertActive("freePgdRange");
  const pt = tlb.pt;
  let a = boundPn(addr, "freePgdRange: addr");
  let e = boundPn(end, "freePgdRange: end");
  const f = boundPn(floor, "freePgdRange: floor");
  let c = boundPn(ceiling, "freePgdRange: ceiling");

  a = spanFloor(a, PMD_SPAN);
  if (a < f) {
    a += PMD_SPAN;
    if (a === TOP_PN) return; // wrapped to 0
  }
  if (c !== 0) {
    c = spanFloor(c, PMD_SPAN);
    if (c === 0) return;
  }
  if (minus1(e) > minus1(c)) e = e === 0 ? TOP_PN - PMD_SPAN : e - PMD_SPAN;
  if (a > minus1(e)) return;

  const dirs = pt.dirs;
  do {
    if (a >= pt.userTopPn) break; // kernel half: not ours
    const next = spanAddrEnd(a, e, pt.pgdSpan);
    const i = spanIndex(a, pt.pgdSpan);
    if (dirs.lo(pt.pgdId, i) !== 0) freeP4dRange(tlb, pt.pgdId, i, a, next, f, c);
    a = next;
  } while (a !== e);
}

/**
 * mm/memory.c: free_pgtables() — v4.19: for the detached VMAs (ascending, non-overlapping),
 * gather each run of VMAs that start within PMD_SIZE of the previous one's end into one
 * free_pgd_range() call, bounded by floor below and by the next VMA's start (or ceiling for
 * the last) above. (unlink_anon_vmas/unlink_file_vma belong to mm-core.)
 */
export function freePgtables(
  tlb: MmuGather,
  ranges: ReadonlyArray<{ vmStart: number; vmEnd: number }>,
  floor: number,
  ceiling: number,
): void {
  tlb.assertActive("freePgtables");
  let k = 0;
  while (k < ranges.length) {
    const vma = ranges[k] as { vmStart: number; vmEnd: number };
    const addr = vma.vmStart;
    let last = vma;
    k++;
    // Optimization: gather nearby vmas into one call down
    while (
      k < ranges.length &&
      (ranges[k] as { vmStart: number }).vmStart <= last.vmEnd + PMD_SPAN * PAGE_SIZE
    ) {
      last = ranges[k] as { vmStart: number; vmEnd: number };
      k++;
    }
    const next = k < ranges.length ? (ranges[k] as { vmStart: number }).vmStart : ceiling;
    freePgdRange(tlb, addr, last.vmEnd, floor, next);
  }
}
