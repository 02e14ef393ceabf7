/**
 * DOC: a cache of zeroed table slabs that outlives one PageTable.
 *
 * A TablePool keeps its tables' entries in slabs (table-pool.ts): one Uint32Array of 256
 * tables x 1024 words (1 MiB), plus a 512 KiB child slab for directory pools. A fresh slab
 * is zero-filled memory that the operating system commits page by page on first touch: at
 * 320 GiB mapped, 640 MiB of PTE slabs cost about 164,000 first-touch faults of the Node
 * process. A PageTable given a SlabCache takes its slabs from the cache, and
 * PageTable.dispose() gives them back zeroed, so the next address space built with the same
 * cache (the next run of an experiment) writes into memory that is already resident.
 *
 * This is host-side storage, not a kernel structure: the simulated page-table pages are
 * still PhysMem frames of kind "pagetable", allocated and freed as before; only where their
 * 512 entries live in the Node process changes. The cache returns slabs last-in first-out.
 *
 * Invariant: every slab in the cache is all zero.
 */

import { SLAB_TABLES, TABLE_WORDS } from "./table-pool.js";

/** Words of an entry slab (256 tables x 512 entries x lo, hi). */
export const ENTRY_SLAB_WORDS = SLAB_TABLES * TABLE_WORDS;
/** Words of a child slab (256 tables x 512 child ids). */
export const CHILD_SLAB_WORDS = SLAB_TABLES * 512;

/** Slabs carved from one allocation: 64 MiB of entry slabs, 32 MiB of child slabs (above glibc's largest mmap threshold, so always fresh zero pages from mmap). */
const SLABS_PER_CHUNK = 64;

export class SlabCache {
  private readonly entrySlabs: Uint32Array[] = [];
  private readonly childSlabs: Uint32Array[] = [];

  /** Entry and child slabs held (for benchmarks and tests). */
  get size(): { entrySlabs: number; childSlabs: number; bytes: number } {
    return {
      entrySlabs: this.entrySlabs.length,
      childSlabs: this.childSlabs.length,
      bytes:
        this.entrySlabs.length * ENTRY_SLAB_WORDS * 4 +
        this.childSlabs.length * CHILD_SLAB_WORDS * 4,
    };
  }

  /** @internal a zeroed entry slab: a cached one, else one of a new chunk */
  takeEntrySlab(): Uint32Array {
    if (this.entrySlabs.length === 0) carve(this.entrySlabs, ENTRY_SLAB_WORDS);
    return this.entrySlabs.pop() as Uint32Array;
  }

  /** @internal a zeroed child slab: a cached one, else one of a new chunk */
  takeChildSlab(): Uint32Array {
    if (this.childSlabs.length === 0) carve(this.childSlabs, CHILD_SLAB_WORDS);
    return this.childSlabs.pop() as Uint32Array;
  }

  /** @internal give back an entry slab, which must be all zero */
  giveEntrySlab(slab: Uint32Array): void {
    if (slab.length !== ENTRY_SLAB_WORDS)
      throw new RangeError("@mmlab/page-table: not an entry slab");
    this.entrySlabs.push(slab);
  }

  /** @internal give back a child slab, which must be all zero */
  giveChildSlab(slab: Uint32Array): void {
    if (slab.length !== CHILD_SLAB_WORDS)
      throw new RangeError("@mmlab/page-table: not a child slab");
    this.childSlabs.push(slab);
  }

  /** Drops every cached slab (the memory goes back to the garbage collector). */
  clear(): void {
    this.entrySlabs.length = 0;
    this.childSlabs.length = 0;
  }
}

/**
 * Puts SLABS_PER_CHUNK slabs of one new allocation on `list`, lowest address last (taken
 * first). One large allocation instead of many 1 MiB ones: fewer mmap calls, and memory
 * the kernel can back with transparent huge pages where the process asks glibc for them
 * (apps/bench's GLIBC_TUNABLES=glibc.malloc.hugetlb=1). The OS commits a chunk's pages
 * only as slabs are written.
 */
function carve(list: Uint32Array[], words: number): void {
  const buf = new ArrayBuffer(SLABS_PER_CHUNK * words * 4);
  for (let i = SLABS_PER_CHUNK - 1; i >= 0; i--)
    list.push(new Uint32Array(buf, i * words * 4, words));
}
