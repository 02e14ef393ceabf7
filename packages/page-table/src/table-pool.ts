/**
 * DOC: pooled storage of page-table pages.
 *
 * A page-table page is a frame from PhysMem (kind "pagetable") plus a slot in a pool, named by
 * a small integer id. Its 512 entries live in slabs: one Uint32Array per 256 tables, two words
 * (lo, hi) per entry, so 8 bytes per entry and no JS object per entry or per table.
 *
 *   id ──► slab = slabs[id >>> 8]      words [(id & 255) << 10, +1024): entry i at +2i, +2i+1
 *          child = childSlabs[id >>> 8] word  ((id & 255) << 9) + i   (directory pools only)
 *
 * An entry that links a lower table stores that table's *frame* in its pfn field, exactly as
 * the hardware sees it; the directory pools also keep the child's pool id beside each entry
 * (`child`), which is how a walk goes down without a pfn -> table map. PTE tables (the
 * leaves, 99.8% of all tables) have no child words.
 *
 * Per-id metadata lives in typed arrays: frame, level, entries in use, first page number
 * covered, live flag, generation and who freed it. Freeing an id bumps its generation, which
 * poisons every reference taken before (see PageTable.tableRef); ids are recycled LIFO. Id 0
 * is never handed out, so a child word of 0 means "no table".
 *
 * Invariant: a free id's entries and child words are all zero (tables are only freed empty),
 * so a recycled id starts out as a zeroed page, as pte_alloc_one()'s __GFP_ZERO page does.
 *
 * Slabs come from a SlabCache when the pool has one (slab-cache.ts), and drain() gives them
 * back zeroed: only the live tables' words need clearing, by the invariant above.
 */

import type { SlabCache } from "./slab-cache.js";

export const SLAB_SHIFT = 8;
export const SLAB_TABLES = 1 << SLAB_SHIFT;
export const SLAB_MASK = SLAB_TABLES - 1;
/** Words per table: 512 entries x (lo, hi). */
export const TABLE_WORDS = 1024;
/** ids must fit in 26 bits (see PageTable.tableRef). */
export const MAX_TABLE_ID = 2 ** 26 - 1;

export const LEVEL_PTE = 1;
export const LEVEL_PMD = 2;
export const LEVEL_PUD = 3;
export const LEVEL_P4D = 4;
export const LEVEL_PGD = 5;

export class TablePool {
  readonly withChildren: boolean;
  /** entry words, 1024 per table */
  readonly slabs: Uint32Array[];
  /** child ids, 512 per table (directory pools) */
  readonly childSlabs: Uint32Array[];
  pfn: Uint32Array;
  gen: Uint32Array;
  used: Uint16Array;
  level: Uint8Array;
  live: Uint8Array;
  basePn: Float64Array;
  freedBy: Int32Array;
  /** ids handed out so far (the next fresh id) */
  nextId: number;
  private freeIds: Int32Array;
  private nrFreeIds: number;
  /** tables currently allocated */
  liveCount: number;
  private readonly cache: SlabCache | null;
  private drained = false;

  constructor(withChildren: boolean, cache: SlabCache | null = null) {
    this.withChildren = withChildren;
    this.cache = cache;
    this.slabs = [];
    this.childSlabs = [];
    const cap = 256;
    this.pfn = new Uint32Array(cap);
    this.gen = new Uint32Array(cap);
    this.used = new Uint16Array(cap);
    this.level = new Uint8Array(cap);
    this.live = new Uint8Array(cap);
    this.basePn = new Float64Array(cap);
    this.freedBy = new Int32Array(cap).fill(-1);
    this.nextId = 1;
    this.freeIds = new Int32Array(64);
    this.nrFreeIds = 0;
    this.liveCount = 0;
  }

  /** A zeroed table for `level` in frame `pfn`, covering pages from `basePn`. */
  alloc(level: number, pfn: number, basePn: number): number {
    if (this.drained) throw new Error("@mmlab/page-table: table allocated after dispose()");
    let id: number;
    if (this.nrFreeIds > 0) id = this.freeIds[--this.nrFreeIds] as number;
    else {
      id = this.nextId++;
      if (id > MAX_TABLE_ID) throw new RangeError("@mmlab/page-table: more than 2^26 page tables");
      if (id >= this.pfn.length) this.growMeta();
      if (id >>> SLAB_SHIFT >= this.slabs.length) this.addSlab(id >>> SLAB_SHIFT);
    }
    this.pfn[id] = pfn;
    this.level[id] = level;
    this.used[id] = 0;
    this.live[id] = 1;
    this.basePn[id] = basePn;
    this.liveCount++;
    return id;
  }

  /** Poison and recycle a table (which must be empty). */
  free(id: number, label: number): void {
    this.live[id] = 0;
    this.gen[id] = ((this.gen[id] as number) + 1) & 0xfffff;
    this.freedBy[id] = label;
    if (this.nrFreeIds === this.freeIds.length) {
      const grown = new Int32Array(this.freeIds.length * 2);
      grown.set(this.freeIds);
      this.freeIds = grown;
    }
    this.freeIds[this.nrFreeIds++] = id;
    this.liveCount--;
  }

