// biome-ignore-all lint/style/noNonNullAssertion: typed-array reads under noUncheckedIndexedAccess; indices are arena nodes kept valid by the tree invariants
/**
 * DOC: RbVmaTree — mm->mm_rb, the vm_prev/vm_next list and rb_subtree_gap, as Linux 4.x keeps
 * them (mm/mmap.c, lib/rbtree.c, include/linux/rbtree_augmented.h — v4.19).
 *
 * Red-black properties (lib/rbtree.c numbering), checked by validate():
 *
 *  1) A node is either red or black.
 *  2) The root is black.
 *  3) All leaves (NIL) are black.
 *  4) Both children of every red node are black.
 *  5) Every simple path from a node to a descendant leaf contains the same number of black
 *     nodes.
 *
 * 4 and 5 bound the height by 2*log2(n+1), so every walk below is O(log n).
 *
 * VMA-tree properties, also checked by validate():
 *
 *  6) In-order traversal is ascending by vm_start and equals the vm_prev/vm_next list.
 *  7) VMAs do not overlap: prev.vm_end <= vm_start.
 *  8) rb_subtree_gap(n) = max(gap(n), rb_subtree_gap(left), rb_subtree_gap(right)) where
 *     gap(n) = vm_start_gap(n) - vm_end_gap(vm_prev(n)), clamped at 0, measured from 0 for
 *     the first VMA (vma_compute_subtree_gap). NIL contributes 0.
 *  9) highest_vm_end = vm_end_gap(last VMA), 0 if empty; map_count = number of nodes.
 *
 *                 [B|gap 7]                     gap(n) is the hole just BELOW n:
 *                /         \                    |hole|[prev)   |hole|[n)
 *         [C|gap 5]       [D|gap 7]             0    ....      ^ vm_start_gap(n)
 *                                                           ^ vm_end_gap(prev)
 *
 * Representation. Nodes live in a typed-array arena (index 0 is the NIL sentinel, black, gap
 * 0): left/right/parent and the vm_prev/vm_next list are Int32Arrays; vm_start, vm_end and
 * vm_start_gap are cached as PAGE INDICES in Float64Arrays (exact below 2^53, so 5-level
 * addresses are fine), next to rb_subtree_gap (pages). A parallel array holds the Vma object.
 * Why an arena rather than fields on Vma (as the kernel embeds vm_rb): the Vma class is shared
 * with the maple tree, and keeping the search keys in contiguous typed arrays makes find_vma and
 * the gap descent touch no Vma object at all until the answer. The price is that erase/next/prev
 * must find a VMA's node by a key descent (O(log n)); a one-entry hint makes the common
 * "look up, then step" pattern O(1).
 *
 * vm_end_gap(prev) is prev's vm_end because VM_GROWSUP is 0 on x86 (no guard above a VMA).
 * vm_start_gap is cached per node from the VMA's flags at insert/adjust time; VM_GROWSDOWN
 * never changes on a linked VMA in the kernel either.
 */
import { ENOMEM } from "./errno.js";
import { and53, PAGE_SIZE } from "./page.js";
import {
  checkVmaBounds,
  DEFAULT_STACK_GUARD_GAP,
  VM_GROWSDOWN,
  type Vma,
  vmStartGap,
} from "./vma.js";
import type { VmaTree, VmUnmappedAreaInfo } from "./vma-tree.js";

const NIL = 0;
const INITIAL_CAPACITY = 64;

export class RbVmaTree implements VmaTree {
  readonly kind = "rb" as const;
  /** stack_guard_gap in bytes, fixed for the tree's life (a boot parameter in 4.19). */
  readonly stackGuardGap: number;
  private readonly guardPages: number;

  // ---- node arena (index 0 = NIL)
  private capacity: number;
  private rbLeft: Int32Array;
  private rbRight: Int32Array;
  private rbParent: Int32Array;
  private vmPrev: Int32Array;
  private vmNext: Int32Array;
  /** 1 = red, 0 = black (NIL stays black). */
  private rbRed: Uint8Array;
  /** vm_start / PAGE_SIZE */
  private startPg: Float64Array;
  /** vm_end / PAGE_SIZE (= vm_end_gap on x86) */
  private endPg: Float64Array;
  /** vm_start_gap / PAGE_SIZE */
  private startGapPg: Float64Array;
  /** rb_subtree_gap in pages */
  private subtreeGap: Float64Array;
  private vmas: Array<Vma | null>;
  /** Next never-used arena index. */
  private used: number;
  /** Free list of recycled indices, chained through vmNext. */
  private freeHead: number;

