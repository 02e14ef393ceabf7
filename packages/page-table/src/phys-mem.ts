/**
 * DOC: physical memory — the page allocator and struct page state that the page-table code
 * needs (mm/page_alloc.c, include/linux/mm.h, include/linux/page_ref.h; v4.19), at 2 bytes per
 * frame so that the default 384 GiB (100,663,296 frames) costs at most 201 MB.
 *
 *   page[pfn]  Uint16  the struct page word: flags | refcount << 6 | mapcount << 11
 *     flags    bits 0-5: the kind in the low 3 bits (0 free | 1 anon | 2 file | 3 pagetable |
 *              4 zero | 5 shmem); 0x08 compound head, 0x10 compound tail, 0x20 order 18
 *              (1 GiB) instead of order 9 (2 MiB)
 *     ref      bits 6-10: page_count(); 31 = "look in refOverflow" (a Map, rarely used)
 *     map      bits 11-15: _mapcount + 1 of PTE mappings; 31 = "look in mapOverflow"
 *
 * Like struct page's _refcount and _mapcount, both counts sit beside the flags: one load
 * gives zap_pte_range() the kind and the mapcount, and release_pages() tests "an unmapped
 * order-0 anonymous page with one reference" (0x41) in one compare. A free frame's word is 0.
 *
 *   frames:  [0 ...................... nextFresh) [nextFresh ..... totalFrames)
 *             allocated, or free in a run          never used (the bump region)
 *
 * Allocation is O(1) and keeps no per-frame free-list entry: freed frames are kept as runs
 * (start, length) on a stack; a freed frame that extends the top run (the common case: a zap
 * frees frames in the order populate allocated them) costs no new run, and frames freed just
 * below `nextFresh` give the bump region back. allocFrame takes the lowest frame of the top
 * run, else bumps `nextFresh`.
 *
 * Compound pages (a 2 MiB THP, a 1 GiB leaf) are naturally aligned runs of 512 or 262,144
 * frames: the head holds the reference count (tails read as the head's, like page_count()),
 * and the mappings of the whole page by a PMD or PUD leaf are counted in `compoundMapcount`
 * (compound_mapcount), while PTE mappings of subpages count in each subpage's own mapcount.
 *
 * The per-frame array is allocated once at full size. They are zero-filled by calloc,
 * so the OS commits their pages only when a frame is first touched: `new PhysMem()` costs no
 * resident memory until frames are used (bench/scale.ts prints the RSS to prove it).
 *
 * Invariants (checked by validate()): kinds counted in `counts()` sum to totalFrames; a frame
 * is free iff its kind is 0; free frames are exactly the runs plus [nextFresh, totalFrames);
 * runs are disjoint; a free frame's word is 0 (refcount and mapcount 0).
 */

import { ENOMEM } from "./errno.js";

export type FrameKind = "free" | "anon" | "file" | "pagetable" | "zero" | "shmem";

/** @internal kind codes */
export const KIND_FREE = 0;
export const KIND_ANON = 1;
export const KIND_FILE = 2;
export const KIND_PAGETABLE = 3;
export const KIND_ZERO = 4;
/** Swap-backed file pages (shmem, anonymous MAP_SHARED): counted in MM_SHMEMPAGES. */
export const KIND_SHMEM = 5;
export const KIND_MASK = 0x07;
export const PG_HEAD = 0x08;
export const PG_TAIL = 0x10;
export const PG_GIGANTIC = 0x20;
/** @internal the kind and compound flags of a struct page word */
export const PAGE_FLAGS = 0x3f;
/** @internal where the refcount and the mapcount sit in the struct page word */
export const REF_SHIFT = 6;
export const MAP_SHIFT = 11;
/** @internal a count field's largest value, meaning "look in the overflow map" */
export const OVERFLOW = 31;
/** @internal refcount 1 / mapcount 1 in the struct page word */
export const REF_ONE = 1 << REF_SHIFT;
export const MAP_ONE = 1 << MAP_SHIFT;
/** @internal an order-0 anonymous page with refcount 1 and no mapping */
export const ANON_REF_ONE = KIND_ANON | REF_ONE;

const KIND_NAMES: readonly FrameKind[] = ["free", "anon", "file", "pagetable", "zero", "shmem"];
const NR_KINDS = 6;
const MAX_BYTES = 2 ** 43; // pfn < 2^31: the hot paths keep pfns in int32 (see entry.ts)
const DEFAULT_BYTES = 384 * 2 ** 30;

