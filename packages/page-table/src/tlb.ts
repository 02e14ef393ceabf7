/**
 * DOC: struct mmu_gather — include/asm-generic/tlb.h and mm/memory.c, v4.19 (x86_64, with
 * CONFIG_HAVE_RCU_TABLE_FREE as in Debian's config).
 *
 * Pages unmapped by a zap are not freed at once: they are queued until the TLB has been
 * flushed, because another CPU may still be using a stale translation.
 *
 *   local bundle (8) ─► batch 1 (510) ─► ... ─► batch 19 (510)      = 9,698 pages at most
 *
 * __tlb_remove_page() puts a page in the active batch; when the batch is full it moves to the
 * next batch (reusing one allocated earlier, or allocating a page-sized one, at most
 * MAX_GATHER_BATCH_COUNT = 19). When it cannot, it reports "full" and the caller (zap_pte_range)
 * forces a flush: TLB flush, then release of the queued pages (tlb_flush_mmu_free), and goes on.
 * The batch chain is modelled as one Uint32Array of pfns plus the capacity of the batches in
 * use, which gives the same counts without a linked list.
 *
 * Page-table pages go through pte_free_tlb()/pmd_free_tlb()/pud_free_tlb(): the freed range is
 * added to the flush range, and the table is queued in a table batch (509 entries) that is
 * handed to RCU when full or at the next tlb_flush_mmu_free(). RCU grace periods are not
 * modelled: the frames go back to PhysMem at that point. The table itself is poisoned as soon
 * as it is unlinked (PageTable.poisonTable), which is stricter than the kernel and is what
 * catches a walker that kept a reference.
 *
 * The flush range (tlb->start, tlb->end) is kept in page numbers; end 0 means "nothing to
 * flush" exactly as in the kernel, so a flush is only counted when something was unmapped.
 */

import { TOP_PN } from "./address.js";
import {
  MAX_GATHER_BATCH,
  MAX_GATHER_BATCH_COUNT,
  MAX_GATHER_PAGES,
  MAX_TABLE_BATCH,
  MMU_GATHER_BUNDLE,
  PAGE_SIZE,
} from "./constants.js";
import type { PageTable } from "./page-table.js";

export interface MmuGatherStats {
  /** tlb_flush() calls: forced, at tlb_end_vma(), and at tlb_finish_mmu(), when the range is non-empty */
  tlbFlushes: number;
  /** frames returned to PhysMem by releasing gathered pages (a 2 MiB THP counts 512) */
  pagesFreed: number;
  /** page-table frames returned to PhysMem (table batches, and tables deposited under huge PMDs) */
  pagetablePagesFreed: number;
  /** 4 KiB PTEs cleared by zap_pte_range() */
  ptesCleared: number;
  /** flushes forced in the middle of a zap: gather full (9,698 pages), or a dirty file page */
  forcedFlushes: number;
  /** page-sized gather batches allocated by tlb_next_batch() (at most 19 per gather) */
  batchesAllocated: number;
  /** entries handed to __tlb_remove_page() */
  pagesGathered: number;
  /** zap_huge_pmd() / zap_huge_pud() calls that cleared a leaf */
  hugePmdsZapped: number;
  hugePudsZapped: number;
  /** __split_huge_pmd() / __split_huge_pud() on partial coverage */
  hugePmdsSplit: number;
  hugePudsSplit: number;
  /** page-table pages queued by pXd_free_tlb() */
  tablesQueued: number;
}

function newStats(): MmuGatherStats {
  return {
    tlbFlushes: 0,
    pagesFreed: 0,
    pagetablePagesFreed: 0,
    ptesCleared: 0,
    forcedFlushes: 0,
    batchesAllocated: 0,
    pagesGathered: 0,
    hugePmdsZapped: 0,
    hugePudsZapped: 0,
    hugePmdsSplit: 0,
    hugePudsSplit: 0,
    tablesQueued: 0,
  };
}

