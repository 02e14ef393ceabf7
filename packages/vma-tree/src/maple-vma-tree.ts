/**
 * The VMA tree of Linux 6.1+: mm->mm_mt, a maple tree with MT_FLAGS_ALLOC_RANGE in which each
 * VMA is stored over its pages and unmapped space is NULL (mm/mmap.c, include/linux/mm.h —
 * v6.8). Keys are PAGE INDICES: a VMA occupies [vmStart / 4096, vmEnd / 4096 - 1], so
 * 5-level (56-bit) addresses stay exact although byte addresses above 2^53 do not survive
 * `end - 1`.
 *
 *   bytes   0x0000        0x4000        0x6000 0x7000
 *   pages   0  1 [2  3]  4  5 [6] 7  ...
 *   maple   NULL[0,1] A[2,3] NULL[4,5] B[6,6] NULL[7,MAX]
 *
 * find_vma is mt_find(page, ULONG_MAX); vm_unmapped_area is mas_empty_area(_rev) over the
 * NULL ranges followed by the stack_guard_gap re-check of the neighbours, as 6.8 does.
 */
import { ENOMEM } from "./errno.js";
import { areaPos } from "./maple/gap.js";
import { masEraseExact, masInsertRange } from "./maple/store.js";
import { masWalk, mtFind, mtFindRev, mtreeLoad, walkPos } from "./maple/walk.js";
import { MapleTree, type MaState } from "./maple-tree.js";
import { and53, infoPages, MAPLE_MAX, PAGE_SIZE, queryPageOf } from "./page.js";
import {
  checkVmaBounds,
  DEFAULT_STACK_GUARD_GAP,
  VM_GROWSDOWN,
  type Vma,
  vmEndGap,
  vmStartGap,
} from "./vma.js";
import type { VmaTree, VmUnmappedAreaInfo } from "./vma-tree.js";

/** VM_STARTGAP_FLAGS (include/linux/mm.h — v6.8): VM_GROWSDOWN (| VM_SHADOW_STACK, not modelled). */
const VM_STARTGAP_FLAGS = VM_GROWSDOWN;

// Literal copies for find_vma's hot path: an imported binding can compile to a property
// load (CommonJS interop getters when run from source), a literal cannot.
/** 1 / PAGE_SIZE: multiplying by a power of two is exact, so floor(addr * 2^-12) is exact. */
const PAGE_INV = 1 / 4096;
/** MAPLE_MAX. */
const ULONG_MAX = 9007199254740991;
if (PAGE_INV * PAGE_SIZE !== 1 || ULONG_MAX !== MAPLE_MAX)
  throw new Error("@mmlab/vma-tree: maple-vma-tree constants");
const TWO_64 = 2 ** 64;

/** The page index of a query address; anything else throws through queryPageOf(). */
function pageOf(addr: number, fn: string): number {
  if (Number.isInteger(addr) && addr >= 0 && addr <= TWO_64) return Math.floor(addr * PAGE_INV);
  return queryPageOf(addr, `MapleVmaTree.${fn}`);
}

/** mm->mm_mt with the mm/mmap.c (v6.8) VMA operations over it. */
export class MapleVmaTree implements VmaTree {
  readonly kind = "maple" as const;
  /** mm->mm_mt: page-index ranges -> Vma. */
  readonly mt: MapleTree<Vma>;
  /** stack_guard_gap in bytes. */
  readonly stackGuardGap: number;
  /** A reusable ma_state for gap searches (VMA_ITERATOR). */
  private readonly mas: MaState<Vma>;

  constructor(opts?: { stackGuardGap?: number }) {
    const gap = opts?.stackGuardGap ?? DEFAULT_STACK_GUARD_GAP;
    if (!Number.isInteger(gap) || gap < 0 || gap % PAGE_SIZE !== 0) {
      throw new RangeError(
        `@mmlab/vma-tree: stackGuardGap ${gap} is not a non-negative page multiple`,
      );
    }
    this.stackGuardGap = gap;
    this.mt = new MapleTree<Vma>({ allocRange: true });
    this.mas = this.mt.state(0);
  }

