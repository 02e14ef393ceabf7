/**
 * DOC: one mm's page tables (mm->pgd and below), x86_64 4-level or 5-level (LA57).
 *
 *   4 levels:  PGD ──► PUD ──► PMD ──► PTE ──► 4 KiB frame      (P4D folded into the PGD)
 *   5 levels:  PGD ──► P4D ──► PUD ──► PMD ──► PTE ──► 4 KiB frame
 *                              │        └──► 2 MiB leaf (PSE)
 *                              └──► 1 GiB leaf (PSE)
 *
 * Every table is a PhysMem frame of kind "pagetable" and a slot in a TablePool (PTE tables in
 * one pool, directories in another). Entries are stored in the real x86_64 layout (entry.ts):
 * leaves carry PRESENT, RW, USER, ACCESSED, DIRTY, NX, PSE for huge leaves, SPECIAL for the
 * zero page; links carry _PAGE_TABLE (0x67) and the frame of the lower table.
 *
 * Accounting follows the kernel: nr_ptes / nr_pmds / nr_puds (mm_inc_nr_*), pgtables_bytes =
 * (nr_ptes + nr_pmds + nr_puds) * 4096 as mm_pgtables_bytes() in v4.19 (P4D tables are not
 * accounted there; nrP4ds counts them separately), rss per MM_* counter, and per-frame
 * mapcount (page_add_*_rmap) and refcount.
 *
 * Invariants (validate()): every link points to a live table of the next level whose frame is
 * the entry's pfn and whose span is the entry's; `used` of each table equals its non-none
 * entries; the counters equal the live linked tables (+ tables deposited under huge PMDs);
 * rss counters equal the present entries by frame kind; every mapped frame is in use and has
 * a mapcount; no live table is unreachable.
 */

import {
  P4D_SPAN,
  PGDIR_SPAN_4,
  PGDIR_SPAN_5,
  PMD_SPAN,
  PUD_SPAN,
  pnHex,
  pteIndex,
  spanFloor,
  spanIndex,
} from "./address.js";
import { HPAGE_PMD_NR, HPAGE_PUD_NR, PAGE_SIZE } from "./constants.js";
import {
  entryPfn,
  entryValue,
  HI_NX,
  HI_PFN,
  LO_ACCESSED,
  LO_DIRTY,
  LO_FLAGS,
  LO_PRESENT,
  LO_PROTNONE,
  LO_PSE,
  LO_RW,
  LO_SPECIAL,
  LO_TABLE,
  type PteProt,
  protHi,
  protLo,
} from "./entry.js";
import { EEXIST, EFAULT, ENOMEM } from "./errno.js";
import { PageTableUseAfterFree } from "./errors.js";
import { __p4dAlloc, __pmdAlloc, __pteAlloc, __pudAlloc } from "./memory.js";
import {
  hex,
  KIND_ANON,
  KIND_FILE,
  KIND_MASK,
  KIND_PAGETABLE,
  KIND_SHMEM,
  KIND_ZERO,
  type PhysMem,
} from "./phys-mem.js";
import { ptdumpWalk } from "./ptdump.js";
import type { SlabCache } from "./slab-cache.js";
import {
  LEVEL_P4D,
  LEVEL_PGD,
  LEVEL_PMD,
  LEVEL_PTE,
  LEVEL_PUD,
  SLAB_MASK,
  SLAB_SHIFT,
  TablePool,
} from "./table-pool.js";

export type PtLevel = "pgd" | "p4d" | "pud" | "pmd" | "pte";
const LEVEL_NAMES = ["", "pte", "pmd", "pud", "p4d", "pgd"] as const;

/** walk() result: a huge leaf above the requested level covers the address. */
export const WALK_LEAF = -1;

export interface RssCounters {
  /** MM_FILEPAGES */
  file: number;
  /** MM_ANONPAGES */
  anon: number;
  /** MM_SWAPENTS (always 0: swap is not modelled) */
  swapEnts: number;
  /** MM_SHMEMPAGES: frames of kind "shmem" mapped here (a MAP_SHARED anonymous mapping's pages) */
  shmem: number;
}

const REF_ID = 2 ** 26;

export class PageTable {
  readonly levels: 4 | 5;
  readonly phys: PhysMem;
  /** MM_* counters, in pages. */
  readonly rss: RssCounters;
  /** @internal PTE tables */
  readonly ptes: TablePool;
  /** @internal PMD, PUD, P4D and PGD tables */
  readonly dirs: TablePool;
  /** @internal the pgd's id in `dirs` */
  readonly pgdId: number;
  /** @internal pages mapped by one PGD entry */
  readonly pgdSpan: number;
  /** @internal first page number above user space: 2^35 or 2^44 */
  readonly userTopPn: number;
  /** @internal mm->nr_ptes etc. */
  mmNrPtes: number;
  mmNrPmds: number;
  mmNrPuds: number;
  mmNrP4ds: number;
  /** @internal mm->tlb_flush_pending: MmuGathers between gather and finish */
  tlbFlushPending: number;
  private readonly labels: string[];
  private readonly labelIds: Map<string, number>;
  /** @internal label index stamped on tables freed from now on */
  freeLabel: number;