export class MmuGather {
  readonly pt: PageTable;
  readonly stats: MmuGatherStats;
  /** tlb->fullmm: the whole address space goes (exit) */
  fullmm: boolean;
  /** between tlbGatherMmu() and tlbFinishMmu() */
  active: boolean;
  /** @internal tlb->start / tlb->end as page numbers; end 0 = nothing to flush */
  startPn: number;
  endPn: number;
  /** @internal gathered pfns: the bundle and batches, in order */
  readonly pages: Uint32Array;
  /** @internal pages queued */
  nr: number;
  /** @internal capacity of the batches in use: 8 + 510 * batchesInUse */
  cap: number;
  private batchesInUse: number;
  private batchCount: number;
  /** @internal tlb->batch: page-table frames waiting for the (modelled) RCU grace period */
  private readonly tables: Uint32Array;
  private nrTables: number;

  constructor(pt: PageTable) {
    this.pt = pt;
    this.stats = newStats();
    this.fullmm = false;
    this.active = false;
    this.startPn = TOP_PN;
    this.endPn = 0;
    this.pages = new Uint32Array(MAX_GATHER_PAGES);
    this.nr = 0;
    this.cap = MMU_GATHER_BUNDLE;
    this.batchesInUse = 0;
    this.batchCount = 0;
    this.tables = new Uint32Array(MAX_TABLE_BATCH);
    this.nrTables = 0;
  }

  /** mm/memory.c: tlb_gather_mmu() — v4.19. fullmm iff start is 0 and end is ~0 (-1). */
  tlbGatherMmu(start: number, end: number): void {
    if (this.active)
      throw new Error("@mmlab/page-table: tlbGatherMmu on an MmuGather that is already gathering");
    this.fullmm = start === 0 && end === -1;
    if (!this.fullmm) {
      const s = this.pt.toPn(start, "tlbGatherMmu: start");
      const e = this.pt.toPn(end, "tlbGatherMmu: end");
      if (e < s) throw new RangeError("@mmlab/page-table: tlbGatherMmu: end < start");
    }
    this.active = true;
    this.nr = 0;
    this.cap = MMU_GATHER_BUNDLE;
    this.batchesInUse = 0;
    this.batchCount = 0;
    this.nrTables = 0;
    this.tlbResetRange();
    this.pt.tlbFlushPending++; // inc_tlb_flush_pending()
  }

  /**
   * mm/memory.c: tlb_finish_mmu() — v4.19: if another gather is running on this mm
   * (mm_tlb_flush_nested), force a flush of the whole [start, end); flush, release the queued
   * pages and tables, free the batches.
   */
  tlbFinishMmu(start: number, end: number): void {
    this.assertActive("tlbFinishMmu");
    if (this.pt.tlbFlushPending > 1 && !this.fullmm) {
      this.tlbAdjustRange(
        this.pt.toPn(start, "tlbFinishMmu: start"),
        this.pt.toPn(end, "tlbFinishMmu: end"),
      );
    }
    this.tlbFlushMmu();
    this.batchesInUse = 0;
    this.batchCount = 0;
    this.active = false;
    this.pt.tlbFlushPending--;
  }

  /** @internal __tlb_reset_range() */
  tlbResetRange(): void {
    if (this.fullmm) {
      this.startPn = TOP_PN - 1;
      this.endPn = TOP_PN - 1;
    } else {
      this.startPn = TOP_PN;
      this.endPn = 0;
    }
  }

  /** @internal __tlb_adjust_range(): widen the flush range to cover [startPn, endPn) */
  tlbAdjustRange(startPn: number, endPn: number): void {
    if (startPn < this.startPn) this.startPn = startPn;
    if (endPn > this.endPn) this.endPn = endPn;
  }

  /** include/asm-generic/tlb.h: tlb_flush_mmu_tlbonly() — v4.19 */
  tlbFlushMmuTlbonly(): void {
    if (this.endPn === 0) return;
    this.stats.tlbFlushes++; // tlb_flush() + mmu_notifier_invalidate_range()
    this.tlbResetRange();
  }

