/**
 * struct vm_area_struct and the VM_* flag bits (include/linux/mm.h, include/linux/mm_types.h
 * — v4.19, x86_64).
 *
 * A Vma covers the byte range [vmStart, vmEnd), both page aligned. vmPgoff is the offset of
 * vmStart in the backing object in PAGES (for private anonymous memory do_mmap sets it to
 * vmStart >> PAGE_SHIFT, so adjacent anonymous VMAs are pgoff-contiguous).
 *
 * Flags are kept as non-negative numbers below 2^32. VM_MERGEABLE is 2^31, so `a | b` would
 * turn negative when it is involved: combine and test flags with the vmFlags* helpers below,
 * which normalise with `>>> 0`. VM_GROWSUP is 0 on x86 (it is VM_ARCH_1 only on parisc/ia64).
 *
 * The identity of anonVma, vmFile, vmUserfaultfdCtx and vmPolicy objects is what merging
 * compares (pointer equality in the kernel; mpol_equal is modelled as identity too).
 */
import { PAGE_SIZE } from "./page.js";

export const VM_NONE = 0x00000000;
export const VM_READ = 0x00000001;
export const VM_WRITE = 0x00000002;
export const VM_EXEC = 0x00000004;
export const VM_SHARED = 0x00000008;
export const VM_MAYREAD = 0x00000010;
export const VM_MAYWRITE = 0x00000020;
export const VM_MAYEXEC = 0x00000040;
export const VM_MAYSHARE = 0x00000080;
export const VM_GROWSDOWN = 0x00000100;
export const VM_UFFD_MISSING = 0x00000200;
export const VM_PFNMAP = 0x00000400;
export const VM_DENYWRITE = 0x00000800;
export const VM_UFFD_WP = 0x00001000;
export const VM_LOCKED = 0x00002000;
export const VM_IO = 0x00004000;
export const VM_SEQ_READ = 0x00008000;
export const VM_RAND_READ = 0x00010000;
export const VM_DONTCOPY = 0x00020000;
export const VM_DONTEXPAND = 0x00040000;
export const VM_LOCKONFAULT = 0x00080000;
export const VM_ACCOUNT = 0x00100000;
export const VM_NORESERVE = 0x00200000;
export const VM_HUGETLB = 0x00400000;
export const VM_SYNC = 0x00800000;
export const VM_ARCH_1 = 0x01000000;
export const VM_WIPEONFORK = 0x02000000;
export const VM_DONTDUMP = 0x04000000;
/** 0 without CONFIG_MEM_SOFT_DIRTY; Debian's x86_64 4.19 config enables it. */
export const VM_SOFTDIRTY = 0x08000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
/** 2^31: never combine it with `|` without `>>> 0`; use {@link vmFlagsSet}. */
export const VM_MERGEABLE = 0x80000000;
/** Stack grows down on x86, so VM_GROWSUP is 0 and never set. */
export const VM_GROWSUP = 0;
export const VM_STACK = VM_GROWSDOWN;
/** Mappings that must never be merged or expanded (mm.h VM_SPECIAL). */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
export const VM_LOCKED_CLEAR_MASK = 0xffffffff - (VM_LOCKED | VM_LOCKONFAULT);

/** stack_guard_gap (mm/mmap.c — v4.19): 256 pages, settable by the stack_guard_gap= boot option. */
export const DEFAULT_STACK_GUARD_GAP = 256 * PAGE_SIZE;
/** DEFAULT_MAX_MAP_COUNT (include/linux/mm.h — v4.19): USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN. */
export const DEFAULT_MAX_MAP_COUNT = 65530;

const FLAGS_LIMIT = 4294967296; // flags live in 32 bits (VM_HIGH_ARCH_* pkeys are not modelled)

/** True if any bit of `mask` is set in `flags` (works with VM_MERGEABLE = 2^31). */
export function vmFlagsHas(flags: number, mask: number): boolean {
  return (flags & mask) !== 0;
}

/** True if every bit of `mask` is set in `flags`. */
export function vmFlagsHasAll(flags: number, mask: number): boolean {
  return (flags & mask) >>> 0 === mask >>> 0;
}

/** flags | mask, kept non-negative. */
export function vmFlagsSet(flags: number, mask: number): number {
  return (flags | mask) >>> 0;
}

/** flags & ~mask, kept non-negative. */
export function vmFlagsClear(flags: number, mask: number): number {
  return (flags & ~mask) >>> 0;
}

/** OR of any number of flag bits, kept non-negative: vmFlagsOf(VM_READ, VM_MERGEABLE). */
export function vmFlagsOf(...bits: number[]): number {
  let f = 0;
  for (let i = 0; i < bits.length; i++) f |= bits[i] ?? 0;
  return f >>> 0;
}

/** (a ^ b) & ~ignore, non-negative: the bits in which two flag words differ. */
export function vmFlagsDiff(a: number, b: number, ignore = 0): number {
  return ((a ^ b) & ~ignore) >>> 0;
}

/** struct anon_vma: only its identity (and degree, for reports) matters to merging. */
export interface AnonVma {
  readonly id: number;
  degree: number;
}

/** The struct file behind a mapping: identity matters to merging. */
export interface VmFile {
  readonly path: string;
  readonly ino: number;
}

/** struct vm_operations_struct, the hooks split and merge consult. */
export interface VmOperations {
  name?: string;
  /** A VMA with close is never removed by a merge (is_mergeable_vma). */
  close?(vma: Vma): void;
  /** May veto a split by returning a negative errno (__split_vma). */
  split?(vma: Vma, addr: number): number;
  /** Called on the new half of a split. */
  open?(vma: Vma): void;
}