  /**
   * `slabCache`: where the tables' entry storage comes from (slab-cache.ts); share one across
   * page tables that live one after another, and dispose() each when done, so the next one
   * reuses memory the Node process has already touched. Default: fresh slabs of its own.
   */
  constructor(phys: PhysMem, opts?: { levels?: 4 | 5; slabCache?: SlabCache }) {
    const levels = opts?.levels ?? 4;
    if (levels !== 4 && levels !== 5)
      throw new RangeError(`@mmlab/page-table: levels must be 4 or 5, got ${levels}`);
    this.levels = levels;
    this.phys = phys;
    this.rss = { file: 0, anon: 0, swapEnts: 0, shmem: 0 };
    this.ptes = new TablePool(false, opts?.slabCache ?? null);
    this.dirs = new TablePool(true, opts?.slabCache ?? null);
    this.pgdSpan = levels === 4 ? PGDIR_SPAN_4 : PGDIR_SPAN_5;
    this.userTopPn = levels === 4 ? 2 ** 35 : 2 ** 44;
    this.mmNrPtes = 0;
    this.mmNrPmds = 0;
    this.mmNrPuds = 0;
    this.mmNrP4ds = 0;
    this.tlbFlushPending = 0;
    this.labels = [];
    this.labelIds = new Map();
    this.freeLabel = -1;
    const pgd = this.allocTable(LEVEL_PGD, 0);
    if (pgd < 0) throw new Error("@mmlab/page-table: no frame for the pgd (PhysMem exhausted)");
    this.pgdId = pgd;
  }

  /**
   * Gives the tables' slab memory back to the SlabCache (zeroed), for the next PageTable.
   * The page table must not be used afterwards. Its PhysMem frames are not freed: this is the
   * end of the host-side storage, not exit_mmap() (PhysMem.reset() ends a whole machine).
   */
  dispose(): void {
    this.ptes.drain();
    this.dirs.drain();
  }

  get nrPtes(): number {
    return this.mmNrPtes;
  }
  get nrPmds(): number {
    return this.mmNrPmds;
  }
  get nrPuds(): number {
    return this.mmNrPuds;
  }
  get nrP4ds(): number {
    return this.mmNrP4ds;
  }
  /** mm_pgtables_bytes() — v4.19: (nr_ptes + nr_pmds + nr_puds) * PAGE_SIZE. */
  get pgtablesBytes(): number {
    return (this.mmNrPtes + this.mmNrPmds + this.mmNrPuds) * PAGE_SIZE;
  }

  /** Label stamped on every table freed from now on, reported by PageTableUseAfterFree. */
  setFreeContext(label: string): void {
    let id = this.labelIds.get(label);
    if (id === undefined) {
      id = this.labels.length;
      this.labels.push(label);
      this.labelIds.set(label, id);
    }
    this.freeLabel = id;
  }

  // ---------------------------------------------------------------- addresses

  /** @internal a user address (page aligned, at most the top of user space) as a page number */
  toPn(addr: number, what: string): number {
    if (typeof addr !== "number") {
      throw new TypeError(`@mmlab/page-table: ${what} must be a number, got ${typeof addr}`);
    }
    const pn = addr / PAGE_SIZE;
    if (!Number.isInteger(pn) || pn < 0 || pn > this.userTopPn) {
      throw new RangeError(
        `@mmlab/page-table: ${what} ${typeof addr === "number" ? `0x${addr.toString(16)}` : String(addr)} ` +
          `is not a page-aligned user address below 2^${this.levels === 4 ? 47 : 56}`,
      );
    }
    return pn;
  }

  /** @internal index of pn's slot in the table that holds P4D entries (the pgd when folded) */
  p4dSlotIndex(pn: number): number {
    return this.levels === 4 ? spanIndex(pn, PGDIR_SPAN_4) : spanIndex(pn, P4D_SPAN);
  }

  // ---------------------------------------------------------------- tables

  /** @internal pXd_alloc_one(): a zeroed table in a fresh pagetable frame; id or -ENOMEM. */
  allocTable(level: number, basePn: number): number {
    const pfn = this.phys.allocFrame("pagetable");
    if (pfn < 0) return -ENOMEM;
    return (level === LEVEL_PTE ? this.ptes : this.dirs).alloc(level, pfn, basePn);
  }

  /** @internal poison a table that was unlinked (or never linked); its frame is the caller's. */
  poisonTable(id: number, level: number): number {
    const pool = level === LEVEL_PTE ? this.ptes : this.dirs;
    const used = pool.used[id] as number;
    if (used !== 0) {
      throw new Error(
        `@mmlab/page-table: BUG: freeing a ${LEVEL_NAMES[level]?.toUpperCase()} table for ` +
          `${pnHex(pool.basePn[id] as number)} that still has ${used} entries (they would leak)`,
      );
    }
    const pfn = pool.pfn[id] as number;
    pool.free(id, this.freeLabel);
    return pfn;
  }

  /** @internal pte_free(): poison a table and free its frame at once (no RCU delay). */
  freeTableNow(id: number, level: number): void {
    this.phys.freeFrame(this.poisonTable(id, level));
  }

  /** @internal link `child` (a fresh table) into the none slot (tab, i): pXd_populate(). */
  linkTable(tab: number, i: number, child: number, childLevel: number): void {
    const pfn = (childLevel === LEVEL_PTE ? this.ptes : this.dirs).pfn[child] as number;
    this.dirs.setEntry(tab, i, ((pfn << 12) | LO_TABLE) >>> 0, pfn >>> 20, child);
  }

  /**
   * @internal Walk to the table of `level` that covers pn, allocating missing tables along the
   * way when `alloc` (the __pXd_alloc ladder). Returns the table id, 0 if absent (no alloc),
   * -ENOMEM, or WALK_LEAF if a huge leaf higher up maps pn.
   */
  walk(pn: number, level: number, alloc: boolean): number {
    const dirs = this.dirs;
    let tab = this.pgdId;
    if (level === LEVEL_PGD || (level === LEVEL_P4D && this.levels === 4)) return tab;
    let i: number;
    let r: number;
    if (this.levels === 5) {
      i = spanIndex(pn, PGDIR_SPAN_5);
      if (dirs.lo(tab, i) === 0) {
        if (!alloc) return 0;
        r = __p4dAlloc(this, tab, i, pn);
        if (r < 0) return r;
      }
      tab = dirs.child(tab, i);
      if (level === LEVEL_P4D) return tab;
    }
    i = this.p4dSlotIndex(pn);
    if (dirs.lo(tab, i) === 0) {
      if (!alloc) return 0;
      r = __pudAlloc(this, tab, i, pn);
      if (r < 0) return r;
    }
    tab = dirs.child(tab, i);
    if (level === LEVEL_PUD) return tab;
    i = spanIndex(pn, PUD_SPAN);
    let lo = dirs.lo(tab, i);
    if ((lo & LO_PSE) !== 0) return WALK_LEAF;
    if (lo === 0) {
      if (!alloc) return 0;
      r = __pmdAlloc(this, tab, i, pn);
      if (r < 0) return r;
    }
    tab = dirs.child(tab, i);
    if (level === LEVEL_PMD) return tab;
    i = spanIndex(pn, PMD_SPAN);
    lo = dirs.lo(tab, i);
    if ((lo & LO_PSE) !== 0) return WALK_LEAF;
    if (lo === 0) {
      if (!alloc) return 0;
      r = __pteAlloc(this, tab, i, pn);
      if (r < 0) return r;
    }
    return dirs.child(tab, i);
  }

