/**
 * DOC: x86_64 paging constants — arch/x86/include/asm/{page_types.h, pgtable_64_types.h,
 * pgtable_types.h} and include/asm-generic/tlb.h, v4.19.
 *
 *   level  shift  entries  one entry maps   index of a byte address a
 *   PTE     12     512        4 KiB          (a >> 12) & 511
 *   PMD     21     512        2 MiB          (a >> 21) & 511
 *   PUD     30     512        1 GiB          (a >> 30) & 511
 *   P4D     39     1 | 512  512 GiB          folded into the PGD when 4-level
 *   PGD   39 | 48  512      512 GiB | 256 TiB
 *
 * Sizes are exported as JS numbers (exact: all are powers of two below 2^57). The entry bits
 * are exported as 64-bit `bigint`s for printing and tests; the hot paths never use bigint:
 * they work on the two uint32 halves of an entry (see `entry.ts`).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PTRS_PER_PTE = 512;
export const PTRS_PER_PMD = 512;
export const PTRS_PER_PUD = 512;
export const PTRS_PER_P4D = 512; // LA57; 1 (folded) with 4 levels
export const PTRS_PER_PGD = 512;
export const PMD_SHIFT = 21;
export const PMD_SIZE = 2 ** PMD_SHIFT;
export const PUD_SHIFT = 30;
export const PUD_SIZE = 2 ** PUD_SHIFT;
export const P4D_SHIFT = 39;
export const P4D_SIZE = 2 ** P4D_SHIFT;
export const PGDIR_SHIFT_4 = 39;
export const PGDIR_SHIFT_5 = 48;
export const PGDIR_SIZE_4 = 2 ** PGDIR_SHIFT_4;
export const PGDIR_SIZE_5 = 2 ** PGDIR_SHIFT_5;
/** HPAGE_PMD_NR: base pages in a 2 MiB transparent huge page. */
export const HPAGE_PMD_NR = 512;
/** HPAGE_PUD_NR: base pages in a 1 GiB leaf. */
export const HPAGE_PUD_NR = 512 * 512;
/** __VIRTUAL_MASK_SHIFT: 47 with 4 levels, 56 with LA57. */
export const VIRTUAL_MASK_SHIFT_4 = 47;
export const VIRTUAL_MASK_SHIFT_5 = 56;
/** TASK_SIZE_MAX = (1 << __VIRTUAL_MASK_SHIFT) - PAGE_SIZE: the top page is never mapped. */
export const TASK_SIZE_MAX_4 = 2 ** VIRTUAL_MASK_SHIFT_4 - PAGE_SIZE;
export const TASK_SIZE_MAX_5 = 2 ** VIRTUAL_MASK_SHIFT_5 - PAGE_SIZE;
/** FIRST_USER_ADDRESS and USER_PGTABLES_CEILING (0 = the top) on x86. */
export const FIRST_USER_ADDRESS = 0;
export const USER_PGTABLES_CEILING = 0;

// include/asm-generic/tlb.h (x86_64): the on-stack bundle, then page-sized batches.
/** MMU_GATHER_BUNDLE: page pointers in the on-stack batch of struct mmu_gather. */
export const MMU_GATHER_BUNDLE = 8;
/** MAX_GATHER_BATCH = (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(void *). */
export const MAX_GATHER_BATCH = (PAGE_SIZE - 16) / 8;
/** MAX_GATHER_BATCH_COUNT = 10000UL / MAX_GATHER_BATCH (integer division): 19. */
export const MAX_GATHER_BATCH_COUNT = Math.floor(10000 / MAX_GATHER_BATCH);
/** Pages queued before __tlb_remove_page() reports "full": 8 + 19 * 510 = 9,698. */
export const MAX_GATHER_PAGES = MMU_GATHER_BUNDLE + MAX_GATHER_BATCH_COUNT * MAX_GATHER_BATCH;
/** MAX_TABLE_BATCH = (PAGE_SIZE - sizeof(struct mmu_table_batch)) / sizeof(void *): 509. */
export const MAX_TABLE_BATCH = (PAGE_SIZE - 24) / 8;

// arch/x86/include/asm/pgtable_types.h: entry bits, as 64-bit values.
export const _PAGE_PRESENT = 1n << 0n;
export const _PAGE_RW = 1n << 1n;
export const _PAGE_USER = 1n << 2n;
export const _PAGE_PWT = 1n << 3n;
export const _PAGE_PCD = 1n << 4n;
export const _PAGE_ACCESSED = 1n << 5n;
export const _PAGE_DIRTY = 1n << 6n;
/** Bit 7: PSE (a huge leaf) in a PMD/PUD entry, PAT in a 4 KiB PTE. */
export const _PAGE_PSE = 1n << 7n;
export const _PAGE_PAT = 1n << 7n;
export const _PAGE_GLOBAL = 1n << 8n;
/** _PAGE_SOFTW1: special mapping without a struct page (zero page, PFNMAP). */
export const _PAGE_SPECIAL = 1n << 9n;
export const _PAGE_SOFT_DIRTY = 1n << 11n;
/** PAT bit of huge leaves (bit 12, inside the pfn field of a 4 KiB entry). */
export const _PAGE_PAT_LARGE = 1n << 12n;
export const _PAGE_DEVMAP = 1n << 58n;
export const _PAGE_NX = 1n << 63n;
/** PRESENT|RW|USER|ACCESSED|DIRTY: what a user page-table link carries. */
export const _PAGE_TABLE = 0x67n;
/** PRESENT|RW|ACCESSED|DIRTY: kernel page-table links. */
export const _KERNPG_TABLE = 0x63n;
/** PTE_PFN_MASK = PHYSICAL_PAGE_MASK: bits 12-51. */
export const PTE_PFN_MASK = 0x000ffffffffff000n;
export const PTE_FLAGS_MASK = ~PTE_PFN_MASK & 0xffffffffffffffffn;