  // ---- mm_struct fields
  private root: number;
  private head: number;
  private tail: number;
  private count: number;
  /** Last node looked up by Vma identity. */
  private hint: number;

  constructor(opts?: { stackGuardGap?: number }) {
    const guard = opts?.stackGuardGap ?? DEFAULT_STACK_GUARD_GAP;
    if (!Number.isSafeInteger(guard) || guard < 0 || guard % PAGE_SIZE !== 0) {
      throw new RangeError(`@mmlab/vma-tree: stackGuardGap ${guard} is not a page multiple`);
    }
    this.stackGuardGap = guard;
    this.guardPages = guard / PAGE_SIZE;
    this.capacity = INITIAL_CAPACITY;
    this.rbLeft = new Int32Array(INITIAL_CAPACITY);
    this.rbRight = new Int32Array(INITIAL_CAPACITY);
    this.rbParent = new Int32Array(INITIAL_CAPACITY);
    this.vmPrev = new Int32Array(INITIAL_CAPACITY);
    this.vmNext = new Int32Array(INITIAL_CAPACITY);
    this.rbRed = new Uint8Array(INITIAL_CAPACITY);
    this.startPg = new Float64Array(INITIAL_CAPACITY);
    this.endPg = new Float64Array(INITIAL_CAPACITY);
    this.startGapPg = new Float64Array(INITIAL_CAPACITY);
    this.subtreeGap = new Float64Array(INITIAL_CAPACITY);
    this.vmas = [null];
    this.used = 1;
    this.freeHead = NIL;
    this.root = NIL;
    this.head = NIL;
    this.tail = NIL;
    this.count = 0;
    this.hint = NIL;
  }

  get mapCount(): number {
    return this.count;
  }

  /** mm->highest_vm_end: vm_end_gap of the last VMA, 0 if empty. */
  get highestVmEnd(): number {
    const last = this.tail;
    return last === NIL ? 0 : this.endPg[last]! * PAGE_SIZE;
  }

  // =====================================================================================
  // Lookups
  // =====================================================================================

  /** mm/mmap.c: find_vma() — v4.19 (without the per-task vmacache). */
  findVma(addr: number): Vma | null {
    const n = this.findVmaNode(addrPage(addr));
    return n === NIL ? null : this.vmas[n]!;
  }

  /** mm/mmap.c: find_vma_prev() — v4.19 */
  findVmaPrev(addr: number): { vma: Vma | null; prev: Vma | null } {
    const n = this.findVmaNode(addrPage(addr));
    const p = n === NIL ? this.tail : this.vmPrev[n]!;
    return { vma: n === NIL ? null : this.vmas[n]!, prev: p === NIL ? null : this.vmas[p]! };
  }

  /** include/linux/mm.h: find_vma_intersection() — v4.19 */
  findVmaIntersection(start: number, end: number): Vma | null {
    const vma = this.findVma(start);
    return vma !== null && vma.vmStart < end ? vma : null;
  }

  /** include/linux/mm.h: vma_lookup() — v5.14+, the VMA containing addr. */
  vmaLookup(addr: number): Vma | null {
    const vma = this.findVma(addr);
    return vma !== null && vma.vmStart <= addr ? vma : null;
  }

  /** vma->vm_next */
  vmaNext(vma: Vma): Vma | null {
    const n = this.vmNext[this.nodeOf(vma)]!;
    return n === NIL ? null : this.vmas[n]!;
  }

  /** vma->vm_prev */
  vmaPrev(vma: Vma): Vma | null {
    const n = this.vmPrev[this.nodeOf(vma)]!;
    return n === NIL ? null : this.vmas[n]!;
  }

  /** mm->mmap */
  first(): Vma | null {
    return this.head === NIL ? null : this.vmas[this.head]!;
  }

  last(): Vma | null {
    return this.tail === NIL ? null : this.vmas[this.tail]!;
  }

  *range(start: number, end: number): IterableIterator<Vma> {
    let n = this.findVmaNode(addrPage(start));
    while (n !== NIL) {
      const vma = this.vmas[n]!;
      if (vma.vmStart >= end) return;
      const next = this.vmNext[n]!; // read before yielding: the caller may erase vma
      yield vma;
      n = next;
    }
  }