  // ---------------------------------------------------------------- fault / populate side

  /** mm/memory.c: __pud_alloc()/__pmd_alloc()/__pte_alloc() along the walk — v4.19. 0 or -ENOMEM. */
  pteAlloc(addr: number): number {
    const r = this.walk(this.toPn(addr, "pteAlloc: address"), LEVEL_PTE, true);
    return r === -ENOMEM ? -ENOMEM : 0;
  }

  /**
   * Install a 4 KiB leaf: set_pte_at() plus what the fault path does around it
   * (page_add_*_rmap: mapcount + 1; inc_mm_counter by the frame's kind). The entry takes over
   * one reference of the frame that the caller holds (from allocFrame() or getPage()). The
   * zero page is mapped special (no rmap, no rss), like do_anonymous_page() on a read fault.
   * The PTE table must exist and the entry must be none.
   */
  setPte(addr: number, pfn: number, prot: PteProt): void {
    const pn = this.toPn(addr, "setPte: address");
    const tab = this.walk(pn, LEVEL_PTE, false);
    if (tab <= 0) {
      throw new Error(
        `@mmlab/page-table: setPte(${pnHex(pn)}): no PTE table (call pteAlloc first)`,
      );
    }
    this.setPteIn(tab, pn, pfn, prot);
  }

  /** @internal setPte() into a known PTE table */
  setPteIn(tab: number, pn: number, pfn: number, prot: PteProt): void {
    const i = pteIndex(pn);
    if (this.ptes.lo(tab, i) !== 0)
      throw new Error(`@mmlab/page-table: setPte(${pnHex(pn)}): entry is present`);
    const kind = this.phys.kindOf(pfn);
    let lo = protLo(prot);
    if (kind === "zero") lo |= LO_SPECIAL;
    else if (kind === "anon") this.rss.anon++;
    else if (kind === "file") this.rss.file++;
    else if (kind === "shmem") this.rss.shmem++;
    else throw new Error(`@mmlab/page-table: setPte(${pnHex(pn)}): pfn ${hex(pfn)} is ${kind}`);
    if (kind !== "zero") this.phys.addMapcount(pfn, 1);
    this.ptes.setEntry(tab, i, ((pfn << 12) | lo) >>> 0, ((pfn >>> 20) | protHi(prot)) >>> 0, 0);
  }

  /**
   * mm/memory.c: do_anonymous_page() — v4.19, its page-table part: allocate the tables and a
   * zeroed anonymous frame, map it (writable and dirty when `writable`, as pte_mkwrite(
   * pte_mkdirty()) on a VM_WRITE vma), mapcount 1, MM_ANONPAGES + 1.
   * Returns 0, -ENOMEM, or -EEXIST if the page is already mapped (also by a huge leaf).
   */
  mapAnonPage(addr: number, writable: boolean): number {
    const pn = this.toPn(addr, "mapAnonPage: address");
    const tab = this.walk(pn, LEVEL_PTE, true);
    if (tab === -ENOMEM) return -ENOMEM;
    if (tab === WALK_LEAF) return -EEXIST;
    const i = pteIndex(pn);
    if (this.ptes.lo(tab, i) !== 0) return -EEXIST;
    const pfn = this.phys.allocRun(KIND_ANON, 1, 1);
    if (pfn < 0) return -ENOMEM;
    const lo = protLo({ write: writable, exec: false, dirty: writable });
    this.ptes.setEntry(tab, i, ((pfn << 12) | lo) >>> 0, ((pfn >>> 20) | HI_NX) >>> 0, 0);
    this.rss.anon++;
    return 0;
  }

  /** do_anonymous_page() on a read fault: map the shared zero page read-only (special). 0, -ENOMEM or -EEXIST. */
  mapZeroPage(addr: number): number {
    const pn = this.toPn(addr, "mapZeroPage: address");
    const tab = this.walk(pn, LEVEL_PTE, true);
    if (tab === -ENOMEM) return -ENOMEM;
    if (tab === WALK_LEAF || this.ptes.lo(tab, pteIndex(pn)) !== 0) return -EEXIST;
    this.setPteIn(tab, pn, this.phys.zeroPfn, { write: false, exec: false });
    return 0;
  }