export interface VmaInit {
  vmStart: number;
  vmEnd: number;
  vmFlags: number;
  vmPgoff?: number;
  anonVma?: AnonVma | null;
  vmFile?: VmFile | null;
  vmOps?: VmOperations | null;
  vmUserfaultfdCtx?: object | null;
  vmPolicy?: object | null;
  anonVmaChainLength?: number;
}

let nextVmaId = 1;

/**
 * struct vm_area_struct (include/linux/mm_types.h — v4.19), the fields the model needs.
 * Tree linkage (vm_rb, vm_prev/vm_next, rb_subtree_gap) is kept by the tree that holds the VMA,
 * not here, so one Vma class serves both the rb-tree and the maple tree.
 */
export class Vma {
  /** First byte, page aligned. */
  vmStart: number;
  /** First byte after the end, page aligned, > vmStart. */
  vmEnd: number;
  /** Offset of vmStart in the backing object, in pages. */
  vmPgoff: number;
  /** VM_* bits, a non-negative number below 2^32. */
  vmFlags: number;
  anonVma: AnonVma | null;
  vmFile: VmFile | null;
  vmOps: VmOperations | null;
  /** vm_userfaultfd_ctx.ctx: compared by identity when merging. */
  vmUserfaultfdCtx: object | null;
  /** vma_policy(): compared by identity (mpol_equal) when merging. */
  vmPolicy: object | null;
  /**
   * Entries on vma->anon_vma_chain: 0 without an anon_vma, 1 once anon_vma_prepare attached
   * one, more when inherited by fork. is_mergeable_anon_vma only merges a VMA that lacks
   * an anon_vma on one side if this is exactly 1 (list_is_singular).
   */
  anonVmaChainLength: number;
  /** Unique, for debugging and reports. */
  readonly id: number;

  constructor(init: VmaInit) {
    checkVmaBounds(init.vmStart, init.vmEnd);
    const flags = init.vmFlags;
    if (!Number.isInteger(flags) || flags < 0 || flags >= FLAGS_LIMIT) {
      throw new RangeError(`@mmlab/vma-tree: vmFlags ${flags} is not a 32-bit unsigned flag word`);
    }
    const pgoff = init.vmPgoff ?? 0;
    if (!Number.isSafeInteger(pgoff) || pgoff < 0) {
      throw new RangeError(`@mmlab/vma-tree: vmPgoff ${pgoff} is not a non-negative integer`);
    }
    this.vmStart = init.vmStart;
    this.vmEnd = init.vmEnd;
    this.vmPgoff = pgoff;
    this.vmFlags = flags;
    this.anonVma = init.anonVma ?? null;
    this.vmFile = init.vmFile ?? null;
    this.vmOps = init.vmOps ?? null;
    this.vmUserfaultfdCtx = init.vmUserfaultfdCtx ?? null;
    this.vmPolicy = init.vmPolicy ?? null;
    this.anonVmaChainLength = init.anonVmaChainLength ?? (this.anonVma === null ? 0 : 1);
    this.id = nextVmaId++;
  }

  toString(): string {
    return `vma#${this.id}[${hex(this.vmStart)}-${hex(this.vmEnd)} pgoff ${hex(this.vmPgoff)}]`;
  }
}

/** 1 / PAGE_SIZE (a literal: an imported binding may compile to a property load). */
const PAGE_INV = 1 / 4096;
if (PAGE_INV * PAGE_SIZE !== 1) throw new Error("@mmlab/vma-tree: vma.ts PAGE_INV");

/** Throws RangeError unless [vmStart, vmEnd) is a non-empty page-aligned user range. */
export function checkVmaBounds(vmStart: number, vmEnd: number): void {
  // x * 2^-12 is exact, so it is an integer exactly when x is a page multiple: the same test
  // as x % PAGE_SIZE === 0 without a float modulo (a C call for addresses above 2^31).
  if (
    !Number.isInteger(vmStart) ||
    !Number.isInteger(vmEnd) ||
    vmStart < 0 ||
    !Number.isInteger(vmStart * PAGE_INV) ||
    !Number.isInteger(vmEnd * PAGE_INV) ||
    vmEnd <= vmStart ||
    vmEnd > VMA_ADDR_LIMIT
  ) {
    throw new RangeError(
      `@mmlab/vma-tree: [${vmStart}, ${vmEnd}) is not a non-empty page-aligned range below 2^64`,
    );
  }
}

/** 2^64: one past ULONG_MAX; page indices stay below 2^52. */
export const VMA_ADDR_LIMIT = 2 ** 64;

/** include/linux/mm.h: vma_pages() — v4.19 */
export function vmaPages(vma: Vma): number {
  return (vma.vmEnd - vma.vmStart) / PAGE_SIZE;
}

/** include/linux/mm.h: vm_start_gap() — v4.19. vmStart lowered by the guard gap for stacks. */
export function vmStartGap(vma: Vma, stackGuardGap: number = DEFAULT_STACK_GUARD_GAP): number {
  let start = vma.vmStart;
  if ((vma.vmFlags & VM_GROWSDOWN) !== 0) {
    start -= stackGuardGap;
    if (start < 0) start = 0; // the kernel's unsigned-underflow clamp
  }
  return start;
}

/** include/linux/mm.h: vm_end_gap() — v4.19. vmEnd raised by the guard gap (VM_GROWSUP: never on x86). */
export function vmEndGap(vma: Vma, stackGuardGap: number = DEFAULT_STACK_GUARD_GAP): number {
  let end = vma.vmEnd;
  if (VM_GROWSUP !== 0 && (vma.vmFlags & VM_GROWSUP) !== 0) {
    end += stackGuardGap;
    if (end > VMA_ADDR_LIMIT - PAGE_SIZE) end = VMA_ADDR_LIMIT - PAGE_SIZE; // -PAGE_SIZE clamp
  }
  return end;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