  /** mm->map_count. */
  get mapCount(): number {
    return this.mt.count();
  }

  /** mm/mmap.c: find_vma() — v6.8. mt_find(addr, ULONG_MAX): first VMA with vmEnd > addr. */
  findVma(addr: number): Vma | null {
    return mtFind(this.mt, pageOf(addr, "findVma"), ULONG_MAX);
  }

  /** mm/mmap.c: find_vma_prev() — v6.8. */
  findVmaPrev(addr: number): { vma: Vma | null; prev: Vma | null } {
    const vma = this.findVma(addr);
    return { vma, prev: vma === null ? this.last() : this.vmaPrev(vma) };
  }

  /** mm/mmap.c: find_vma_intersection() — v6.8. mt_find(start, end - 1). */
  findVmaIntersection(start: number, end: number): Vma | null {
    const first = pageOf(start, "findVmaIntersection");
    pageOf(end, "findVmaIntersection");
    if (end <= start) return null;
    return mtFind(this.mt, first, Math.ceil(end / PAGE_SIZE) - 1);
  }

  /** include/linux/mm.h: vma_lookup() — v6.8. mtree_load(addr). */
  vmaLookup(addr: number): Vma | null {
    return mtreeLoad(this.mt, pageOf(addr, "vmaLookup"));
  }

  /** include/linux/mm.h: vma_next() — v6.8: the VMA after vma. */
  vmaNext(vma: Vma): Vma | null {
    return mtFind(this.mt, vma.vmEnd / PAGE_SIZE, MAPLE_MAX);
  }

  /** include/linux/mm.h: vma_prev() — v6.8: the VMA before vma. */
  vmaPrev(vma: Vma): Vma | null {
    if (vma.vmStart === 0) return null;
    return mtFindRev(this.mt, vma.vmStart / PAGE_SIZE - 1, 0);
  }

  first(): Vma | null {
    return mtFind(this.mt, 0, MAPLE_MAX);
  }

  last(): Vma | null {
    return mtFindRev(this.mt, MAPLE_MAX, 0);
  }

  /** mm/mmap.c: vma_link() / vma_iter_store() — v6.8. Throws on overlap or a double link. */
  insert(vma: Vma): void {
    checkVmaBounds(vma.vmStart, vma.vmEnd);
    const first = vma.vmStart * PAGE_INV;
    const last = vma.vmEnd * PAGE_INV - 1;
    if (!masInsertRange(this.mt, first, last, vma)) {
      const other = mtFind(this.mt, first, last);
      const why = other === vma ? "is already linked" : `overlaps ${other}`;
      throw new Error(`@mmlab/vma-tree: MapleVmaTree.insert: ${vma} ${why}`);
    }
  }

  /** mm/mmap.c: vma_iter_clear() of a linked VMA — v6.8. Throws if vma is not linked. */
  erase(vma: Vma): void {
    const first = vma.vmStart * PAGE_INV;
    if (
      !Number.isSafeInteger(first) ||
      !masEraseExact(this.mt, first, vma.vmEnd * PAGE_INV - 1, vma)
    ) {
      this.checkLinked(vma, "erase"); // throws the precise reason
      throw new Error(`@mmlab/vma-tree: MapleVmaTree.erase: ${vma} is not linked`);
    }
  }