  /**
   * Fault in every page of [start, end) that is not mapped yet, with anonymous frames
   * (MAP_POPULATE / mm_populate on an anonymous mapping), table by table: whole runs of
   * frames come from PhysMem at once and 512 entries are written in one loop.
   * Pages under a huge leaf are left alone. 0, or -ENOMEM (the pages mapped so far stay).
   */
  populateRange(start: number, end: number, prot: PteProt): number {
    const s = this.toPn(start, "populateRange: start");
    const e = this.toPn(end, "populateRange: end");
    if (e < s)
      throw new RangeError(`@mmlab/page-table: populateRange: end ${pnHex(e)} < start ${pnHex(s)}`);
    const flagsLo = protLo(prot);
    const flagsHi = protHi(prot);
    const phys = this.phys;
    const pool = this.ptes;
    let pn = s;
    while (pn < e) {
      const next = Math.min(spanFloor(pn, PMD_SPAN) + PMD_SPAN, e);
      const tab = this.walk(pn, LEVEL_PTE, true);
      if (tab === -ENOMEM) return -ENOMEM;
      if (tab === WALK_LEAF) {
        pn = next;
        continue;
      }
      const slab = pool.slabs[tab >>> SLAB_SHIFT] as Uint32Array;
      const base = (tab & SLAB_MASK) << 10;
      let k = pteIndex(pn);
      const kEnd = k + (next - pn);
      let mapped = 0;
      let failed = false;
      if (pool.used[tab] === 0) {
        // a fresh table: fill it from runs of consecutive frames
        while (k < kEnd) {
          const pfn = phys.allocRun(KIND_ANON, kEnd - k, 1);
          if (pfn < 0) {
            failed = true;
            break;
          }
          const got = phys.runGot;
          for (let j = 0; j < got; j++) {
            const o = base + ((k + j) << 1);
            const f = pfn + j;
            slab[o] = (f << 12) | flagsLo;
            slab[o + 1] = (f >>> 20) | flagsHi;
          }
          k += got;
          mapped += got;
        }
      } else {
        for (; k < kEnd; k++) {
          const o = base + (k << 1);
          if (slab[o] !== 0) continue;
          const f = phys.allocRun(KIND_ANON, 1, 1);
          if (f < 0) {
            failed = true;
            break;
          }
          slab[o] = (f << 12) | flagsLo;
          slab[o + 1] = (f >>> 20) | flagsHi;
          mapped++;
        }
      }
      (pool.used[tab] as number) += mapped;
      this.rss.anon += mapped;
      if (failed) return -ENOMEM;
      pn = next;
    }
    return 0;
  }

  /**
   * mm/huge_memory.c: do_huge_pmd_anonymous_page() — v4.19, its page-table part: a 2 MiB
   * anonymous THP mapped by one PMD leaf, with a PTE table deposited beside it for a later
   * split (pgtable_trans_huge_deposit; counted in nr_ptes). addr must be 2 MiB aligned.
   * 0, -ENOMEM, or -EEXIST if anything is mapped there (a PTE table, even empty, also counts).
   */
  mapHugePmd(addr: number, prot: PteProt): number {
    const pn = this.toPn(addr, "mapHugePmd: address");
    if (pn % PMD_SPAN !== 0)
      throw new RangeError(`@mmlab/page-table: mapHugePmd(${pnHex(pn)}): not 2 MiB aligned`);
    const pmd = this.walk(pn, LEVEL_PMD, true);
    if (pmd === -ENOMEM) return -ENOMEM;
    if (pmd === WALK_LEAF) return -EEXIST;
    const i = spanIndex(pn, PMD_SPAN);
    if (this.dirs.lo(pmd, i) !== 0) return -EEXIST;
    const deposit = this.allocTable(LEVEL_PTE, pn);
    if (deposit < 0) return -ENOMEM;
    const head = this.phys.allocCompound(KIND_ANON, HPAGE_PMD_NR);
    if (head < 0) {
      this.freeTableNow(deposit, LEVEL_PTE);
      return -ENOMEM;
    }
    this.mmNrPtes++;
    this.phys.addCompoundMapcount(head, 1);
    const lo = protLo(prot) | LO_PSE;
    this.dirs.setEntry(
      pmd,
      i,
      ((head << 12) | lo) >>> 0,
      ((head >>> 20) | protHi(prot)) >>> 0,
      deposit,
    );
    this.rss.anon += HPAGE_PMD_NR;
    return 0;
  }

  /**
   * A 1 GiB leaf in a PUD entry over a 1 GiB-aligned compound page of 262,144 anonymous frames
   * (v4.19 maps PUD leaves only for DAX; see README "fidelity"). addr must be 1 GiB aligned.
   * 0, -ENOMEM, or -EEXIST if anything is mapped there (including an empty PMD table).
   */
  mapHugePud(addr: number, prot: PteProt): number {
    const pn = this.toPn(addr, "mapHugePud: address");
    if (pn % PUD_SPAN !== 0)
      throw new RangeError(`@mmlab/page-table: mapHugePud(${pnHex(pn)}): not 1 GiB aligned`);
    const pud = this.walk(pn, LEVEL_PUD, true);
    if (pud === -ENOMEM) return -ENOMEM;
    const i = spanIndex(pn, PUD_SPAN);
    if (this.dirs.lo(pud, i) !== 0) return -EEXIST;
    const head = this.phys.allocCompound(KIND_ANON, HPAGE_PUD_NR);
    if (head < 0) return -ENOMEM;
    this.phys.addCompoundMapcount(head, 1);
    const lo = protLo(prot) | LO_PSE;
    this.dirs.setEntry(pud, i, ((head << 12) | lo) >>> 0, ((head >>> 20) | protHi(prot)) >>> 0, 0);
    this.rss.anon += HPAGE_PUD_NR;
    return 0;
  }