function kindCode(kind: string): number {
  switch (kind) {
    case "anon":
      return KIND_ANON;
    case "file":
      return KIND_FILE;
    case "pagetable":
      return KIND_PAGETABLE;
    case "zero":
      return KIND_ZERO;
    case "shmem":
      return KIND_SHMEM;
    default:
      throw new TypeError(`@mmlab/page-table: bad frame kind ${String(kind)}`);
  }
}

export class PhysMem {
  readonly totalFrames: number;
  /** @internal frames of kind "free" */
  nrFree: number;
  /** The shared zero page (ZERO_PAGE(0)): kind "zero", never freed. */
  readonly zeroPfn: number;
  /** @internal per-frame struct page word: flags | refcount << 6 | mapcount << 11 */
  readonly pageArr: Uint16Array;
  /** @internal frames per kind code */
  readonly kindCount: Float64Array;
  /** @internal compound head pfn -> PMD/PUD-level mappings of the whole page */
  readonly compoundMapcount: Map<number, number>;
  private readonly refOverflow: Map<number, number>;
  private readonly mapOverflow: Map<number, number>;
  /** @internal first never-used frame */
  nextFresh: number;
  /** @internal highest nextFresh ever: frames at and above it were never written (reset()) */
  private touchedEnd: number;
  private runStart: Float64Array;
  private runLen: Float64Array;
  /** @internal number of free runs on the stack */
  runCount: number;
  /** @internal frames obtained by the last allocRun() */
  runGot: number;

  constructor(opts?: { bytes?: number }) {
    const bytes = opts?.bytes ?? DEFAULT_BYTES;
    if (!Number.isInteger(bytes) || bytes % 4096 !== 0 || bytes < 2 * 4096 || bytes > MAX_BYTES) {
      throw new RangeError(
        `@mmlab/page-table: PhysMem bytes must be a multiple of 4096 in [8 KiB, 8 TiB], got ${bytes}`,
      );
    }
    this.totalFrames = bytes / 4096;
    this.nrFree = this.totalFrames;
    this.pageArr = new Uint16Array(this.totalFrames);
    this.kindCount = new Float64Array(NR_KINDS);
    this.kindCount[KIND_FREE] = this.totalFrames;
    this.compoundMapcount = new Map();
    this.refOverflow = new Map();
    this.mapOverflow = new Map();
    this.nextFresh = 0;
    this.touchedEnd = 0;
    this.runStart = new Float64Array(64);
    this.runLen = new Float64Array(64);
    this.runCount = 0;
    this.runGot = 0;
    this.zeroPfn = this.allocFrame("zero");
  }

  /**
   * Back to the state of a new PhysMem of the same size (every frame free, only the zero page
   * allocated), keeping the per-frame arrays: the frames used so far are zeroed in place, so
   * the next experiment writes into memory the Node process has already touched instead of
   * paying the OS's first-touch faults again. Whoever still holds a pfn of this PhysMem (a
   * PageTable, a gather) must not use it afterwards.
   */
  reset(): void {
    this.pageArr.fill(0, 0, this.touchedEnd);
    this.kindCount.fill(0);
    this.kindCount[KIND_FREE] = this.totalFrames;
    this.nrFree = this.totalFrames;
    this.compoundMapcount.clear();
    this.refOverflow.clear();
    this.mapOverflow.clear();
    this.nextFresh = 0;
    this.touchedEnd = 0;
    this.runCount = 0;
    this.runGot = 0;
    if (this.allocFrame("zero") !== this.zeroPfn) throw new Error("@mmlab/page-table: reset");
  }

  /** Frames of kind "free". */
  get freeFrames(): number {
    return this.nrFree;
  }

  // ---------------------------------------------------------------- allocation

  /** mm/page_alloc.c: alloc_page() — v4.19. pfn with refcount 1, or -ENOMEM. O(1). */
  allocFrame(kind: Exclude<FrameKind, "free">): number {
    const code = kindCode(kind);
    const pfn = this.allocRun(code, 1, 0);
    return pfn;
  }