  slab(id: number): Uint32Array {
    return this.slabs[id >>> SLAB_SHIFT] as Uint32Array;
  }

  lo(id: number, i: number): number {
    return (this.slabs[id >>> SLAB_SHIFT] as Uint32Array)[
      ((id & SLAB_MASK) << 10) + (i << 1)
    ] as number;
  }

  hi(id: number, i: number): number {
    return (this.slabs[id >>> SLAB_SHIFT] as Uint32Array)[
      ((id & SLAB_MASK) << 10) + (i << 1) + 1
    ] as number;
  }

  child(id: number, i: number): number {
    return (this.childSlabs[id >>> SLAB_SHIFT] as Uint32Array)[
      ((id & SLAB_MASK) << 9) + i
    ] as number;
  }

  /** Store an entry into a none slot (counts it in `used`). */
  setEntry(id: number, i: number, lo: number, hi: number, child: number): void {
    const slab = this.slabs[id >>> SLAB_SHIFT] as Uint32Array;
    const o = ((id & SLAB_MASK) << 10) + (i << 1);
    slab[o] = lo;
    slab[o + 1] = hi;
    if (this.withChildren)
      (this.childSlabs[id >>> SLAB_SHIFT] as Uint32Array)[((id & SLAB_MASK) << 9) + i] = child;
    (this.used[id] as number) += 1;
  }

  /** Overwrite a present entry in place (used stays). */
  replaceEntry(id: number, i: number, lo: number, hi: number, child: number): void {
    const slab = this.slabs[id >>> SLAB_SHIFT] as Uint32Array;
    const o = ((id & SLAB_MASK) << 10) + (i << 1);
    slab[o] = lo;
    slab[o + 1] = hi;
    if (this.withChildren)
      (this.childSlabs[id >>> SLAB_SHIFT] as Uint32Array)[((id & SLAB_MASK) << 9) + i] = child;
  }

  /** pXd_clear(): make a present entry none. */
  clearEntry(id: number, i: number): void {
    const slab = this.slabs[id >>> SLAB_SHIFT] as Uint32Array;
    const o = ((id & SLAB_MASK) << 10) + (i << 1);
    slab[o] = 0;
    slab[o + 1] = 0;
    if (this.withChildren)
      (this.childSlabs[id >>> SLAB_SHIFT] as Uint32Array)[((id & SLAB_MASK) << 9) + i] = 0;
    (this.used[id] as number) -= 1;
  }

  /** Bytes held by slabs and metadata (for benchmarks). */
  bytes(): number {
    const perSlab = SLAB_TABLES * TABLE_WORDS * 4 + (this.withChildren ? SLAB_TABLES * 512 * 4 : 0);
    return this.slabs.length * perSlab + this.pfn.length * 28;
  }

  /**
   * Zeroes the live tables' words and gives every slab back to the cache (if any); the pool
   * holds no table afterwards and must not be used again.
   */
  drain(): void {
    for (let id = 1; id < this.nextId; id++) {
      if (this.live[id] !== 1) continue;
      const s = id >>> SLAB_SHIFT;
      (this.slabs[s] as Uint32Array).fill(0, (id & SLAB_MASK) << 10, ((id & SLAB_MASK) + 1) << 10);
      if (this.withChildren)
        (this.childSlabs[s] as Uint32Array).fill(
          0,
          (id & SLAB_MASK) << 9,
          ((id & SLAB_MASK) + 1) << 9,
        );
      this.live[id] = 0;
    }
    const cache = this.cache;
    if (cache !== null) {
      for (const slab of this.slabs) cache.giveEntrySlab(slab);
      for (const slab of this.childSlabs) cache.giveChildSlab(slab);
    }
    this.slabs.length = 0;
    this.childSlabs.length = 0;
    this.liveCount = 0;
    this.drained = true;
  }

  private addSlab(s: number): void {
    const cache = this.cache;
    while (this.slabs.length <= s) {
      this.slabs.push(cache?.takeEntrySlab() ?? new Uint32Array(SLAB_TABLES * TABLE_WORDS));
      if (this.withChildren)
        this.childSlabs.push(cache?.takeChildSlab() ?? new Uint32Array(SLAB_TABLES * 512));
    }
  }

  private growMeta(): void {
    const cap = this.pfn.length * 2;
    this.pfn = grow(this.pfn, new Uint32Array(cap));
    this.gen = grow(this.gen, new Uint32Array(cap));
    this.used = grow(this.used, new Uint16Array(cap));
    this.level = grow(this.level, new Uint8Array(cap));
    this.live = grow(this.live, new Uint8Array(cap));
    this.basePn = grow(this.basePn, new Float64Array(cap));
    const freedBy = new Int32Array(cap).fill(-1);
    freedBy.set(this.freedBy);
    this.freedBy = freedBy;
  }
}

function grow<T extends Uint32Array | Uint16Array | Uint8Array | Float64Array>(from: T, to: T): T {
  to.set(from as ArrayLike<number>);
  return to;
}