  /**
   * mm/mprotect.c: change_protection() — v4.19 (change_pte_range() with pte_modify(), and
   * change_huge_pmd() for huge leaves): give every mapped entry of [start, end) the RW and NX
   * bits of `prot`. With `none` the entries become PROT_NONE entries: _PAGE_PROTNONE (bit 8)
   * instead of _PAGE_PRESENT, so the MMU faults but the kernel still counts them as present
   * (pte_present()). Returns the number of entries rewritten.
   */
  changeProtection(
    start: number,
    end: number,
    prot: { write: boolean; exec: boolean; none?: boolean },
  ): number {
    const s = this.toPn(start, "changeProtection: start");
    const e = this.toPn(end, "changeProtection: end");
    if (e < s)
      throw new RangeError(
        `@mmlab/page-table: changeProtection: end ${pnHex(e)} < start ${pnHex(s)}`,
      );
    const setLo = (prot.none ? LO_PROTNONE : LO_PRESENT) | (prot.write ? LO_RW : 0);
    const clearLo = LO_PRESENT | LO_PROTNONE | LO_RW;
    const nx = prot.exec ? 0 : HI_NX;
    let changed = 0;
    for (let pn = s; pn < e; ) {
      const next = Math.min(spanFloor(pn, PMD_SPAN) + PMD_SPAN, e);
      const tab = this.walk(pn, LEVEL_PTE, false);
      if (tab === WALK_LEAF) {
        // A huge leaf: rewrite the PMD (or PUD) entry that maps it.
        const pud = this.walk(pn, LEVEL_PUD, false);
        const pudIdx = spanIndex(pn, PUD_SPAN);
        const onPud = (this.dirs.lo(pud, pudIdx) & LO_PSE) !== 0;
        const t = onPud ? pud : this.walk(pn, LEVEL_PMD, false);
        const i = onPud ? pudIdx : spanIndex(pn, PMD_SPAN);
        const lo = this.dirs.lo(t, i);
        const hi = this.dirs.hi(t, i);
        this.dirs.replaceEntry(
          t,
          i,
          ((lo & ~clearLo) | setLo) >>> 0,
          ((hi & ~HI_NX) | nx) >>> 0,
          this.dirs.child(t, i),
        );
        changed++;
        pn = onPud ? Math.min(spanFloor(pn, PUD_SPAN) + PUD_SPAN, e) : next;
        continue;
      }
      if (tab > 0) {
        const pool = this.ptes;
        for (let k = pteIndex(pn), kEnd = k + (next - pn); k < kEnd; k++) {
          const lo = pool.lo(tab, k);
          if (lo === 0) continue;
          const hi = pool.hi(tab, k);
          pool.replaceEntry(tab, k, ((lo & ~clearLo) | setLo) >>> 0, ((hi & ~HI_NX) | nx) >>> 0, 0);
          changed++;
        }
      }
      pn = next;
    }
    return changed;
  }

  /**
   * mm/memory.c: do_wp_page() — v4.19, a write fault on a mapped read-only 4 KiB entry of a
   * writable private mapping: an anonymous page mapped only here is reused (made writable and
   * dirty, wp_page_reuse()); the zero page, or any other page, is copied into a new anonymous
   * page (wp_page_copy()), which replaces it in the PTE. 0, -ENOMEM, or -EFAULT when no
   * 4 KiB entry maps addr.
   */
  doWpPage(addr: number): number {
    const pn = this.toPn(addr, "doWpPage: address");
    const tab = this.walk(pn, LEVEL_PTE, false);
    if (tab <= 0) return -EFAULT;
    const k = pteIndex(pn);
    const pool = this.ptes;
    const lo = pool.lo(tab, k);
    if (lo === 0) return -EFAULT;
    const hi = pool.hi(tab, k);
    const pfn = entryPfn(lo, hi);
    const special = (lo & LO_SPECIAL) !== 0;
    const phys = this.phys;
    if (!special && phys.kindOf(pfn) === "anon" && phys.mapcount(pfn) === 1) {
      pool.replaceEntry(tab, k, (lo | LO_RW | LO_DIRTY | LO_ACCESSED) >>> 0, hi, 0);
      return 0;
    }
    const copy = phys.allocRun(KIND_ANON, 1, 1);
    if (copy < 0) return -ENOMEM;
    if (!special) {
      const kind = phys.kindOf(pfn);
      if (kind === "anon") this.rss.anon--;
      else if (kind === "file") this.rss.file--;
      else if (kind === "shmem") this.rss.shmem--;
      phys.addMapcount(pfn, -1);
      phys.putPage(pfn);
    }
    const newLo =
      ((lo & LO_FLAGS & ~LO_SPECIAL) | LO_RW | LO_DIRTY | LO_ACCESSED | (copy << 12)) >>> 0;
    pool.replaceEntry(tab, k, newLo, ((hi & ~HI_PFN) | (copy >>> 20)) >>> 0, 0);
    this.rss.anon++;
    return 0;
  }

  /** mm/gup.c: follow_page() — v4.19 (the lookup part): the pfn mapped at addr, or -1. Handles huge leaves. */
  followPage(addr: number): number {
    const pn = this.toPn(addr, "followPage: address");
    const e = this.leafEntry(pn);
    if (e.level === 0) return -1;
    return entryPfn(e.lo, e.hi) + (pn % e.span);
  }

  /** The raw 64-bit leaf entry mapping addr (a PTE, or a huge PMD/PUD entry), 0n if none. Slow: for printing and tests. */
  pteValue(addr: number): bigint {
    const pn = this.toPn(addr, "pteValue: address");
    const e = this.leafEntry(pn);
    return e.level === 0 ? 0n : entryValue(e.lo, e.hi);
  }

  /** The raw 64-bit entry of `level` on the walk to addr (a link or a leaf; "p4d" is the PGD entry when folded), 0n if the walk stops above. */
  entryValue(addr: number, level: PtLevel): bigint {
    const pn = this.toPn(addr, "entryValue: address");
    const lv = levelNumber(level);
    const tab = this.walk(pn, lv, false); // the table holding entries of that level
    if (tab <= 0) return 0n;
    const pool = lv === LEVEL_PTE ? this.ptes : this.dirs;
    const i = this.indexAt(pn, lv);
    return entryValue(pool.lo(tab, i), pool.hi(tab, i));
  }

  /** @internal index of pn's entry in a table of `level` */
  indexAt(pn: number, level: number): number {
    switch (level) {
      case LEVEL_PTE:
        return pteIndex(pn);
      case LEVEL_PMD:
        return spanIndex(pn, PMD_SPAN);
      case LEVEL_PUD:
        return spanIndex(pn, PUD_SPAN);
      case LEVEL_P4D:
        return this.p4dSlotIndex(pn);
      default:
        return spanIndex(pn, this.pgdSpan);
    }
  }