  *[Symbol.iterator](): IterableIterator<Vma> {
    let n = this.head;
    while (n !== NIL) {
      const next = this.vmNext[n]!;
      yield this.vmas[n]!;
      n = next;
    }
  }

  // =====================================================================================
  // Mutations: __vma_link_rb / __vma_unlink_common / vma_adjust
  // =====================================================================================

  /** mm/mmap.c: __vma_link_list() + __vma_link_rb() — v4.19; throws on overlap (find_vma_links' -ENOMEM). */
  insert(vma: Vma): void {
    checkVmaBounds(vma.vmStart, vma.vmEnd);
    const s = vma.vmStart / PAGE_SIZE;
    const e = vma.vmEnd / PAGE_SIZE;
    const left = this.rbLeft;
    const right = this.rbRight;
    // find_vma_links(): descend to the insertion point, remembering the predecessor.
    let parent = NIL;
    let cur = this.root;
    let pred = NIL;
    let goLeft = false;
    while (cur !== NIL) {
      parent = cur;
      if (this.endPg[cur]! > s) {
        if (this.startPg[cur]! < e) {
          throw new Error(
            `@mmlab/vma-tree: insert ${String(vma)} overlaps ${String(this.vmas[cur])}${this.vmas[cur] === vma ? " (already linked)" : ""}`,
          );
        }
        cur = left[cur]!;
        goLeft = true;
      } else {
        pred = cur;
        cur = right[cur]!;
        goLeft = false;
      }
    }
    const n = this.allocNode(vma, s, e); // may grow the arena: no cached array refs below
    // __vma_link_list
    const succ = pred === NIL ? this.head : this.vmNext[pred]!;
    this.vmPrev[n] = pred;
    this.vmNext[n] = succ;
    if (pred === NIL) this.head = n;
    else this.vmNext[pred] = n;
    if (succ === NIL) this.tail = n;
    else this.vmPrev[succ] = n;
    // rb_link_node with rb_subtree_gap 0, then fix the gaps, then rebalance (__vma_link_rb).
    this.rbParent[n] = parent;
    if (parent === NIL) this.root = n;
    else if (goLeft) this.rbLeft[parent] = n;
    else this.rbRight[parent] = n;
    if (succ !== NIL) this.gapPropagate(succ); // the gap below succ shrank
    this.gapPropagate(n);
    this.insertFixup(n);
    this.count++;
    this.hint = n;
  }

  /** mm/mmap.c: __vma_unlink_common() + vma_rb_erase() + vma_gap_update(next) — v4.19 */
  erase(vma: Vma): void {
    const z = this.nodeOf(vma);
    const left = this.rbLeft;
    const right = this.rbRight;
    let del = z;
    let after: number;
    if (left[z] !== NIL && right[z] !== NIL) {
      // Two children: the successor (= vm_next, leftmost of the right subtree) moves into
      // z's slot and its old slot, which has at most one child, is spliced out.
      const s = this.vmNext[z]!;
      this.movePayload(s, z);
      const sn = this.vmNext[s]!;
      this.vmNext[z] = sn;
      if (sn === NIL) this.tail = z;
      else this.vmPrev[sn] = z;
      del = s;
      after = z;
    } else {
      const p = this.vmPrev[z]!;
      const nx = this.vmNext[z]!;
      if (p === NIL) this.head = nx;
      else this.vmNext[p] = nx;
      if (nx === NIL) this.tail = p;
      else this.vmPrev[nx] = p;
      after = nx;
    }
    // Splice out del (at most one child).
    const child = left[del] !== NIL ? left[del]! : right[del]!;
    const parent = this.rbParent[del]!;
    this.rbParent[child] = parent; // may write NIL's parent: delete fixup relies on it
    if (parent === NIL) this.root = child;
    else if (left[parent] === del) left[parent] = child;
    else right[parent] = child;
    const wasBlack = this.rbRed[del] === 0;
    this.gapPropagate(parent);
    if (after !== NIL) this.gapPropagate(after); // the gap below `after` grew
    if (wasBlack) this.eraseFixup(child, parent);
    this.rbParent[NIL] = NIL;
    this.freeNode(del);
    this.count--;
    this.hint = NIL;
  }