  /**
   * @internal Bulk allocation for populate: up to `want` consecutive frames (at least one),
   * each with refcount 1 and the given mapcount (0 or 1). Returns the first pfn (this.runGot
   * frames) or -ENOMEM.
   */
  allocRun(code: number, want: number, mapcount: number): number {
    const word = code | REF_ONE | (mapcount << MAP_SHIFT);
    let pfn: number;
    let got: number;
    if (this.runCount > 0) {
      const t = this.runCount - 1;
      pfn = this.runStart[t] as number;
      const len = this.runLen[t] as number;
      got = Math.min(want, len);
      if (got === len) this.runCount = t;
      else {
        this.runStart[t] = pfn + got;
        this.runLen[t] = len - got;
      }
    } else {
      const left = this.totalFrames - this.nextFresh;
      if (left === 0) {
        this.runGot = 0;
        return -ENOMEM;
      }
      pfn = this.nextFresh;
      got = Math.min(want, left);
      this.nextFresh = pfn + got;
      if (this.nextFresh > this.touchedEnd) this.touchedEnd = this.nextFresh;
    }
    if (got === 1) this.pageArr[pfn] = word;
    else this.pageArr.fill(word, pfn, pfn + got);
    this.nrFree -= got;
    (this.kindCount[KIND_FREE] as number) -= got;
    (this.kindCount[code] as number) += got;
    this.runGot = got;
    return pfn;
  }

  /**
   * @internal A compound page of `nrPages` (512 or 262,144) naturally aligned frames, as
   * alloc_pages(order 9 / 18): head refcount 1, every frame mapcount 0, compound mapcount 0.
   * Returns the head pfn or -ENOMEM. O(free runs) when the bump region cannot serve it.
   */
  allocCompound(code: number, nrPages: number): number {
    let head = -1;
    const a = Math.ceil(this.nextFresh / nrPages) * nrPages;
    if (a + nrPages <= this.totalFrames) {
      const gapStart = this.nextFresh;
      this.nextFresh = a + nrPages;
      if (this.nextFresh > this.touchedEnd) this.touchedEnd = this.nextFresh;
      if (a > gapStart) this.pushRunRaw(gapStart, a - gapStart);
      head = a;
    } else {
      for (let t = this.runCount - 1; t >= 0 && head < 0; t--) {
        const st = this.runStart[t] as number;
        const end = st + (this.runLen[t] as number);
        const b = Math.ceil(st / nrPages) * nrPages;
        if (b + nrPages > end) continue;
        head = b;
        if (b > st) {
          this.runLen[t] = b - st;
          if (b + nrPages < end) this.pushRunRaw(b + nrPages, end - b - nrPages);
        } else if (b + nrPages < end) {
          this.runStart[t] = b + nrPages;
          this.runLen[t] = end - b - nrPages;
        } else {
          this.removeRun(t);
        }
      }
      if (head < 0) return -ENOMEM;
    }
    const flags = nrPages === 512 ? 0 : PG_GIGANTIC;
    this.pageArr.fill(code | PG_TAIL | flags, head, head + nrPages);
    this.pageArr[head] = code | PG_HEAD | flags | REF_ONE;
    this.compoundMapcount.set(head, 0);
    this.nrFree -= nrPages;
    (this.kindCount[KIND_FREE] as number) -= nrPages;
    (this.kindCount[code] as number) += nrPages;
    return head;
  }

  // ---------------------------------------------------------------- freeing

  /** mm/page_alloc.c: __free_pages() — v4.19: give back a frame (a whole compound page if a head) that nobody maps. */
  freeFrame(pfn: number): void {
    const code = this.checkPfn(pfn, "freeFrame");
    if (code === KIND_FREE) throw new Error(`@mmlab/page-table: double free of pfn ${hex(pfn)}`);
    if (code === KIND_ZERO) throw new Error(`@mmlab/page-table: freeFrame of the zero page`);
    if ((code & PG_TAIL) !== 0) {
      throw new Error(`@mmlab/page-table: freeFrame of pfn ${hex(pfn)}, a tail of a compound page`);
    }
    this.release(pfn, code);
  }