  /** @internal the leaf mapping pn: level (0 if none), its entry halves and span in pages */
  leafEntry(pn: number): { level: number; lo: number; hi: number; span: number } {
    const pud = this.walk(pn, LEVEL_PUD, false);
    if (pud <= 0) return { level: 0, lo: 0, hi: 0, span: 1 };
    const dirs = this.dirs;
    let i = spanIndex(pn, PUD_SPAN);
    let lo = dirs.lo(pud, i);
    if (lo === 0) return { level: 0, lo: 0, hi: 0, span: 1 };
    if ((lo & LO_PSE) !== 0) return { level: LEVEL_PUD, lo, hi: dirs.hi(pud, i), span: PUD_SPAN };
    const pmd = dirs.child(pud, i);
    i = spanIndex(pn, PMD_SPAN);
    lo = dirs.lo(pmd, i);
    if (lo === 0) return { level: 0, lo: 0, hi: 0, span: 1 };
    if ((lo & LO_PSE) !== 0) return { level: LEVEL_PMD, lo, hi: dirs.hi(pmd, i), span: PMD_SPAN };
    const pte = dirs.child(pmd, i);
    lo = this.ptes.lo(pte, pteIndex(pn));
    if (lo === 0) return { level: 0, lo: 0, hi: 0, span: 1 };
    return { level: LEVEL_PTE, lo, hi: this.ptes.hi(pte, pteIndex(pn)), span: 1 };
  }

  /**
   * arch/x86/mm/dump_pagetables.c (v4.19) style dump of [start, end) (default: all of user
   * space): one line per run of entries with the same flags at the same level, e.g.
   * `0x00007f0000000000-0x00007f0000200000           2M USR RW         PSE         NX pmd`.
   */
  ptdump(start?: number, end?: number): string {
    const s = start === undefined ? 0 : this.toPn(start, "ptdump: start");
    const e = end === undefined ? this.userTopPn : this.toPn(end, "ptdump: end");
    return ptdumpWalk(this, s, e);
  }

  // ---------------------------------------------------------------- iteration (slow: validation)

  /** Page-table frames this mm holds: the pgd, P4D/PUD/PMD/PTE tables and tables deposited under huge PMDs. */
  get tablePages(): number {
    return 1 + this.mmNrP4ds + this.mmNrPuds + this.mmNrPmds + this.mmNrPtes;
  }

  /** Calls cb for every present leaf in ascending order: its address, size (4 KiB, 2 MiB or 1 GiB) and RW bit. */
  forEachLeaf(cb: (addr: number, size: number, writable: boolean) => void): void {
    this.forEachEntry(this.pgdId, LEVEL_PGD, 0, (level, pn, lo) => {
      if (level === LEVEL_PTE || (lo & LO_PSE) !== 0) {
        const span = level === LEVEL_PTE ? 1 : level === LEVEL_PMD ? PMD_SPAN : PUD_SPAN;
        cb(pn * PAGE_SIZE, span * PAGE_SIZE, (lo & LO_RW) !== 0);
      }
    });
  }

  /**
   * Calls cb for every linked page table below the pgd (P4D with LA57, PUD, PMD, PTE), in
   * ascending order of the span it covers: [spanStart, spanEnd) in bytes. Tables deposited
   * under huge PMDs are not linked and not reported.
   */
  forEachTable(cb: (level: PtLevel, spanStart: number, spanEnd: number) => void): void {
    this.forEachEntry(this.pgdId, LEVEL_PGD, 0, (level, pn, lo, childLevel) => {
      if (level === LEVEL_PTE || (lo & LO_PSE) !== 0) return;
      const span =
        childLevel === LEVEL_PTE
          ? PMD_SPAN
          : childLevel === LEVEL_PMD
            ? PUD_SPAN
            : childLevel === LEVEL_PUD
              ? P4D_SPAN
              : PGDIR_SPAN_5;
      cb(LEVEL_NAMES[childLevel] as PtLevel, pn * PAGE_SIZE, (pn + span) * PAGE_SIZE);
    });
  }

  private forEachEntry(
    id: number,
    level: number,
    basePn: number,
    cb: (level: number, pn: number, lo: number, childLevel: number) => void,
  ): void {
    if (level === LEVEL_PTE) {
      for (let i = 0; i < 512; i++) {
        const lo = this.ptes.lo(id, i);
        if (lo !== 0) cb(LEVEL_PTE, basePn + i, lo, 0);
      }
      return;
    }
    const dirs = this.dirs;
    const span =
      level === LEVEL_PGD
        ? this.pgdSpan
        : level === LEVEL_P4D
          ? P4D_SPAN
          : level === LEVEL_PUD
            ? PUD_SPAN
            : PMD_SPAN;
    const childLevel = level === LEVEL_PGD && this.levels === 4 ? LEVEL_PUD : level - 1;
    for (let i = 0; i < (level === LEVEL_PGD ? 256 : 512); i++) {
      const lo = dirs.lo(id, i);
      if (lo === 0) continue;
      const pn = basePn + i * span;
      cb(level, pn, lo, childLevel);
      if ((lo & LO_PSE) === 0) this.forEachEntry(dirs.child(id, i), childLevel, pn, cb);
    }
  }

  // ---------------------------------------------------------------- stale references

  /**
   * A reference to the table of `level` covering addr, valid until that table is freed:
   * checkRef() (and setPteAt()) throw PageTableUseAfterFree once it has been. -1 if there is
   * no such table. Encodes (generation, level, id) in one exact number.
   */
  tableRef(addr: number, level: PtLevel): number {
    const pn = this.toPn(addr, "tableRef: address");
    const lv = levelNumber(level);
    const id = this.walk(pn, lv, false);
    if (id <= 0) return -1;
    const pool = lv === LEVEL_PTE ? this.ptes : this.dirs;
    return ((pool.gen[id] as number) * 8 + lv) * REF_ID + id;
  }