  /**
   * mm/mmap.c: __vma_adjust()'s bounds update + vma_gap_update() — v4.19. The VMA keeps its
   * place in the tree: its neighbours bound the new range, so the order cannot change.
   */
  adjust(vma: Vma, vmStart: number, vmEnd: number, vmPgoff: number): void {
    checkVmaBounds(vmStart, vmEnd);
    if (!Number.isSafeInteger(vmPgoff) || vmPgoff < 0) {
      throw new RangeError(`@mmlab/vma-tree: adjust: vmPgoff ${vmPgoff} is not a page offset`);
    }
    const n = this.nodeOf(vma);
    const p = this.vmPrev[n]!;
    const nx = this.vmNext[n]!;
    if (p !== NIL && this.vmas[p]!.vmEnd > vmStart) {
      throw new Error(
        `@mmlab/vma-tree: adjust ${String(vma)} would overlap ${String(this.vmas[p])}`,
      );
    }
    if (nx !== NIL && this.vmas[nx]!.vmStart < vmEnd) {
      throw new Error(
        `@mmlab/vma-tree: adjust ${String(vma)} would overlap ${String(this.vmas[nx])}`,
      );
    }
    const startChanged = vmStart !== vma.vmStart;
    const endChanged = vmEnd !== vma.vmEnd;
    vma.vmStart = vmStart;
    vma.vmEnd = vmEnd;
    vma.vmPgoff = vmPgoff;
    this.startPg[n] = vmStart / PAGE_SIZE;
    this.endPg[n] = vmEnd / PAGE_SIZE;
    this.startGapPg[n] = this.startGapOf(vma);
    if (startChanged) this.gapPropagate(n);
    if (endChanged && nx !== NIL) this.gapPropagate(nx);
  }

  // =====================================================================================
  // Gap search: vm_unmapped_area (mm/mmap.c — v4.19)
  // =====================================================================================

  /** mm/mmap.c: unmapped_area() — v4.19. Lowest fitting address, or -ENOMEM. */
  unmappedArea(info: VmUnmappedAreaInfo): number {
    this.checkGuard(info);
    const len = infoPages(info.length, "length");
    const mask = infoPages(info.alignMask, "alignMask");
    const off = infoPages(info.alignOffset, "alignOffset");
    const lo = infoPages(info.lowLimit, "lowLimit");
    const hi = infoPages(info.highLimit, "highLimit");
    // Adjust the search length for the worst-case alignment overhead, then the limits.
    const length = len + mask;
    if (hi < length) return -ENOMEM;
    const highLimit = hi - length;
    if (lo > highLimit) return -ENOMEM;
    const lowLimit = lo + length;

    const left = this.rbLeft;
    const right = this.rbRight;
    const gaps = this.subtreeGap;
    let gapStart = 0;
    let gapEnd = 0;
    let found = false;
    let n = this.root;
    if (n !== NIL && gaps[n]! >= length) {
      descend: for (;;) {
        // Visit the left subtree if it looks promising.
        gapEnd = this.startGapPg[n]!;
        if (gapEnd >= lowLimit && left[n] !== NIL && gaps[left[n]!]! >= length) {
          n = left[n]!;
          continue;
        }
        gapStart = this.vmPrev[n] !== NIL ? this.endPg[this.vmPrev[n]!]! : 0;
        for (;;) {
          // check_current: the gap just below n.
          if (gapStart > highLimit) return -ENOMEM;
          if (gapEnd >= lowLimit && gapEnd > gapStart && gapEnd - gapStart >= length) {
            found = true;
            break descend;
          }
          // Visit the right subtree if it looks promising.
          if (right[n] !== NIL && gaps[right[n]!]! >= length) {
            n = right[n]!;
            continue descend;
          }
          // Go back up to the next in-order candidate (first ancestor we are left of).
          for (;;) {
            const child = n;
            n = this.rbParent[n]!;
            if (n === NIL) break descend;
            if (left[n] === child) break;
          }
          gapStart = this.endPg[this.vmPrev[n]!]!;
          gapEnd = this.startGapPg[n]!;
        }
      }
    }
    if (!found) {
      // check_highest: the space above the last VMA.
      gapStart = this.tail === NIL ? 0 : this.endPg[this.tail]!;
      if (gapStart > highLimit) return -ENOMEM;
    }
    // Clip with the original low limit, then align up.
    if (gapStart < lo) gapStart = lo;
    gapStart += and53(off - gapStart, mask);
    return gapStart * PAGE_SIZE;
  }