  /** include/linux/mm.h: get_page() — v4.19: take a reference (on the head of a compound page). */
  getPage(pfn: number): void {
    const code = this.checkPfn(pfn, "getPage");
    if (code === KIND_FREE) throw new Error(`@mmlab/page-table: getPage of free pfn ${hex(pfn)}`);
    if ((code & PG_TAIL) !== 0) {
      pfn = this.compoundHead(pfn, code);
    }
    const r = this.refField(pfn);
    if (r < OVERFLOW - 1) this.setRefField(pfn, r + 1);
    else {
      const v = r === OVERFLOW ? (this.refOverflow.get(pfn) as number) : r;
      this.setRefField(pfn, OVERFLOW);
      this.refOverflow.set(pfn, v + 1);
    }
  }

  /** include/linux/mm.h: put_page() — v4.19: drop a reference; the frame is freed at 0. */
  putPage(pfn: number): void {
    let code = this.checkPfn(pfn, "putPage");
    if (code === KIND_FREE) throw new Error(`@mmlab/page-table: putPage of free pfn ${hex(pfn)}`);
    if ((code & PG_TAIL) !== 0) {
      pfn = this.compoundHead(pfn, code);
      code = this.kindCodeOf(pfn);
    }
    const r = this.refField(pfn);
    if (r === OVERFLOW) {
      const v = (this.refOverflow.get(pfn) as number) - 1;
      if (v < OVERFLOW) {
        this.refOverflow.delete(pfn);
        this.setRefField(pfn, v);
      } else this.refOverflow.set(pfn, v);
      return;
    }
    if (r === 0) throw new Error(`@mmlab/page-table: putPage of pfn ${hex(pfn)} with refcount 0`);
    if (r > 1) {
      this.setRefField(pfn, r - 1);
      return;
    }
    if (code === KIND_ZERO)
      throw new Error(`@mmlab/page-table: last reference of the zero page dropped`);
    this.release(pfn, code);
  }

  /**
   * @internal release_pages() for a gathered batch: put_page() on each pfn, freeing at 0.
   * The common case (an order-0 page whose last reference goes) is inlined and frees into
   * runs that grow as long as the pfns are consecutive. Returns the frames freed.
   */
  freeBatch(pages: Uint32Array, n: number): number {
    const page = this.pageArr;
    // a local: optimized code reloads a module constant (and checks it) on every use in a loop
    const anonRefOne = ANON_REF_ONE;
    const before = this.nrFree;
    let runStart = -1;
    let runEnd = -1;
    let anon = 0;
    let i = 0;
    while (i < n) {
      // the common case in a loop without calls: the next frame of the current run
      for (; i < n; i++) {
        const pfn = pages[i] as number;
        if (pfn !== runEnd || page[pfn] !== anonRefOne) break;
        page[pfn] = 0;
        runEnd++;
      }
      if (i === n) break;
      const pfn = pages[i] as number;
      i++;
      if (page[pfn] === anonRefOne) {
        // the last reference of an unmapped order-0 anonymous page, starting a new run
        page[pfn] = 0;
        anon += runEnd - runStart;
        if (runEnd !== runStart) this.pushRun(runStart, runEnd - runStart);
        runStart = pfn;
        runEnd = pfn + 1;
        continue;
      }
      this.putPage(pfn); // shared, file, compound, overflowing, or a bug
    }
    anon += runEnd - runStart;
    if (runEnd !== runStart) this.pushRun(runStart, runEnd - runStart);
    const counts = this.kindCount;
    (counts[KIND_ANON] as number) -= anon;
    (counts[KIND_FREE] as number) += anon;
    this.nrFree += anon;
    return this.nrFree - before;
  }

  private release(pfn: number, code: number): void {
    let n = 1;
    if ((code & PG_HEAD) !== 0) {
      n = (code & PG_GIGANTIC) !== 0 ? 512 * 512 : 512;
      if ((this.compoundMapcount.get(pfn) ?? 0) !== 0)
        badPageState(pfn, "compound page freed while mapped");
      for (let i = pfn; i < pfn + n; i++)
        if (this.mapField(i) !== 0) badPageState(i, "freed while mapped");
      this.compoundMapcount.delete(pfn);
    } else if (this.mapField(pfn) !== 0) badPageState(pfn, "freed while still mapped");
    this.refOverflow.delete(pfn);
    this.pageArr.fill(0, pfn, pfn + n); // kind free, refcount 0
    (this.kindCount[code & KIND_MASK] as number) -= n;
    (this.kindCount[KIND_FREE] as number) += n;
    this.nrFree += n;
    this.pushRun(pfn, n);
  }