  /** Throws PageTableUseAfterFree if the table `ref` names was freed since tableRef(). */
  checkRef(ref: number): void {
    this.refTable(ref);
  }

  /** setPte() through a PTE-table reference kept across a yield; checks the reference first. */
  setPteAt(ref: number, addr: number, pfn: number, prot: PteProt): void {
    const tab = this.refTable(ref);
    const pn = this.toPn(addr, "setPteAt: address");
    if (
      Math.floor(ref / REF_ID) % 8 !== LEVEL_PTE ||
      spanFloor(pn, PMD_SPAN) !== this.ptes.basePn[tab]
    ) {
      throw new RangeError(
        `@mmlab/page-table: setPteAt: ref does not name the PTE table covering ${pnHex(pn)}`,
      );
    }
    this.setPteIn(tab, pn, pfn, prot);
  }

  /** @internal the table id of a live ref; throws PageTableUseAfterFree */
  refTable(ref: number): number {
    if (!Number.isInteger(ref) || ref < 0)
      throw new TypeError(`@mmlab/page-table: bad table ref ${ref}`);
    const id = ref % REF_ID;
    const rest = Math.floor(ref / REF_ID);
    const lv = rest % 8;
    const gen = Math.floor(rest / 8);
    if (lv < LEVEL_PTE || lv > LEVEL_PGD)
      throw new TypeError(`@mmlab/page-table: bad table ref ${ref}`);
    const pool = lv === LEVEL_PTE ? this.ptes : this.dirs;
    if (id === 0 || id >= pool.nextId)
      throw new TypeError(`@mmlab/page-table: bad table ref ${ref}`);
    if (pool.gen[id] !== gen || pool.live[id] === 0) {
      const label = pool.freedBy[id] as number;
      const basePn = pool.basePn[id] as number;
      throw new PageTableUseAfterFree(
        LEVEL_NAMES[lv] as string,
        basePn * PAGE_SIZE,
        pnHex(basePn),
        label < 0 ? "" : (this.labels[label] as string),
        pool.pfn[id] as number,
      );
    }
    return id;
  }

  // ---------------------------------------------------------------- validate

  /** Check every invariant in the header comment; throws an Error naming the first broken one. */
  validate(): void {
    const st = {
      ptes: 0,
      pmds: 0,
      puds: 0,
      p4ds: 0,
      anon: 0,
      file: 0,
      shmem: 0,
      dirLive: 1,
      pteLive: 0,
    };
    this.validateDir(this.pgdId, LEVEL_PGD, 0, st);
    if (st.ptes !== this.mmNrPtes) vfail(`nr_ptes ${this.mmNrPtes}, found ${st.ptes} PTE tables`);
    if (st.pmds !== this.mmNrPmds) vfail(`nr_pmds ${this.mmNrPmds}, found ${st.pmds} PMD tables`);
    if (st.puds !== this.mmNrPuds) vfail(`nr_puds ${this.mmNrPuds}, found ${st.puds} PUD tables`);
    if (st.p4ds !== this.mmNrP4ds) vfail(`nr_p4ds ${this.mmNrP4ds}, found ${st.p4ds} P4D tables`);
    if (st.anon !== this.rss.anon)
      vfail(`MM_ANONPAGES ${this.rss.anon}, found ${st.anon} anon pages mapped`);
    if (st.file !== this.rss.file)
      vfail(`MM_FILEPAGES ${this.rss.file}, found ${st.file} file pages mapped`);
    if (st.shmem !== this.rss.shmem)
      vfail(`MM_SHMEMPAGES ${this.rss.shmem}, found ${st.shmem} shmem pages mapped`);
    if (this.rss.swapEnts !== 0) vfail("MM_SWAPENTS is not modelled but non-zero");
    if (st.dirLive !== this.dirs.liveCount)
      vfail(`${this.dirs.liveCount} live directory tables, ${st.dirLive} reachable`);
    if (st.pteLive !== this.ptes.liveCount)
      vfail(`${this.ptes.liveCount} live PTE tables, ${st.pteLive} reachable`);
  }

  private validateTableFrame(pool: TablePool, id: number, level: number, basePn: number): void {
    if (pool.live[id] !== 1)
      vfail(`${LEVEL_NAMES[level]} table ${id} for ${pnHex(basePn)} is linked but freed`);
    if (pool.level[id] !== level)
      vfail(`table ${id} for ${pnHex(basePn)} has level ${pool.level[id]}, expected ${level}`);
    if (pool.basePn[id] !== basePn)
      vfail(`table ${id} covers ${pnHex(pool.basePn[id] as number)}, linked at ${pnHex(basePn)}`);
    const code = this.phys.kindCodeOf(pool.pfn[id] as number);
    if (code !== KIND_PAGETABLE)
      vfail(`table ${id}'s frame ${hex(pool.pfn[id] as number)} has kind code ${code}`);
  }