  /** mm/mmap.c: unmapped_area_topdown() — v4.19. Highest fitting address, or -ENOMEM. */
  unmappedAreaTopdown(info: VmUnmappedAreaInfo): number {
    this.checkGuard(info);
    const len = infoPages(info.length, "length");
    const mask = infoPages(info.alignMask, "alignMask");
    const off = infoPages(info.alignOffset, "alignOffset");
    const lo = infoPages(info.lowLimit, "lowLimit");
    const hi = infoPages(info.highLimit, "highLimit");
    const length = len + mask;
    if (hi < length) return -ENOMEM;
    const highLimit = hi - length;
    if (lo > highLimit) return -ENOMEM;
    const lowLimit = lo + length;

    // The highest gap, above the last VMA, first.
    let gapEnd = hi;
    let gapStart = this.tail === NIL ? 0 : this.endPg[this.tail]!;
    if (gapStart > highLimit) {
      const left = this.rbLeft;
      const right = this.rbRight;
      const gaps = this.subtreeGap;
      let n = this.root;
      if (n === NIL || gaps[n]! < length) return -ENOMEM;
      descend: for (;;) {
        // Visit the right subtree if it looks promising.
        gapStart = this.vmPrev[n] !== NIL ? this.endPg[this.vmPrev[n]!]! : 0;
        if (gapStart <= highLimit && right[n] !== NIL && gaps[right[n]!]! >= length) {
          n = right[n]!;
          continue;
        }
        for (;;) {
          // check_current: the gap just below n.
          gapEnd = this.startGapPg[n]!;
          if (gapEnd < lowLimit) return -ENOMEM;
          if (gapStart <= highLimit && gapEnd > gapStart && gapEnd - gapStart >= length) {
            break descend;
          }
          // Visit the left subtree if it looks promising.
          if (left[n] !== NIL && gaps[left[n]!]! >= length) {
            n = left[n]!;
            continue descend;
          }
          // Go back up to the next candidate below (first ancestor we are right of).
          for (;;) {
            const child = n;
            n = this.rbParent[n]!;
            if (n === NIL) return -ENOMEM;
            if (right[n] === child) break;
          }
          gapStart = this.vmPrev[n] !== NIL ? this.endPg[this.vmPrev[n]!]! : 0;
        }
      }
      // found: clip with the original high limit.
      if (gapEnd > hi) gapEnd = hi;
    }
    // found_highest: the highest address at the desired alignment.
    gapEnd -= len;
    gapEnd -= and53(gapEnd - off, mask);
    return gapEnd * PAGE_SIZE;
  }

  // =====================================================================================
  // validate(): properties 1-9 of the header
  // =====================================================================================