  /** Puts the free frames [s, s+n) on the run stack (kinds and counters already updated). */
  private pushRun(s: number, n: number): void {
    if (s + n === this.nextFresh) {
      // give the frames back to the bump region, and any top run that now touches it
      this.nextFresh = s;
      while (this.runCount > 0) {
        const t = this.runCount - 1;
        const st = this.runStart[t] as number;
        if (st + (this.runLen[t] as number) !== this.nextFresh) break;
        this.nextFresh = st;
        this.runCount = t;
      }
      return;
    }
    if (this.runCount > 0) {
      const t = this.runCount - 1;
      const st = this.runStart[t] as number;
      const len = this.runLen[t] as number;
      if (st + len === s) {
        this.runLen[t] = len + n;
        return;
      }
      if (s + n === st) {
        this.runStart[t] = s;
        this.runLen[t] = len + n;
        return;
      }
    }
    this.pushRunRaw(s, n);
  }

  private pushRunRaw(s: number, n: number): void {
    if (this.runCount === this.runStart.length) {
      const start = new Float64Array(this.runCount * 2);
      const len = new Float64Array(this.runCount * 2);
      start.set(this.runStart);
      len.set(this.runLen);
      this.runStart = start;
      this.runLen = len;
    }
    this.runStart[this.runCount] = s;
    this.runLen[this.runCount] = n;
    this.runCount++;
  }

  private removeRun(t: number): void {
    const last = this.runCount - 1;
    this.runStart[t] = this.runStart[last] as number;
    this.runLen[t] = this.runLen[last] as number;
    this.runCount = last;
  }

  // ---------------------------------------------------------------- per-frame state

  kindOf(pfn: number): FrameKind {
    return KIND_NAMES[this.checkPfn(pfn, "kindOf") & KIND_MASK] as FrameKind;
  }

  /** page_count(): the head's count for a compound page. */
  refcount(pfn: number): number {
    const code = this.checkPfn(pfn, "refcount");
    if (code === KIND_FREE) return 0;
    const head = (code & PG_TAIL) !== 0 ? this.compoundHead(pfn, code) : pfn;
    const r = this.refField(head);
    return r === OVERFLOW ? (this.refOverflow.get(head) as number) : r;
  }

  /** page_mapcount(): PTE mappings of this frame plus mappings of its whole compound page. */
  mapcount(pfn: number): number {
    const code = this.checkPfn(pfn, "mapcount");
    const m = this.mapField(pfn);
    let n = m === OVERFLOW ? (this.mapOverflow.get(pfn) as number) : m;
    if ((code & (PG_HEAD | PG_TAIL)) !== 0) {
      n += this.compoundMapcount.get(this.compoundHead(pfn, code)) ?? 0;
    }
    return n;
  }

  /** @internal add to the PTE mapcount of one frame (page_add_*_rmap / page_remove_rmap). */
  addMapcount(pfn: number, delta: number): void {
    const m = this.mapField(pfn);
    const v = (m === OVERFLOW ? (this.mapOverflow.get(pfn) as number) : m) + delta;
    if (v < 0) badPageState(pfn, "mapcount underflow");
    if (v < OVERFLOW) {
      if (m === OVERFLOW) this.mapOverflow.delete(pfn);
      this.setMapField(pfn, v);
    } else {
      this.setMapField(pfn, OVERFLOW);
      this.mapOverflow.set(pfn, v);
    }
  }

  /** @internal add to a frame's refcount without freeing (page_ref_add). */
  addRef(pfn: number, delta: number): void {
    const r = this.refField(pfn);
    const v = (r === OVERFLOW ? (this.refOverflow.get(pfn) as number) : r) + delta;
    if (v <= 0) badPageState(pfn, "refcount underflow");
    if (v < OVERFLOW) {
      if (r === OVERFLOW) this.refOverflow.delete(pfn);
      this.setRefField(pfn, v);
    } else {
      this.setRefField(pfn, OVERFLOW);
      this.refOverflow.set(pfn, v);
    }
  }

  /** @internal compound_mapcount += delta for the compound page headed at `head`. */
  addCompoundMapcount(head: number, delta: number): void {
    const v = (this.compoundMapcount.get(head) ?? 0) + delta;
    if (v < 0) badPageState(head, "compound mapcount underflow");
    this.compoundMapcount.set(head, v);
  }

