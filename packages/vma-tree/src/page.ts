/**
 * Page geometry (arch/x86/include/asm/page_types.h — v4.19) and exact page arithmetic.
 *
 * Byte addresses are JS numbers. A multiple of 4096 below 2^65 has at most 53 significant
 * bits, so page-aligned addresses are exact even for 5-level (56-bit) user space, but
 * `end - 1` or `>>`/`&` are not. The trees therefore key on PAGE INDICES (addr / 4096, below
 * 2^44) and every bit operation on a wide number goes through {@link and53}.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** Largest index a maple tree can hold; stands for ULONG_MAX. */
export const MAPLE_MAX = Number.MAX_SAFE_INTEGER;

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;
const TWO_64 = 2 ** 64;

/** Virtual page index of an address: floor(addr / PAGE_SIZE), exact (no 32-bit shift). */
export function pageIndexOf(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}

/**
 * The page index of a query address (find_vma() and friends take an unsigned long): a
 * TypeError for a non-number, a RangeError for NaN, ±Infinity, a fraction, a negative value or
 * one above 2^64, which no C caller could pass. Both trees check their queries here.
 */
export function queryPageOf(addr: unknown, where: string): number {
  if (typeof addr !== "number") {
    throw new TypeError(`@mmlab/vma-tree: ${where}: address must be a number, got ${typeof addr}`);
  }
  if (!Number.isInteger(addr) || addr < 0 || addr > TWO_64) {
    throw new RangeError(
      `@mmlab/vma-tree: ${where}: address ${addr} is not an integer in [0, 2^64]`,
    );
  }
  return Math.floor(addr / PAGE_SIZE);
}

/** A vm_unmapped_area_info field in pages; RangeError unless it is a non-negative page multiple. */
export function infoPages(bytes: number, field: string): number {
  if (!isPageAligned(bytes)) {
    throw new RangeError(
      `@mmlab/vma-tree: vm_unmapped_area_info.${field} ${bytes} is not a non-negative page multiple`,
    );
  }
  return bytes / PAGE_SIZE;
}

/** True for a non-negative integer multiple of PAGE_SIZE. */
export function isPageAligned(addr: number): boolean {
  return Number.isInteger(addr) && addr >= 0 && addr % PAGE_SIZE === 0;
}

/**
 * `a & m` for integers in (-2^53, 2^53) and 0 <= m < 2^53, with `a` taken modulo 2^64 as the
 * kernel's unsigned long would be (2^53 divides 2^64, so reducing a negative `a` modulo 2^53
 * first gives the same low 53 bits).
 */
export function and53(a: number, m: number): number {
  let x = a;
  if (x < 0) x += TWO_53;
  const xHi = Math.floor(x / TWO_32);
  const mHi = Math.floor(m / TWO_32);
  const lo = ((x % TWO_32) & (m % TWO_32)) >>> 0;
  const hi = (xHi & mHi) >>> 0;
  return hi * TWO_32 + lo;
}