  validate(): void {
    const fail = (msg: string): never => {
      throw new Error(`@mmlab/vma-tree: RbVmaTree invalid: ${msg}`);
    };
    const root = this.root;
    if (this.rbRed[NIL] !== 0) fail("NIL is red (property 3)");
    if (this.subtreeGap[NIL] !== 0) fail("NIL has a non-zero rb_subtree_gap");
    if (root !== NIL && this.rbParent[root] !== NIL) fail("root has a parent");
    if (this.rbRed[root] !== 0) fail("root is red (property 2)");
    // Properties 1, 4, 5, 8 and parent links, bottom-up over an explicit post-order.
    let nodes = 0;
    const blackHeight = (n: number): number => {
      if (n === NIL) return 1;
      nodes++;
      const l = this.rbLeft[n]!;
      const r = this.rbRight[n]!;
      if (l !== NIL && this.rbParent[l] !== n) fail(`node ${n}: left child's parent link broken`);
      if (r !== NIL && this.rbParent[r] !== n) fail(`node ${n}: right child's parent link broken`);
      const red = this.rbRed[n]!;
      if (red > 1) fail(`node ${n}: colour ${red} (property 1)`);
      if (red === 1 && (this.rbRed[l] === 1 || this.rbRed[r] === 1)) {
        fail(`red node ${String(this.vmas[n])} has a red child (property 4)`);
      }
      const hl = blackHeight(l);
      const hr = blackHeight(r);
      if (hl !== hr)
        fail(`black heights ${hl} != ${hr} below ${String(this.vmas[n])} (property 5)`);
      const want = this.computeSubtreeGap(n);
      if (this.subtreeGap[n] !== want) {
        fail(
          `rb_subtree_gap of ${String(this.vmas[n])} is ${this.subtreeGap[n]}, should be ${want} (property 8)`,
        );
      }
      return hl + (red === 1 ? 0 : 1);
    };
    blackHeight(root);
    // Properties 6, 7 and the cached keys: in-order walk against the list.
    let listNode = this.head;
    let prev = NIL;
    let inorder = 0;
    const stack: number[] = [];
    let n = root;
    while (n !== NIL || stack.length > 0) {
      while (n !== NIL) {
        stack.push(n);
        n = this.rbLeft[n]!;
      }
      n = stack.pop()!;
      inorder++;
      if (listNode !== n) fail(`in-order node ${n} != list node ${listNode} (property 6)`);
      if (this.vmPrev[n] !== prev) fail(`vm_prev of ${String(this.vmas[n])} is wrong (property 6)`);
      const vma = this.vmas[n];
      if (vma === null || vma === undefined) fail(`node ${n} holds no VMA`);
      const v = vma as Vma;
      if (this.startPg[n]! * PAGE_SIZE !== v.vmStart || this.endPg[n]! * PAGE_SIZE !== v.vmEnd) {
        fail(
          `${String(v)} was resized without adjust() (cached [${this.startPg[n]}, ${this.endPg[n]}) pages)`,
        );
      }
      if (this.startGapPg[n]! * PAGE_SIZE !== vmStartGap(v, this.stackGuardGap))
        fail(`cached vm_start_gap of ${String(v)} is stale`);
      if (v.vmStart >= v.vmEnd) fail(`${String(v)} is empty`);
      if (prev !== NIL && this.vmas[prev]!.vmEnd > v.vmStart) {
        fail(`${String(this.vmas[prev])} overlaps or is not below ${String(v)} (property 7)`);
      }
      prev = n;
      listNode = this.vmNext[n]!;
      n = this.rbRight[n]!;
    }
    if (listNode !== NIL) fail("the vm_next list is longer than the tree (property 6)");
    if (this.tail !== prev) fail("mm->mmap tail is not the last in-order node");
    if (nodes !== inorder || nodes !== this.count) {
      fail(`map_count ${this.count} but ${nodes} nodes / ${inorder} in order (property 9)`);
    }
  }

  // =====================================================================================
  // Internals
  // =====================================================================================

  /** vm_start_gap(vma) in pages, with this tree's stack_guard_gap. */
  private startGapOf(vma: Vma): number {
    const s = vma.vmStart / PAGE_SIZE;
    if ((vma.vmFlags & VM_GROWSDOWN) === 0) return s;
    return s > this.guardPages ? s - this.guardPages : 0;
  }

  private checkGuard(info: VmUnmappedAreaInfo): void {
    if (info.stackGuardGap !== undefined && info.stackGuardGap !== this.stackGuardGap) {
      throw new RangeError(
        `@mmlab/vma-tree: RbVmaTree keeps rb_subtree_gap for stackGuardGap ${this.stackGuardGap}; info.stackGuardGap ${info.stackGuardGap} differs`,
      );
    }
  }

  /** mm/mmap.c: vma_compute_subtree_gap() — v4.19, in pages. */
  private computeSubtreeGap(n: number): number {
    let max = this.startGapPg[n]!;
    const p = this.vmPrev[n]!;
    if (p !== NIL) {
      const prevEnd = this.endPg[p]!; // vm_end_gap(prev): VM_GROWSUP is 0 on x86
      max = max > prevEnd ? max - prevEnd : 0;
    }
    const l = this.subtreeGap[this.rbLeft[n]!]!;
    const r = this.subtreeGap[this.rbRight[n]!]!;
    if (l > max) max = l;
    if (r > max) max = r;
    return max;
  }

  /**
   * include/linux/rbtree_augmented.h: RB_DECLARE_CALLBACKS propagate — v4.19 (vma_gap_update).
   * Recompute from n up to the root, stopping once a value is unchanged: above that point
   * nothing can differ.
   */
  private gapPropagate(n: number): void {
    const gaps = this.subtreeGap;
    while (n !== NIL) {
      const g = this.computeSubtreeGap(n);
      if (gaps[n] === g) return;
      gaps[n] = g;
      n = this.rbParent[n]!;
    }
  }

