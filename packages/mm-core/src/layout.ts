/**
 * The x86_64 user address-space layout (arch/x86/include/asm/processor.h,
 * page_64_types.h, arch/x86/mm/mmap.c — v4.19).
 *
 * Addresses are JS numbers. Page-aligned addresses are exact as float64 up to 2^65, so the
 * 56-bit user space of 5-level paging is exact; arithmetic on unaligned values above 2^53 is
 * not, which is why every entry point checks page alignment before doing arithmetic.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PMD_SIZE = 2 * 1024 * 1024;
export const PUD_SIZE = 1024 * 1024 * 1024;

/** include/linux/mm.h: DEFAULT_MAX_MAP_COUNT = USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN. */
export const DEFAULT_MAX_MAP_COUNT = 65530;
/** mm/mmap.c: stack_guard_gap = 256 pages. */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;
/** CONFIG_DEFAULT_MMAP_MIN_ADDR of Debian's config. */
export const MMAP_MIN_ADDR = 65536;
/** arch/x86/include/asm/pgtable_types.h: FIRST_USER_ADDRESS. */
export const FIRST_USER_ADDRESS = 0;
/** include/asm-generic/pgtable.h: USER_PGTABLES_CEILING (0 = top of the address space). */
export const USER_PGTABLES_CEILING = 0;

/** TASK_SIZE_MAX for 4-level (47-bit) and 5-level (56-bit) paging: the top page is excluded. */
export function taskSizeMax(levels: 4 | 5): number {
  return (levels === 5 ? 2 ** 56 : 2 ** 47) - PAGE_SIZE;
}

/** DEFAULT_MAP_WINDOW: mmap stays below 47 bits unless a hint asks for more (also with LA57). */
export const DEFAULT_MAP_WINDOW = 2 ** 47 - PAGE_SIZE;

export function pageAligned(addr: number): boolean {
  return addr % PAGE_SIZE === 0;
}

/** PAGE_ALIGN(): round up to a page boundary. */
export function pageAlign(len: number): number {
  return Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
}

export interface Rlimits {
  /** RLIMIT_STACK soft limit, bytes. */
  stack: number;
  /** RLIMIT_MEMLOCK, bytes. */
  memlock: number;
  /** RLIMIT_AS, bytes (Infinity = RLIM_INFINITY). */
  as: number;
  /** RLIMIT_DATA, bytes. */
  data: number;
}

/** The defaults of a Debian shell: 8 MiB stack, 64 KiB memlock (v4.19 MLOCK_LIMIT), no AS/DATA limit. */
export const DEFAULT_RLIMITS: Rlimits = Object.freeze({
  stack: 8 * 1024 * 1024,
  memlock: 64 * 1024,
  as: Number.POSITIVE_INFINITY,
  data: Number.POSITIVE_INFINITY,
});

/** arch/x86/mm/mmap.c: mmap_base() without randomisation (rnd = 0) — v4.19. */
export function mmapBase(rlimStack: number, taskSize: number = DEFAULT_MAP_WINDOW): number {
  const MIN_GAP = 128 * 1024 * 1024;
  const MAX_GAP = Math.floor(taskSize / 6) * 5;
  // pad = stack_maxrandom_size (0 without PF_RANDOMIZE) + stack_guard_gap
  let gap = rlimStack + STACK_GUARD_GAP;
  if (gap < MIN_GAP) gap = MIN_GAP;
  else if (gap > MAX_GAP) gap = MAX_GAP;
  return pageAlign(taskSize - gap);
}
