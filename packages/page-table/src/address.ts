/**
 * DOC: addresses as page numbers.
 *
 * User addresses go up to 2^47 (4 levels) or 2^56 (LA57). Beyond 2^53 a JS number cannot
 * hold every integer, and `>>`/`&` only see 32 bits, so internally this package works on
 * page numbers (pn = addr / 4096): a page number is below 2^44 and exact, and every
 * page-aligned address below 2^56 is itself an exact double (it is pn * 2^12). Divisions by
 * powers of two are exact, so `Math.floor(pn / 512)` is as good as a shift.
 *
 * The kernel's unsigned-long arithmetic (where 0 - 1 wraps to the top, and where "end 0" and
 * "ceiling 0" mean the top of the address space) is reproduced on page numbers modulo
 * TOP_PN = 2^52 (= 2^64 / 4096): `minus1(0) === TOP_PN - 1`.
 */

/** 2^64 bytes in pages: page numbers live modulo this, as unsigned long addresses do. */
export const TOP_PN = 2 ** 52;
export const PTE_SPAN = 1; // pages mapped by one PTE
export const PMD_SPAN = 512; // pages mapped by one PMD entry (2 MiB)
export const PUD_SPAN = 512 * 512; // 1 GiB
export const P4D_SPAN = 512 * 512 * 512; // 512 GiB
export const PGDIR_SPAN_4 = P4D_SPAN;
export const PGDIR_SPAN_5 = 512 * P4D_SPAN; // 256 TiB

/** x - 1 in unsigned arithmetic: 0 (the top) becomes the highest page number. */
export function minus1(pn: number): number {
  return pn === 0 ? TOP_PN - 1 : pn - 1;
}

/**
 * include/asm-generic/pgtable.h: pgd_addr_end()/p4d_addr_end()/pud_addr_end()/pmd_addr_end()
 * — v4.19, on page numbers: the next `span` boundary after pn, or end if that comes first.
 * Uses the "- 1" comparison so that end 0 means the top.
 */
export function spanAddrEnd(pn: number, end: number, span: number): number {
  let boundary = (Math.floor(pn / span) + 1) * span;
  if (boundary >= TOP_PN) boundary -= TOP_PN;
  return minus1(boundary) < minus1(end) ? boundary : end;
}

/**
 * Index of pn's entry in a table whose entries each map `span` pages. Written without `%`:
 * page numbers pass 2^31, where `%` on doubles becomes a call to fmod().
 */
export function spanIndex(pn: number, span: number): number {
  const q = Math.floor(pn / span);
  return q - Math.floor(q / 512) * 512;
}

/** pn rounded down to a multiple of span (addr & MASK). */
export function spanFloor(pn: number, span: number): number {
  return Math.floor(pn / span) * span;
}

/** Index of pn's PTE in its PTE table (pte_index). */
export function pteIndex(pn: number): number {
  return pn - Math.floor(pn / 512) * 512;
}

/** Hex of a page number's byte address, e.g. "0x7f0000200000" (exact up to 2^64). */
export function pnHex(pn: number): string {
  // pn * 4096 may exceed 2^53 only for pn >= 2^41; the hex of pn followed by "000" is exact.
  return `0x${pn === 0 ? "0" : `${pn.toString(16)}000`}`;
}

/** Same, zero-padded to 16 hex digits like printk's "0x%016lx". */
export function pnHex16(pn: number): string {
  return `0x${(`${pn.toString(16)}000`).padStart(16, "0")}`;
}