  /** The arena index of a linked VMA; throws if it is not linked here. */
  private nodeOf(vma: Vma): number {
    const h = this.hint;
    if (h !== NIL && this.vmas[h] === vma && this.startPg[h]! * PAGE_SIZE === vma.vmStart) return h;
    const key = vma.vmStart / PAGE_SIZE;
    let n = this.root;
    while (n !== NIL) {
      const s = this.startPg[n]!;
      if (key === s) break;
      n = key < s ? this.rbLeft[n]! : this.rbRight[n]!;
    }
    if (n === NIL || this.vmas[n] !== vma) {
      throw new Error(
        `@mmlab/vma-tree: ${String(vma)} is not linked in this RbVmaTree (or was resized without adjust())`,
      );
    }
    this.hint = n;
    return n;
  }

  /** find_vma's descent on page indices: the first node with vm_end > pg. */
  private findVmaNode(pg: number): number {
    const left = this.rbLeft;
    const right = this.rbRight;
    const startPg = this.startPg;
    const endPg = this.endPg;
    let best = NIL;
    let n = this.root;
    while (n !== NIL) {
      if (endPg[n]! > pg) {
        best = n;
        if (startPg[n]! <= pg) break;
        n = left[n]!;
      } else {
        n = right[n]!;
      }
    }
    return best;
  }

  private allocNode(vma: Vma, s: number, e: number): number {
    let n = this.freeHead;
    if (n !== NIL) {
      this.freeHead = this.vmNext[n]!;
      this.vmas[n] = vma;
    } else {
      if (this.used === this.capacity) this.grow();
      n = this.used++;
      this.vmas.push(vma);
    }
    this.rbLeft[n] = NIL;
    this.rbRight[n] = NIL;
    this.rbParent[n] = NIL;
    this.rbRed[n] = 1;
    this.startPg[n] = s;
    this.endPg[n] = e;
    this.startGapPg[n] = this.startGapOf(vma);
    this.subtreeGap[n] = 0;
    return n;
  }

  private freeNode(n: number): void {
    this.vmas[n] = null;
    this.rbLeft[n] = NIL;
    this.rbRight[n] = NIL;
    this.rbParent[n] = NIL;
    this.vmPrev[n] = NIL;
    this.vmNext[n] = this.freeHead;
    this.freeHead = n;
  }

  /** Copy the VMA payload of node `from` into node `to` (erase of a node with two children). */
  private movePayload(from: number, to: number): void {
    this.vmas[to] = this.vmas[from]!;
    this.startPg[to] = this.startPg[from]!;
    this.endPg[to] = this.endPg[from]!;
    this.startGapPg[to] = this.startGapPg[from]!;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    this.rbLeft = growI32(this.rbLeft, cap);
    this.rbRight = growI32(this.rbRight, cap);
    this.rbParent = growI32(this.rbParent, cap);
    this.vmPrev = growI32(this.vmPrev, cap);
    this.vmNext = growI32(this.vmNext, cap);
    const red = new Uint8Array(cap);
    red.set(this.rbRed);
    this.rbRed = red;
    this.startPg = growF64(this.startPg, cap);
    this.endPg = growF64(this.endPg, cap);
    this.startGapPg = growF64(this.startGapPg, cap);
    this.subtreeGap = growF64(this.subtreeGap, cap);
    this.capacity = cap;
  }

  /** Rotation with the augment_rotate callback: the new top inherits the old top's value. */
  private rotateLeft(x: number): void {
    const y = this.rbRight[x]!;
    const yl = this.rbLeft[y]!;
    this.rbRight[x] = yl;
    if (yl !== NIL) this.rbParent[yl] = x;
    this.replaceChild(x, y);
    this.rbLeft[y] = x;
    this.rbParent[x] = y;
    this.subtreeGap[y] = this.subtreeGap[x]!;
    this.subtreeGap[x] = this.computeSubtreeGap(x);
  }

  private rotateRight(x: number): void {
    const y = this.rbLeft[x]!;
    const yr = this.rbRight[y]!;
    this.rbLeft[x] = yr;
    if (yr !== NIL) this.rbParent[yr] = x;
    this.replaceChild(x, y);
    this.rbRight[y] = x;
    this.rbParent[x] = y;
    this.subtreeGap[y] = this.subtreeGap[x]!;
    this.subtreeGap[x] = this.computeSubtreeGap(x);
  }

  /** Put y where x hangs (parent link and the parent's child slot). */
  private replaceChild(x: number, y: number): void {
    const p = this.rbParent[x]!;
    this.rbParent[y] = p;
    if (p === NIL) this.root = y;
    else if (this.rbLeft[p] === x) this.rbLeft[p] = y;
    else this.rbRight[p] = y;
  }