  private validateDir(
    id: number,
    level: number,
    basePn: number,
    st: {
      ptes: number;
      pmds: number;
      puds: number;
      p4ds: number;
      anon: number;
      file: number;
      shmem: number;
      dirLive: number;
      pteLive: number;
    },
  ): void {
    const dirs = this.dirs;
    this.validateTableFrame(dirs, id, level, basePn);
    const span =
      level === LEVEL_PGD
        ? this.pgdSpan
        : level === LEVEL_P4D
          ? P4D_SPAN
          : level === LEVEL_PUD
            ? PUD_SPAN
            : PMD_SPAN;
    const childLevel = level === LEVEL_PGD && this.levels === 4 ? LEVEL_PUD : level - 1;
    const userEntries = level === LEVEL_PGD ? 256 : 512;
    let used = 0;
    for (let i = 0; i < 512; i++) {
      const lo = dirs.lo(id, i);
      const hi = dirs.hi(id, i);
      const child = dirs.child(id, i);
      const pn = basePn + i * span;
      if (lo === 0) {
        if (hi !== 0 || child !== 0)
          vfail(`none ${LEVEL_NAMES[level]} entry for ${pnHex(pn)} has stray bits`);
        continue;
      }
      used++;
      if (i >= userEntries) vfail(`PGD entry ${i} is above user space`);
      if ((lo & LO_PSE) !== 0) {
        this.validateLeaf(level, lo, hi, child, pn, st);
        continue;
      }
      if ((lo & LO_FLAGS) !== LO_TABLE || (hi & ~HI_PFN) !== 0)
        vfail(`link for ${pnHex(pn)} has flags ${hex(lo & LO_FLAGS)}/${hex(hi)}`);
      const pool = childLevel === LEVEL_PTE ? this.ptes : dirs;
      if (child === 0 || child >= pool.nextId) vfail(`link for ${pnHex(pn)} has no child table`);
      if (entryPfn(lo, hi) !== pool.pfn[child])
        vfail(
          `link for ${pnHex(pn)} points at pfn ${hex(entryPfn(lo, hi))}, table is in ${hex(pool.pfn[child] as number)}`,
        );
      if (childLevel === LEVEL_PTE) {
        st.ptes++;
        st.pteLive++;
        this.validatePte(child, pn, st);
      } else {
        if (childLevel === LEVEL_PMD) st.pmds++;
        else if (childLevel === LEVEL_PUD) st.puds++;
        else st.p4ds++;
        st.dirLive++;
        this.validateDir(child, childLevel, pn, st);
      }
    }
    if (used !== dirs.used[id])
      vfail(
        `${LEVEL_NAMES[level]} table for ${pnHex(basePn)}: used ${dirs.used[id]}, counted ${used}`,
      );
  }

  private validateLeaf(
    level: number,
    lo: number,
    hi: number,
    child: number,
    pn: number,
    st: { ptes: number; pteLive: number; anon: number },
  ): void {
    if (level !== LEVEL_PMD && level !== LEVEL_PUD)
      vfail(`huge leaf at ${LEVEL_NAMES[level]} level for ${pnHex(pn)}`);
    const nr = level === LEVEL_PMD ? HPAGE_PMD_NR : HPAGE_PUD_NR;
    const head = entryPfn(lo, hi);
    const phys = this.phys;
    if (head % nr !== 0 || head + nr > phys.totalFrames)
      vfail(`huge leaf for ${pnHex(pn)} maps misaligned pfn ${hex(head)}`);
    if (
      (phys.kindCodeOf(head) & KIND_MASK) !== KIND_ANON ||
      (phys.compoundMapcount.get(head) ?? 0) < 1
    ) {
      vfail(
        `huge leaf for ${pnHex(pn)} maps pfn ${hex(head)} that is not a mapped anonymous compound page`,
      );
    }
    st.anon += nr;
    if (level === LEVEL_PMD) {
      // the deposited PTE table: live, empty, counted in nr_ptes
      if (child === 0 || this.ptes.live[child] !== 1 || this.ptes.used[child] !== 0) {
        vfail(`huge PMD for ${pnHex(pn)} has no (empty, live) deposited table`);
      }
      st.ptes++;
      st.pteLive++;
    } else if (child !== 0) vfail(`huge PUD for ${pnHex(pn)} has a child`);
  }

  private validatePte(
    id: number,
    basePn: number,
    st: { anon: number; file: number; shmem: number },
  ): void {
    const pool = this.ptes;
    this.validateTableFrame(pool, id, LEVEL_PTE, basePn);
    const phys = this.phys;
    let used = 0;
    for (let i = 0; i < 512; i++) {
      const lo = pool.lo(id, i);
      const hi = pool.hi(id, i);
      if (lo === 0) {
        if (hi !== 0) vfail(`none PTE for ${pnHex(basePn + i)} has stray bits`);
        continue;
      }
      used++;
      if ((lo & (LO_PRESENT | LO_PROTNONE)) === 0)
        vfail(`PTE for ${pnHex(basePn + i)} is neither present nor PROT_NONE`);
      const pfn = entryPfn(lo, hi);
      if (pfn >= phys.totalFrames)
        vfail(`PTE for ${pnHex(basePn + i)} maps pfn ${hex(pfn)} beyond memory`);
      const code = phys.kindCodeOf(pfn) & KIND_MASK;
      if ((lo & LO_SPECIAL) !== 0) {
        if (code !== KIND_ZERO) vfail(`special PTE for ${pnHex(basePn + i)} maps a non-zero page`);
        continue;
      }
      if (code === KIND_ANON) st.anon++;
      else if (code === KIND_FILE) st.file++;
      else if (code === KIND_SHMEM) st.shmem++;
      else vfail(`PTE for ${pnHex(basePn + i)} maps pfn ${hex(pfn)} of kind code ${code}`);
      if (phys.mapcount(pfn) < 1 || phys.refcount(pfn) < 1)
        vfail(`pfn ${hex(pfn)} is mapped at ${pnHex(basePn + i)} with mapcount/refcount 0`);
    }
    if (used !== pool.used[id])
      vfail(`PTE table for ${pnHex(basePn)}: used ${pool.used[id]}, counted ${used}`);
  }
}

function levelNumber(level: PtLevel): number {
  switch (level) {
    case "pte":
      return LEVEL_PTE;
    case "pmd":
      return LEVEL_PMD;
    case "pud":
      return LEVEL_PUD;
    case "p4d":
      return LEVEL_P4D;
    case "pgd":
      return LEVEL_PGD;
    default:
      throw new TypeError(`@mmlab/page-table: bad level ${String(level)}`);
  }
}

function vfail(msg: string): never {
  throw new Error(`@mmlab/page-table: PageTable.validate: ${msg}`);
}