  /** mm/mmap.c: vma_adjust() / vma_expand() + vma_iter_store() — v6.8. */
  adjust(vma: Vma, vmStart: number, vmEnd: number, vmPgoff: number): void {
    this.checkLinked(vma, "adjust");
    checkVmaBounds(vmStart, vmEnd);
    if (!Number.isSafeInteger(vmPgoff) || vmPgoff < 0) {
      throw new RangeError(
        `@mmlab/vma-tree: MapleVmaTree.adjust: vmPgoff ${vmPgoff} is not a non-negative integer`,
      );
    }
    const first = vmStart / PAGE_SIZE;
    const last = vmEnd / PAGE_SIZE - 1;
    const mas = this.mas;
    mas.set(first);
    for (let other = mas.find(last); other !== null; other = mas.find(last)) {
      if (other !== vma)
        throw new Error(
          `@mmlab/vma-tree: MapleVmaTree.adjust: ${vma} to [${vmStart}, ${vmEnd}) overlaps ${other}`,
        );
    }
    this.mt.store(vma.vmStart / PAGE_SIZE, vma.vmEnd / PAGE_SIZE - 1, null);
    vma.vmStart = vmStart;
    vma.vmEnd = vmEnd;
    vma.vmPgoff = vmPgoff;
    this.mt.store(first, last, vma);
  }

  /** for_each_vma_range(): VMAs intersecting [start, end), ascending. */
  *range(start: number, end: number): IterableIterator<Vma> {
    const first = pageOf(start, "range");
    pageOf(end, "range");
    if (end <= start) return;
    const last = Math.ceil(end / PAGE_SIZE) - 1;
    const mas = this.mt.state(first);
    for (let vma = mas.find(last); vma !== null; vma = mas.find(last)) yield vma;
  }

  /** for_each_vma(): every VMA, ascending. */
  *[Symbol.iterator](): IterableIterator<Vma> {
    const mas = this.mt.state(0);
    for (let vma = mas.find(MAPLE_MAX); vma !== null; vma = mas.find(MAPLE_MAX)) yield vma;
  }

  /** mm->highest_vm_end (gone in 6.x; derived from the last VMA). */
  get highestVmEnd(): number {
    const last = this.last();
    return last === null ? 0 : vmEndGap(last, this.stackGuardGap);
  }

  /** mm/mmap.c: unmapped_area() — v6.8, in pages. Lowest fitting address or -ENOMEM. */
  unmappedArea(info: VmUnmappedAreaInfo): number {
    const guard = info.stackGuardGap ?? this.stackGuardGap;
    const len = infoPages(info.length, "length");
    const mask = infoPages(info.alignMask, "alignMask");
    const off = infoPages(info.alignOffset, "alignOffset");
    let lowLimit = infoPages(info.lowLimit, "lowLimit");
    const highLimit = infoPages(info.highLimit, "highLimit");
    // Adjust the search length for the worst-case alignment overhead.
    const length = len + mask;
    const mas = this.mas;
    for (;;) {
      // mas_empty_area(&mas, low_limit, high_limit - 1, length)
      if (highLimit === 0 || mas.emptyArea(lowLimit, highLimit - 1, length) !== 0) return -ENOMEM;
      let gap = mas.index;
      gap += and53(off - gap, mask);
      const next = mtFind(this.mt, mas.last + 1, MAPLE_MAX); // vma_next()
      if (next !== null && (next.vmFlags & VM_STARTGAP_FLAGS) !== 0) {
        // Avoid the prev check if possible.
        // vm_start_gap(tmp) < gap + length - 1 in bytes; every term is a page multiple, so in
        // pages the "- 1" byte vanishes. length includes align_mask: 6.x demands room for the
        // padded length above the aligned start, stricter than 4.19's check (see fidelity notes).
        if (vmStartGap(next, guard) / PAGE_SIZE < gap + length) {
          lowLimit = next.vmEnd / PAGE_SIZE;
          continue;
        }
      } else {
        const prev = mas.index === 0 ? null : mtFindRev(this.mt, mas.index - 1, 0); // vma_prev()
        if (prev !== null && vmEndGap(prev, guard) / PAGE_SIZE > gap) {
          lowLimit = vmEndGap(prev, guard) / PAGE_SIZE;
          continue;
        }
      }
      return gap * PAGE_SIZE;
    }
  }