  /** lib/rbtree.c: __rb_insert() — v4.19, restoring property 4 after linking a red node. */
  private insertFixup(z: number): void {
    const red = this.rbRed;
    let n = z;
    for (;;) {
      const p = this.rbParent[n]!;
      if (p === NIL) {
        red[n] = 0; // case 1: n is the root
        return;
      }
      if (red[p] === 0) return; // parent black: nothing to do
      const g = this.rbParent[p]!; // p is red, so it is not the root: g exists
      const pIsLeft = this.rbLeft[g] === p;
      const uncle = pIsLeft ? this.rbRight[g]! : this.rbLeft[g]!;
      if (red[uncle] === 1) {
        // case 1: recolour and continue from the grandparent
        red[p] = 0;
        red[uncle] = 0;
        red[g] = 1;
        n = g;
        continue;
      }
      if (pIsLeft) {
        if (this.rbRight[p] === n) {
          this.rotateLeft(p); // case 2: make n an outer child
          n = p;
        }
        const pp = this.rbParent[n]!;
        red[pp] = 0; // case 3
        red[g] = 1;
        this.rotateRight(g);
      } else {
        if (this.rbLeft[p] === n) {
          this.rotateRight(p);
          n = p;
        }
        const pp = this.rbParent[n]!;
        red[pp] = 0;
        red[g] = 1;
        this.rotateLeft(g);
      }
      return;
    }
  }

  /**
   * lib/rbtree.c: ____rb_erase_color() — v4.19: a black node was removed above x (x may be NIL,
   * so its parent is passed explicitly); restore property 5.
   */
  private eraseFixup(x0: number, parent0: number): void {
    const red = this.rbRed;
    let x = x0;
    let parent = parent0;
    while (x !== this.root && red[x] === 0) {
      if (x === this.rbLeft[parent]) {
        let w = this.rbRight[parent]!;
        if (red[w] === 1) {
          red[w] = 0;
          red[parent] = 1;
          this.rotateLeft(parent);
          w = this.rbRight[parent]!;
        }
        if (red[this.rbLeft[w]!] === 0 && red[this.rbRight[w]!] === 0) {
          red[w] = 1;
          x = parent;
          parent = this.rbParent[x]!;
        } else {
          if (red[this.rbRight[w]!] === 0) {
            red[this.rbLeft[w]!] = 0;
            red[w] = 1;
            this.rotateRight(w);
            w = this.rbRight[parent]!;
          }
          red[w] = red[parent]!;
          red[parent] = 0;
          red[this.rbRight[w]!] = 0;
          this.rotateLeft(parent);
          x = this.root;
        }
      } else {
        let w = this.rbLeft[parent]!;
        if (red[w] === 1) {
          red[w] = 0;
          red[parent] = 1;
          this.rotateRight(parent);
          w = this.rbLeft[parent]!;
        }
        if (red[this.rbRight[w]!] === 0 && red[this.rbLeft[w]!] === 0) {
          red[w] = 1;
          x = parent;
          parent = this.rbParent[x]!;
        } else {
          if (red[this.rbLeft[w]!] === 0) {
            red[this.rbRight[w]!] = 0;
            red[w] = 1;
            this.rotateLeft(w);
            w = this.rbLeft[parent]!;
          }
          red[w] = red[parent]!;
          red[parent] = 0;
          red[this.rbLeft[w]!] = 0;
          this.rotateRight(parent);
          x = this.root;
        }
      }
    }
    red[x] = 0;
  }
}

/** floor(addr / PAGE_SIZE) after checking addr is a non-negative number. */
function addrPage(addr: number): number {
  if (!(addr >= 0))
    throw new RangeError(`@mmlab/vma-tree: address ${addr} is not a non-negative number`);
  return Math.floor(addr / PAGE_SIZE);
}

/** A vm_unmapped_area_info field in pages; it must be a non-negative page multiple. */
function infoPages(bytes: number, field: string): number {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes % PAGE_SIZE !== 0) {
    throw new RangeError(
      `@mmlab/vma-tree: vm_unmapped_area_info.${field} ${bytes} is not a non-negative page multiple`,
    );
  }
  return bytes / PAGE_SIZE;
}

function growI32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, cap: number): Float64Array {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}