  /** compound_head(): the head pfn of the compound page a tail belongs to. */
  compoundHead(pfn: number, code: number = this.kindCodeOf(pfn)): number {
    if ((code & PG_TAIL) === 0) return pfn;
    const n = (code & PG_GIGANTIC) !== 0 ? 512 * 512 : 512;
    return pfn - (pfn % n);
  }

  /** Frames per kind; the values sum to totalFrames. */
  counts(): Record<FrameKind, number> {
    const c = this.kindCount;
    return {
      free: c[KIND_FREE] as number,
      anon: c[KIND_ANON] as number,
      file: c[KIND_FILE] as number,
      pagetable: c[KIND_PAGETABLE] as number,
      zero: c[KIND_ZERO] as number,
      shmem: c[KIND_SHMEM] as number,
    };
  }

  /** Check every invariant in the header comment. O(totalFrames): for tests on small memories. */
  validate(): void {
    const count = new Float64Array(NR_KINDS);
    const page = this.pageArr;
    for (let pfn = 0; pfn < this.totalFrames; pfn++) {
      const code = (page[pfn] as number) & PAGE_FLAGS;
      (count[code & KIND_MASK] as number) += 1;
      if (code === KIND_FREE && page[pfn] !== 0) {
        fail(
          `free pfn ${hex(pfn)} has refcount ${this.refField(pfn)} mapcount ${this.mapField(pfn)}`,
        );
      }
      if (pfn >= this.nextFresh && code !== KIND_FREE)
        fail(`pfn ${hex(pfn)} above nextFresh is in use`);
    }
    for (let k = 0; k < 5; k++) {
      if (count[k] !== this.kindCount[k]) {
        fail(`${KIND_NAMES[k]} frames: counted ${count[k]}, recorded ${this.kindCount[k]}`);
      }
    }
    if (count[KIND_FREE] !== this.nrFree) fail(`freeFrames ${this.nrFree} != ${count[KIND_FREE]}`);
    let inRuns = 0;
    const seen = new Set<number>();
    for (let t = 0; t < this.runCount; t++) {
      const st = this.runStart[t] as number;
      const len = this.runLen[t] as number;
      if (len <= 0 || st + len > this.nextFresh) fail(`bad free run [${st}, +${len})`);
      for (let p = st; p < st + len; p++) {
        if (page[p] !== 0) fail(`pfn ${hex(p)} in a free run is in use`);
        if (seen.has(p)) fail(`pfn ${hex(p)} is in two free runs`);
        seen.add(p);
      }
      inRuns += len;
    }
    if (inRuns + this.totalFrames - this.nextFresh !== this.nrFree) {
      fail(
        `free runs (${inRuns}) + bump region (${this.totalFrames - this.nextFresh}) != freeFrames ${this.nrFree}`,
      );
    }
  }

  private checkPfn(pfn: number, what: string): number {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.totalFrames) {
      throw new RangeError(
        `@mmlab/page-table: ${what}: bad pfn ${pfn} (totalFrames ${this.totalFrames})`,
      );
    }
    return this.kindCodeOf(pfn);
  }

  /** @internal kind code (with compound flags) of a frame */
  kindCodeOf(pfn: number): number {
    return (this.pageArr[pfn] as number) & PAGE_FLAGS;
  }

  private refField(pfn: number): number {
    return ((this.pageArr[pfn] as number) >>> REF_SHIFT) & OVERFLOW;
  }

  private setRefField(pfn: number, r: number): void {
    const w = this.pageArr[pfn] as number;
    this.pageArr[pfn] = (w & ~(OVERFLOW << REF_SHIFT)) | (r << REF_SHIFT);
  }

  private mapField(pfn: number): number {
    return (this.pageArr[pfn] as number) >>> MAP_SHIFT;
  }

  private setMapField(pfn: number, m: number): void {
    const w = this.pageArr[pfn] as number;
    this.pageArr[pfn] = (w & ~(OVERFLOW << MAP_SHIFT)) | (m << MAP_SHIFT);
  }
}

function badPageState(pfn: number, why: string): never {
  throw new Error(`@mmlab/page-table: BUG: Bad page state: pfn ${hex(pfn)} ${why}`);
}

function fail(msg: string): never {
  throw new Error(`@mmlab/page-table: PhysMem.validate: ${msg}`);
}

/** @internal */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