  /** mm/mmap.c: unmapped_area_topdown() — v6.8, in pages. Highest fitting address or -ENOMEM. */
  unmappedAreaTopdown(info: VmUnmappedAreaInfo): number {
    const guard = info.stackGuardGap ?? this.stackGuardGap;
    const len = infoPages(info.length, "length");
    const mask = infoPages(info.alignMask, "alignMask");
    const off = infoPages(info.alignOffset, "alignOffset");
    const lowLimit = infoPages(info.lowLimit, "lowLimit");
    let highLimit = infoPages(info.highLimit, "highLimit");
    const length = len + mask;
    const mas = this.mas;
    for (;;) {
      // mas_empty_area_rev(&mas, low_limit, high_limit - 1, length)
      if (highLimit === 0 || mas.emptyAreaRev(lowLimit, highLimit - 1, length) !== 0)
        return -ENOMEM;
      let gap = mas.last + 1 - len;
      gap -= and53(gap - off, mask);
      const gapEnd = mas.last;
      // vma_next() / vma_prev() from the NULL slot the search stopped at (NULL ranges are
      // coalesced, so its neighbours in the leaf are entries); a walk only at a leaf edge.
      const a = this.mt.arena;
      const pos = areaPos.leafPos;
      const leaf = pos >> 4;
      const inLeafNext = pos - leaf * 16 < (a.leafEnd[leaf] as number);
      const next = inLeafNext
        ? (a.leafSlots[pos + 1] as Vma)
        : mtFind(this.mt, mas.last + 1, MAPLE_MAX);
      if (next !== null && (next.vmFlags & VM_STARTGAP_FLAGS) !== 0) {
        // vm_start_gap(tmp) <= gap_end, gap_end being the area's last byte (last page here).
        if (vmStartGap(next, guard) / PAGE_SIZE <= gapEnd) {
          highLimit = vmStartGap(next, guard) / PAGE_SIZE;
          continue;
        }
      } else {
        const prev =
          pos > leaf * 16
            ? (a.leafSlots[pos - 1] as Vma)
            : mas.index === 0
              ? null
              : mtFindRev(this.mt, mas.index - 1, 0);
        if (prev !== null && vmEndGap(prev, guard) / PAGE_SIZE > gap) {
          highLimit = prev.vmStart / PAGE_SIZE;
          continue;
        }
      }
      return gap * PAGE_SIZE;
    }
  }

  /** validate_mm() for the tree: mt_validate plus each VMA stored exactly over its pages. */
  validate(): void {
    this.mt.validate();
    const seen = new Set<Vma>();
    for (const r of this.mt.entries()) {
      const vma = r.entry;
      if (seen.has(vma)) throw new Error(`@mmlab/vma-tree: MapleVmaTree: ${vma} is stored twice`);
      seen.add(vma);
      if (r.first !== vma.vmStart / PAGE_SIZE || r.last !== vma.vmEnd / PAGE_SIZE - 1) {
        throw new Error(
          `@mmlab/vma-tree: MapleVmaTree: ${vma} is stored over pages [${r.first}, ${r.last}]`,
        );
      }
    }
    if (seen.size !== this.mapCount)
      throw new Error(
        `@mmlab/vma-tree: MapleVmaTree: map_count ${this.mapCount} but ${seen.size} VMAs`,
      );
  }

  private checkLinked(vma: Vma, fn: string): void {
    const first = vma.vmStart / PAGE_SIZE;
    if (!Number.isSafeInteger(first) || masWalk(this.mt, first) !== vma) {
      throw new Error(`@mmlab/vma-tree: MapleVmaTree.${fn}: ${vma} is not linked`);
    }
    if (walkPos.min !== first || walkPos.max !== vma.vmEnd / PAGE_SIZE - 1) {
      throw new Error(`@mmlab/vma-tree: MapleVmaTree.${fn}: ${vma} changed bounds while linked`);
    }
  }
}
