/**
 * DOC: one 64-bit entry as two uint32 halves.
 *
 *   63  62..59  58      57..52   51 ............ 32 | 31 ........... 12  11..9  8   7   6 5 4   3   2   1  0
 *   NX  PKEY    DEVMAP  (sw)     pfn[39..20]  (hi) | pfn[19..0]   (lo)  SW     G  PSE D A PCD PWT U  RW P
 *
 * `lo` holds bits 0-31, `hi` bits 32-63. PhysMem keeps pfns below 2^31 (8 TiB of RAM), so a
 * pfn is the int32 `(lo >>> 12) | ((hi & 0xfffff) << 20)`; it is stored with
 * `(pfn << 12) | flags` (the `<<` keeps exactly pfn bits 0-19) and `(pfn >>> 20) | flagsHi`.
 * Every entry this package stores has PRESENT set, so `lo === 0` means pte_none.
 */

export const LO_PRESENT = 0x1;
export const LO_RW = 0x2;
export const LO_USER = 0x4;
export const LO_PWT = 0x8;
export const LO_PCD = 0x10;
export const LO_ACCESSED = 0x20;
export const LO_DIRTY = 0x40;
export const LO_PSE = 0x80;
export const LO_GLOBAL = 0x100;
export const LO_SPECIAL = 0x200;
/** _PAGE_PROTNONE: bit 8 (GLOBAL) reused on non-present PROT_NONE entries, which pte_present() still counts. */
export const LO_PROTNONE = 0x100;
export const LO_PAT_LARGE = 0x1000;
/** _PAGE_TABLE: the flags of a link to a lower table. */
export const LO_TABLE = 0x67;
/** Low 12 flag bits. */
export const LO_FLAGS = 0xfff;
export const HI_NX = 0x80000000;
export const HI_PFN = 0xfffff;
export const TWO_20 = 1048576;

/** Protection of a leaf, as the caller sees it. */
export interface PteProt {
  write: boolean;
  exec: boolean;
  /** default true (user mapping) */
  user?: boolean;
  /** default false */
  dirty?: boolean;
  /** default true (the fault that installs an entry sets it) */
  accessed?: boolean;
}

/** Low half of the flags of a leaf with protection `prot` (PRESENT always set). */
export function protLo(prot: PteProt): number {
  let lo = LO_PRESENT;
  if (prot.write) lo |= LO_RW;
  if (prot.user !== false) lo |= LO_USER;
  if (prot.accessed !== false) lo |= LO_ACCESSED;
  if (prot.dirty === true) lo |= LO_DIRTY;
  return lo;
}

/** High half of the flags of a leaf with protection `prot`: NX unless executable. */
export function protHi(prot: PteProt): number {
  return prot.exec ? 0 : HI_NX;
}

/** pfn stored in an entry (bits 12-51). */
export function entryPfn(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & HI_PFN) * TWO_20;
}

/** The raw 64-bit value of an entry (slow path: printing and tests). */
export function entryValue(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