  /** mm/memory.c: tlb_flush_mmu_free() — v4.19: tables to RCU, then release the gathered pages. */
  tlbFlushMmuFree(): void {
    this.tlbTableFlush();
    if (this.nr !== 0) {
      this.stats.pagesFreed += this.pt.phys.freeBatch(this.pages, this.nr);
      this.nr = 0;
    }
    this.cap = MMU_GATHER_BUNDLE; // tlb->active = &tlb->local
    this.batchesInUse = 0;
  }

  /** mm/memory.c: tlb_flush_mmu() — v4.19 */
  tlbFlushMmu(): void {
    this.tlbFlushMmuTlbonly();
    this.tlbFlushMmuFree();
  }

  /** include/asm-generic/tlb.h: tlb_end_vma() — v4.19: flush the vma's range unless fullmm. */
  tlbEndVma(): void {
    if (!this.fullmm && this.endPn !== 0) {
      this.stats.tlbFlushes++;
      this.tlbResetRange();
    }
  }

  /** mm/memory.c: tlb_next_batch() — v4.19. False when no further batch can be had. */
  tlbNextBatch(): boolean {
    if (this.batchesInUse < this.batchCount) {
      this.batchesInUse++;
      this.cap += MAX_GATHER_BATCH;
      return true;
    }
    if (this.batchCount === MAX_GATHER_BATCH_COUNT) return false;
    this.batchCount++;
    this.batchesInUse++;
    this.stats.batchesAllocated++;
    this.cap += MAX_GATHER_BATCH;
    return true;
  }

  /** mm/memory.c: __tlb_remove_page_size() — v4.19: queue a page; true if the caller must flush. */
  __tlbRemovePage(pfn: number): boolean {
    this.assertActive("__tlbRemovePage");
    if (this.nr >= this.cap) {
      // VM_BUG_ON_PAGE(batch->nr > batch->max): the caller ignored "full, flush first".
      throw new Error(
        "@mmlab/page-table: __tlbRemovePage on a full mmu_gather: flush (tlbFlushMmu) after it returned true",
      );
    }
    this.pages[this.nr++] = pfn;
    this.stats.pagesGathered++;
    if (this.nr === this.cap) return !this.tlbNextBatch();
    return false;
  }

  /** include/asm-generic/tlb.h: tlb_remove_page_size() — v4.19: queue, flushing if full. */
  tlbRemovePage(pfn: number): void {
    if (this.__tlbRemovePage(pfn)) {
      this.stats.forcedFlushes++;
      this.tlbFlushMmu();
    }
  }

  /**
   * include/asm-generic/tlb.h: pte_free_tlb()/pmd_free_tlb()/pud_free_tlb()/p4d_free_tlb() —
   * v4.19: widen the flush range by one page at addr and queue the table's frame.
   */
  pXdFreeTlb(pfn: number, addrPn: number): void {
    this.assertActive("pXdFreeTlb");
    this.tlbAdjustRange(addrPn, addrPn + 1);
    this.stats.tablesQueued++;
    this.tlbRemoveTable(pfn);
  }

  /** mm/memory.c: tlb_remove_table() — v4.19 */
  tlbRemoveTable(pfn: number): void {
    this.tables[this.nrTables++] = pfn;
    if (this.nrTables === MAX_TABLE_BATCH) this.tlbTableFlush();
  }

  /** mm/memory.c: tlb_table_flush() — v4.19: call_rcu_sched(); the grace period ends at once here. */
  tlbTableFlush(): void {
    const phys = this.pt.phys;
    for (let i = 0; i < this.nrTables; i++) phys.freeFrame(this.tables[i] as number);
    this.stats.pagetablePagesFreed += this.nrTables;
    this.nrTables = 0;
  }

  /** Bytes the flush range covers (tlb->end - tlb->start), 0 if empty. */
  get rangeBytes(): number {
    return this.endPn === 0 ? 0 : (this.endPn - this.startPn) * PAGE_SIZE;
  }

  /** @internal */
  assertActive(what: string): void {
    if (!this.active)
      throw new Error(`@mmlab/page-table: ${what} outside tlbGatherMmu()/tlbFinishMmu()`);
  }
}
