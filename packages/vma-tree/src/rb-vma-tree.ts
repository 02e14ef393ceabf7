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
 * Representation. Nodes live in an arena of 64-byte records in one ArrayBuffer (index 0 is
 * the NIL sentinel: black, rb_subtree_gap 0), see NODE LAYOUT below: vm_start, vm_end and
 * vm_start_gap are cached as PAGE INDICES (exact below 2^53, so 5-level addresses are fine)
 * next to rb_subtree_gap, the rb links, the vm_prev/vm_next list and the colour. A parallel
 * array holds the Vma objects. Why an arena rather than fields on Vma (as the kernel embeds
 * vm_rb): the Vma class is shared with the maple tree, and with every key a descent needs in
 * one record per level, find_vma and the gap searches touch no Vma object until the answer.
 * The price is that erase/next/prev must find a VMA's node by a key descent (O(log n)); a
 * one-entry hint makes the common "look up, then step" pattern O(1).
 *
 * vm_end_gap(prev) is prev's vm_end because VM_GROWSUP is 0 on x86 (no guard above a VMA).
 * vm_start_gap is cached per node from the VMA's flags at insert/adjust time; VM_GROWSDOWN
 * never changes on a linked VMA in the kernel either.
 */
import { ENOMEM } from "./errno.js";
import { and53, infoPages, PAGE_SIZE, queryPageOf } from "./page.js";
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

/*
 * NODE LAYOUT: node n is the 64-byte record [n * 64, n * 64 + 64) of one ArrayBuffer, so a
 * descent touches one record (usually one cache line) per level instead of one slot in each
 * of ten parallel arrays:
 *
 *   bytes  0..31  Float64  vm_start | vm_end | vm_start_gap | rb_subtree_gap   (pages)
 *   bytes 32..63  Int32    rb_left | rb_right | rb_parent | vm_prev | vm_next | red | - | -
 */
const NODE_BYTES = 64;
const F_STRIDE = 8;
const F_START = 0;
const F_END = 1;
const F_STARTGAP = 2;
const F_GAP = 3;
const I_STRIDE = 16;
const I_LEFT = 8;
const I_RIGHT = 9;
const I_PARENT = 10;
const I_PREV = 11;
const I_NEXT = 12;
const I_RED = 13;

export class RbVmaTree implements VmaTree {
  readonly kind = "rb" as const;
  /** stack_guard_gap in bytes, fixed for the tree's life (a boot parameter in 4.19). */
  readonly stackGuardGap: number;
  private readonly guardPages: number;

  // ---- node arena (index 0 = NIL): one 64-byte record per node, see NODE LAYOUT
  private capacity: number;
  /** The arena's memory; f64 and i32 are two views of it. */
  private buf: ArrayBuffer;
  /** vm_start, vm_end, vm_start_gap, rb_subtree_gap of node n at n * F_STRIDE + F_* (pages). */
  private f64: Float64Array;
  /** rb links, vm_prev/vm_next and colour of node n at n * I_STRIDE + I_*. */
  private i32: Int32Array;
  private vmas: Array<Vma | null>;
  /** Next never-used arena index. */
  private used: number;
  /** Free list of recycled indices, chained through I_NEXT. */
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
    this.buf = new ArrayBuffer(INITIAL_CAPACITY * NODE_BYTES);
    this.f64 = new Float64Array(this.buf);
    this.i32 = new Int32Array(this.buf);
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
    return last === NIL ? 0 : this.f64[last * F_STRIDE + F_END]! * PAGE_SIZE;
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
    const p = n === NIL ? this.tail : this.i32[n * I_STRIDE + I_PREV]!;
    return { vma: n === NIL ? null : this.vmas[n]!, prev: p === NIL ? null : this.vmas[p]! };
  }

  /** include/linux/mm.h: find_vma_intersection() — v4.19 */
  findVmaIntersection(start: number, end: number): Vma | null {
    addrPage(end);
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
    const n = this.i32[this.nodeOf(vma) * I_STRIDE + I_NEXT]!;
    return n === NIL ? null : this.vmas[n]!;
  }

  /** vma->vm_prev */
  vmaPrev(vma: Vma): Vma | null {
    const n = this.i32[this.nodeOf(vma) * I_STRIDE + I_PREV]!;
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
    addrPage(end);
    let n = this.findVmaNode(addrPage(start));
    while (n !== NIL) {
      const vma = this.vmas[n]!;
      if (vma.vmStart >= end) return;
      const next = this.i32[n * I_STRIDE + I_NEXT]!; // read before yielding: the caller may erase vma
      yield vma;
      n = next;
    }
  }

  *[Symbol.iterator](): IterableIterator<Vma> {
    let n = this.head;
    while (n !== NIL) {
      const next = this.i32[n * I_STRIDE + I_NEXT]!;
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
    // find_vma_links(): descend to the insertion point, remembering the predecessor.
    let parent = NIL;
    let cur = this.root;
    let pred = NIL;
    let goLeft = false;
    while (cur !== NIL) {
      parent = cur;
      if (this.f64[cur * F_STRIDE + F_END]! > s) {
        if (this.f64[cur * F_STRIDE + F_START]! < e) {
          throw new Error(
            `@mmlab/vma-tree: insert ${String(vma)} overlaps ${String(this.vmas[cur])}${this.vmas[cur] === vma ? " (already linked)" : ""}`,
          );
        }
        cur = this.i32[cur * I_STRIDE + I_LEFT]!;
        goLeft = true;
      } else {
        pred = cur;
        cur = this.i32[cur * I_STRIDE + I_RIGHT]!;
        goLeft = false;
      }
    }
    const n = this.allocNode(vma, s, e); // may grow the arena: no cached array refs below
    // __vma_link_list
    const succ = pred === NIL ? this.head : this.i32[pred * I_STRIDE + I_NEXT]!;
    this.i32[n * I_STRIDE + I_PREV] = pred;
    this.i32[n * I_STRIDE + I_NEXT] = succ;
    if (pred === NIL) this.head = n;
    else this.i32[pred * I_STRIDE + I_NEXT] = n;
    if (succ === NIL) this.tail = n;
    else this.i32[succ * I_STRIDE + I_PREV] = n;
    // rb_link_node with rb_subtree_gap 0, then fix the gaps, then rebalance (__vma_link_rb).
    this.i32[n * I_STRIDE + I_PARENT] = parent;
    if (parent === NIL) this.root = n;
    else if (goLeft) this.i32[parent * I_STRIDE + I_LEFT] = n;
    else this.i32[parent * I_STRIDE + I_RIGHT] = n;
    if (succ !== NIL) this.gapPropagate(succ); // the gap below succ shrank
    this.gapPropagate(n);
    this.insertFixup(n);
    this.count++;
    this.hint = n;
  }

  /** mm/mmap.c: __vma_unlink_common() + vma_rb_erase() + vma_gap_update(next) — v4.19 */
  erase(vma: Vma): void {
    const z = this.nodeOf(vma);
    let del = z;
    let after: number;
    if (this.i32[z * I_STRIDE + I_LEFT] !== NIL && this.i32[z * I_STRIDE + I_RIGHT] !== NIL) {
      // Two children: the successor (= vm_next, leftmost of the right subtree) moves into
      // z's slot and its old slot, which has at most one child, is spliced out.
      const s = this.i32[z * I_STRIDE + I_NEXT]!;
      this.movePayload(s, z);
      const sn = this.i32[s * I_STRIDE + I_NEXT]!;
      this.i32[z * I_STRIDE + I_NEXT] = sn;
      if (sn === NIL) this.tail = z;
      else this.i32[sn * I_STRIDE + I_PREV] = z;
      del = s;
      after = z;
    } else {
      const p = this.i32[z * I_STRIDE + I_PREV]!;
      const nx = this.i32[z * I_STRIDE + I_NEXT]!;
      if (p === NIL) this.head = nx;
      else this.i32[p * I_STRIDE + I_NEXT] = nx;
      if (nx === NIL) this.tail = p;
      else this.i32[nx * I_STRIDE + I_PREV] = p;
      after = nx;
    }
    // Splice out del (at most one child).
    const child =
      this.i32[del * I_STRIDE + I_LEFT] !== NIL
        ? this.i32[del * I_STRIDE + I_LEFT]!
        : this.i32[del * I_STRIDE + I_RIGHT]!;
    const parent = this.i32[del * I_STRIDE + I_PARENT]!;
    this.i32[child * I_STRIDE + I_PARENT] = parent; // may write NIL's parent: delete fixup relies on it
    if (parent === NIL) this.root = child;
    else if (this.i32[parent * I_STRIDE + I_LEFT] === del)
      this.i32[parent * I_STRIDE + I_LEFT] = child;
    else this.i32[parent * I_STRIDE + I_RIGHT] = child;
    const wasBlack = this.i32[del * I_STRIDE + I_RED] === 0;
    this.gapPropagate(parent);
    if (after !== NIL) this.gapPropagate(after); // the gap below `after` grew
    if (wasBlack) this.eraseFixup(child, parent);
    this.i32[NIL * I_STRIDE + I_PARENT] = NIL;
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
    const p = this.i32[n * I_STRIDE + I_PREV]!;
    const nx = this.i32[n * I_STRIDE + I_NEXT]!;
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
    this.f64[n * F_STRIDE + F_START] = vmStart / PAGE_SIZE;
    this.f64[n * F_STRIDE + F_END] = vmEnd / PAGE_SIZE;
    this.f64[n * F_STRIDE + F_STARTGAP] = this.startGapOf(vma);
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
    let gapStart = 0;
    let gapEnd = 0;
    let found = false;
    let n = this.root;
    if (n !== NIL && this.f64[n * F_STRIDE + F_GAP]! >= length) {
      descend: for (;;) {
        // Visit the left subtree if it looks promising.
        gapEnd = this.f64[n * F_STRIDE + F_STARTGAP]!;
        if (
          gapEnd >= lowLimit &&
          this.i32[n * I_STRIDE + I_LEFT] !== NIL &&
          this.f64[this.i32[n * I_STRIDE + I_LEFT]! * F_STRIDE + F_GAP]! >= length
        ) {
          n = this.i32[n * I_STRIDE + I_LEFT]!;
          continue;
        }
        gapStart =
          this.i32[n * I_STRIDE + I_PREV] !== NIL
            ? this.f64[this.i32[n * I_STRIDE + I_PREV]! * F_STRIDE + F_END]!
            : 0;
        for (;;) {
          // check_current: the gap just below n.
          if (gapStart > highLimit) return -ENOMEM;
          if (gapEnd >= lowLimit && gapEnd > gapStart && gapEnd - gapStart >= length) {
            found = true;
            break descend;
          }
          // Visit the right subtree if it looks promising.
          if (
            this.i32[n * I_STRIDE + I_RIGHT] !== NIL &&
            this.f64[this.i32[n * I_STRIDE + I_RIGHT]! * F_STRIDE + F_GAP]! >= length
          ) {
            n = this.i32[n * I_STRIDE + I_RIGHT]!;
            continue descend;
          }
          // Go back up to the next in-order candidate (first ancestor we are left of).
          for (;;) {
            const child = n;
            n = this.i32[n * I_STRIDE + I_PARENT]!;
            if (n === NIL) break descend;
            if (this.i32[n * I_STRIDE + I_LEFT] === child) break;
          }
          gapStart = this.f64[this.i32[n * I_STRIDE + I_PREV]! * F_STRIDE + F_END]!;
          gapEnd = this.f64[n * F_STRIDE + F_STARTGAP]!;
        }
      }
    }
    if (!found) {
      // check_highest: the space above the last VMA.
      gapStart = this.tail === NIL ? 0 : this.f64[this.tail * F_STRIDE + F_END]!;
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
    let gapStart = this.tail === NIL ? 0 : this.f64[this.tail * F_STRIDE + F_END]!;
    if (gapStart > highLimit) {
      let n = this.root;
      if (n === NIL || this.f64[n * F_STRIDE + F_GAP]! < length) return -ENOMEM;
      descend: for (;;) {
        // Visit the right subtree if it looks promising.
        gapStart =
          this.i32[n * I_STRIDE + I_PREV] !== NIL
            ? this.f64[this.i32[n * I_STRIDE + I_PREV]! * F_STRIDE + F_END]!
            : 0;
        if (
          gapStart <= highLimit &&
          this.i32[n * I_STRIDE + I_RIGHT] !== NIL &&
          this.f64[this.i32[n * I_STRIDE + I_RIGHT]! * F_STRIDE + F_GAP]! >= length
        ) {
          n = this.i32[n * I_STRIDE + I_RIGHT]!;
          continue;
        }
        for (;;) {
          // check_current: the gap just below n.
          gapEnd = this.f64[n * F_STRIDE + F_STARTGAP]!;
          if (gapEnd < lowLimit) return -ENOMEM;
          if (gapStart <= highLimit && gapEnd > gapStart && gapEnd - gapStart >= length) {
            break descend;
          }
          // Visit the left subtree if it looks promising.
          if (
            this.i32[n * I_STRIDE + I_LEFT] !== NIL &&
            this.f64[this.i32[n * I_STRIDE + I_LEFT]! * F_STRIDE + F_GAP]! >= length
          ) {
            n = this.i32[n * I_STRIDE + I_LEFT]!;
            continue descend;
          }
          // Go back up to the next candidate below (first ancestor we are right of).
          for (;;) {
            const child = n;
            n = this.i32[n * I_STRIDE + I_PARENT]!;
            if (n === NIL) return -ENOMEM;
            if (this.i32[n * I_STRIDE + I_RIGHT] === child) break;
          }
          gapStart =
            this.i32[n * I_STRIDE + I_PREV] !== NIL
              ? this.f64[this.i32[n * I_STRIDE + I_PREV]! * F_STRIDE + F_END]!
              : 0;
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
    if (this.i32[NIL * I_STRIDE + I_RED] !== 0) fail("NIL is red (property 3)");
    if (this.f64[NIL * F_STRIDE + F_GAP] !== 0) fail("NIL has a non-zero rb_subtree_gap");
    if (root !== NIL && this.i32[root * I_STRIDE + I_PARENT] !== NIL) fail("root has a parent");
    if (this.i32[root * I_STRIDE + I_RED] !== 0) fail("root is red (property 2)");
    // Properties 1, 4, 5, 8 and parent links, bottom-up over an explicit post-order.
    let nodes = 0;
    const blackHeight = (n: number): number => {
      if (n === NIL) return 1;
      nodes++;
      const l = this.i32[n * I_STRIDE + I_LEFT]!;
      const r = this.i32[n * I_STRIDE + I_RIGHT]!;
      if (l !== NIL && this.i32[l * I_STRIDE + I_PARENT] !== n)
        fail(`node ${n}: left child's parent link broken`);
      if (r !== NIL && this.i32[r * I_STRIDE + I_PARENT] !== n)
        fail(`node ${n}: right child's parent link broken`);
      const red = this.i32[n * I_STRIDE + I_RED]!;
      if (red > 1) fail(`node ${n}: colour ${red} (property 1)`);
      if (
        red === 1 &&
        (this.i32[l * I_STRIDE + I_RED] === 1 || this.i32[r * I_STRIDE + I_RED] === 1)
      ) {
        fail(`red node ${String(this.vmas[n])} has a red child (property 4)`);
      }
      const hl = blackHeight(l);
      const hr = blackHeight(r);
      if (hl !== hr)
        fail(`black heights ${hl} != ${hr} below ${String(this.vmas[n])} (property 5)`);
      const want = this.computeSubtreeGap(n);
      if (this.f64[n * F_STRIDE + F_GAP] !== want) {
        fail(
          `rb_subtree_gap of ${String(this.vmas[n])} is ${this.f64[n * F_STRIDE + F_GAP]}, should be ${want} (property 8)`,
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
        n = this.i32[n * I_STRIDE + I_LEFT]!;
      }
      n = stack.pop()!;
      inorder++;
      if (listNode !== n) fail(`in-order node ${n} != list node ${listNode} (property 6)`);
      if (this.i32[n * I_STRIDE + I_PREV] !== prev)
        fail(`vm_prev of ${String(this.vmas[n])} is wrong (property 6)`);
      const vma = this.vmas[n];
      if (vma === null || vma === undefined) fail(`node ${n} holds no VMA`);
      const v = vma as Vma;
      if (
        this.f64[n * F_STRIDE + F_START]! * PAGE_SIZE !== v.vmStart ||
        this.f64[n * F_STRIDE + F_END]! * PAGE_SIZE !== v.vmEnd
      ) {
        fail(
          `${String(v)} was resized without adjust() (cached [${this.f64[n * F_STRIDE + F_START]}, ${this.f64[n * F_STRIDE + F_END]}) pages)`,
        );
      }
      if (this.f64[n * F_STRIDE + F_STARTGAP]! * PAGE_SIZE !== vmStartGap(v, this.stackGuardGap))
        fail(`cached vm_start_gap of ${String(v)} is stale`);
      if (v.vmStart >= v.vmEnd) fail(`${String(v)} is empty`);
      if (prev !== NIL && this.vmas[prev]!.vmEnd > v.vmStart) {
        fail(`${String(this.vmas[prev])} overlaps or is not below ${String(v)} (property 7)`);
      }
      prev = n;
      listNode = this.i32[n * I_STRIDE + I_NEXT]!;
      n = this.i32[n * I_STRIDE + I_RIGHT]!;
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
    let max = this.f64[n * F_STRIDE + F_STARTGAP]!;
    const p = this.i32[n * I_STRIDE + I_PREV]!;
    if (p !== NIL) {
      const prevEnd = this.f64[p * F_STRIDE + F_END]!; // vm_end_gap(prev): VM_GROWSUP is 0 on x86
      max = max > prevEnd ? max - prevEnd : 0;
    }
    const l = this.f64[this.i32[n * I_STRIDE + I_LEFT]! * F_STRIDE + F_GAP]!;
    const r = this.f64[this.i32[n * I_STRIDE + I_RIGHT]! * F_STRIDE + F_GAP]!;
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
    while (n !== NIL) {
      const g = this.computeSubtreeGap(n);
      if (this.f64[n * F_STRIDE + F_GAP] === g) return;
      this.f64[n * F_STRIDE + F_GAP] = g;
      n = this.i32[n * I_STRIDE + I_PARENT]!;
    }
  }

  /** The arena index of a linked VMA; throws if it is not linked here. */
  private nodeOf(vma: Vma): number {
    const h = this.hint;
    if (
      h !== NIL &&
      this.vmas[h] === vma &&
      this.f64[h * F_STRIDE + F_START]! * PAGE_SIZE === vma.vmStart
    )
      return h;
    const key = vma.vmStart / PAGE_SIZE;
    let n = this.root;
    while (n !== NIL) {
      const s = this.f64[n * F_STRIDE + F_START]!;
      if (key === s) break;
      n = key < s ? this.i32[n * I_STRIDE + I_LEFT]! : this.i32[n * I_STRIDE + I_RIGHT]!;
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
    const f64 = this.f64;
    const i32 = this.i32;
    let best = NIL;
    let n = this.root;
    while (n !== NIL) {
      if (f64[n * F_STRIDE + F_END]! > pg) {
        best = n;
        if (f64[n * F_STRIDE + F_START]! <= pg) break;
        n = i32[n * I_STRIDE + I_LEFT]!;
      } else {
        n = i32[n * I_STRIDE + I_RIGHT]!;
      }
    }
    return best;
  }

  private allocNode(vma: Vma, s: number, e: number): number {
    let n = this.freeHead;
    if (n !== NIL) {
      this.freeHead = this.i32[n * I_STRIDE + I_NEXT]!;
      this.vmas[n] = vma;
    } else {
      if (this.used === this.capacity) this.grow();
      n = this.used++;
      this.vmas.push(vma);
    }
    this.i32[n * I_STRIDE + I_LEFT] = NIL;
    this.i32[n * I_STRIDE + I_RIGHT] = NIL;
    this.i32[n * I_STRIDE + I_PARENT] = NIL;
    this.i32[n * I_STRIDE + I_RED] = 1;
    this.f64[n * F_STRIDE + F_START] = s;
    this.f64[n * F_STRIDE + F_END] = e;
    this.f64[n * F_STRIDE + F_STARTGAP] = this.startGapOf(vma);
    this.f64[n * F_STRIDE + F_GAP] = 0;
    return n;
  }

  private freeNode(n: number): void {
    this.vmas[n] = null;
    this.i32[n * I_STRIDE + I_LEFT] = NIL;
    this.i32[n * I_STRIDE + I_RIGHT] = NIL;
    this.i32[n * I_STRIDE + I_PARENT] = NIL;
    this.i32[n * I_STRIDE + I_PREV] = NIL;
    this.i32[n * I_STRIDE + I_NEXT] = this.freeHead;
    this.freeHead = n;
  }

  /** Copy the VMA payload of node `from` into node `to` (erase of a node with two children). */
  private movePayload(from: number, to: number): void {
    this.vmas[to] = this.vmas[from]!;
    this.f64[to * F_STRIDE + F_START] = this.f64[from * F_STRIDE + F_START]!;
    this.f64[to * F_STRIDE + F_END] = this.f64[from * F_STRIDE + F_END]!;
    this.f64[to * F_STRIDE + F_STARTGAP] = this.f64[from * F_STRIDE + F_STARTGAP]!;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const buf = new ArrayBuffer(cap * NODE_BYTES);
    new Uint8Array(buf).set(new Uint8Array(this.buf));
    this.buf = buf;
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
    this.capacity = cap;
  }

  /** Rotation with the augment_rotate callback: the new top inherits the old top's value. */
  private rotateLeft(x: number): void {
    const y = this.i32[x * I_STRIDE + I_RIGHT]!;
    const yl = this.i32[y * I_STRIDE + I_LEFT]!;
    this.i32[x * I_STRIDE + I_RIGHT] = yl;
    if (yl !== NIL) this.i32[yl * I_STRIDE + I_PARENT] = x;
    this.replaceChild(x, y);
    this.i32[y * I_STRIDE + I_LEFT] = x;
    this.i32[x * I_STRIDE + I_PARENT] = y;
    this.f64[y * F_STRIDE + F_GAP] = this.f64[x * F_STRIDE + F_GAP]!;
    this.f64[x * F_STRIDE + F_GAP] = this.computeSubtreeGap(x);
  }

  private rotateRight(x: number): void {
    const y = this.i32[x * I_STRIDE + I_LEFT]!;
    const yr = this.i32[y * I_STRIDE + I_RIGHT]!;
    this.i32[x * I_STRIDE + I_LEFT] = yr;
    if (yr !== NIL) this.i32[yr * I_STRIDE + I_PARENT] = x;
    this.replaceChild(x, y);
    this.i32[y * I_STRIDE + I_RIGHT] = x;
    this.i32[x * I_STRIDE + I_PARENT] = y;
    this.f64[y * F_STRIDE + F_GAP] = this.f64[x * F_STRIDE + F_GAP]!;
    this.f64[x * F_STRIDE + F_GAP] = this.computeSubtreeGap(x);
  }

  /** Put y where x hangs (parent link and the parent's child slot). */
  private replaceChild(x: number, y: number): void {
    const p = this.i32[x * I_STRIDE + I_PARENT]!;
    this.i32[y * I_STRIDE + I_PARENT] = p;
    if (p === NIL) this.root = y;
    else if (this.i32[p * I_STRIDE + I_LEFT] === x) this.i32[p * I_STRIDE + I_LEFT] = y;
    else this.i32[p * I_STRIDE + I_RIGHT] = y;
  }

  /** lib/rbtree.c: __rb_insert() — v4.19, restoring property 4 after linking a red node. */
  private insertFixup(z: number): void {
    let n = z;
    for (;;) {
      const p = this.i32[n * I_STRIDE + I_PARENT]!;
      if (p === NIL) {
        this.i32[n * I_STRIDE + I_RED] = 0; // case 1: n is the root
        return;
      }
      if (this.i32[p * I_STRIDE + I_RED] === 0) return; // parent black: nothing to do
      const g = this.i32[p * I_STRIDE + I_PARENT]!; // p is red, so it is not the root: g exists
      const pIsLeft = this.i32[g * I_STRIDE + I_LEFT] === p;
      const uncle = pIsLeft ? this.i32[g * I_STRIDE + I_RIGHT]! : this.i32[g * I_STRIDE + I_LEFT]!;
      if (this.i32[uncle * I_STRIDE + I_RED] === 1) {
        // case 1: recolour and continue from the grandparent
        this.i32[p * I_STRIDE + I_RED] = 0;
        this.i32[uncle * I_STRIDE + I_RED] = 0;
        this.i32[g * I_STRIDE + I_RED] = 1;
        n = g;
        continue;
      }
      if (pIsLeft) {
        if (this.i32[p * I_STRIDE + I_RIGHT] === n) {
          this.rotateLeft(p); // case 2: make n an outer child
          n = p;
        }
        const pp = this.i32[n * I_STRIDE + I_PARENT]!;
        this.i32[pp * I_STRIDE + I_RED] = 0; // case 3
        this.i32[g * I_STRIDE + I_RED] = 1;
        this.rotateRight(g);
      } else {
        if (this.i32[p * I_STRIDE + I_LEFT] === n) {
          this.rotateRight(p);
          n = p;
        }
        const pp = this.i32[n * I_STRIDE + I_PARENT]!;
        this.i32[pp * I_STRIDE + I_RED] = 0;
        this.i32[g * I_STRIDE + I_RED] = 1;
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
    let x = x0;
    let parent = parent0;
    while (x !== this.root && this.i32[x * I_STRIDE + I_RED] === 0) {
      if (x === this.i32[parent * I_STRIDE + I_LEFT]) {
        let w = this.i32[parent * I_STRIDE + I_RIGHT]!;
        if (this.i32[w * I_STRIDE + I_RED] === 1) {
          this.i32[w * I_STRIDE + I_RED] = 0;
          this.i32[parent * I_STRIDE + I_RED] = 1;
          this.rotateLeft(parent);
          w = this.i32[parent * I_STRIDE + I_RIGHT]!;
        }
        if (
          this.i32[this.i32[w * I_STRIDE + I_LEFT]! * I_STRIDE + I_RED] === 0 &&
          this.i32[this.i32[w * I_STRIDE + I_RIGHT]! * I_STRIDE + I_RED] === 0
        ) {
          this.i32[w * I_STRIDE + I_RED] = 1;
          x = parent;
          parent = this.i32[x * I_STRIDE + I_PARENT]!;
        } else {
          if (this.i32[this.i32[w * I_STRIDE + I_RIGHT]! * I_STRIDE + I_RED] === 0) {
            this.i32[this.i32[w * I_STRIDE + I_LEFT]! * I_STRIDE + I_RED] = 0;
            this.i32[w * I_STRIDE + I_RED] = 1;
            this.rotateRight(w);
            w = this.i32[parent * I_STRIDE + I_RIGHT]!;
          }
          this.i32[w * I_STRIDE + I_RED] = this.i32[parent * I_STRIDE + I_RED]!;
          this.i32[parent * I_STRIDE + I_RED] = 0;
          this.i32[this.i32[w * I_STRIDE + I_RIGHT]! * I_STRIDE + I_RED] = 0;
          this.rotateLeft(parent);
          x = this.root;
        }
      } else {
        let w = this.i32[parent * I_STRIDE + I_LEFT]!;
        if (this.i32[w * I_STRIDE + I_RED] === 1) {
          this.i32[w * I_STRIDE + I_RED] = 0;
          this.i32[parent * I_STRIDE + I_RED] = 1;
          this.rotateRight(parent);
          w = this.i32[parent * I_STRIDE + I_LEFT]!;
        }
        if (
          this.i32[this.i32[w * I_STRIDE + I_RIGHT]! * I_STRIDE + I_RED] === 0 &&
          this.i32[this.i32[w * I_STRIDE + I_LEFT]! * I_STRIDE + I_RED] === 0
        ) {
          this.i32[w * I_STRIDE + I_RED] = 1;
          x = parent;
          parent = this.i32[x * I_STRIDE + I_PARENT]!;
        } else {
          if (this.i32[this.i32[w * I_STRIDE + I_LEFT]! * I_STRIDE + I_RED] === 0) {
            this.i32[this.i32[w * I_STRIDE + I_RIGHT]! * I_STRIDE + I_RED] = 0;
            this.i32[w * I_STRIDE + I_RED] = 1;
            this.rotateLeft(w);
            w = this.i32[parent * I_STRIDE + I_LEFT]!;
          }
          this.i32[w * I_STRIDE + I_RED] = this.i32[parent * I_STRIDE + I_RED]!;
          this.i32[parent * I_STRIDE + I_RED] = 0;
          this.i32[this.i32[w * I_STRIDE + I_LEFT]! * I_STRIDE + I_RED] = 0;
          this.rotateRight(parent);
          x = this.root;
        }
      }
    }
    this.i32[x * I_STRIDE + I_RED] = 0;
  }
}

const TWO_64 = 2 ** 64;

/** floor(addr / PAGE_SIZE) after the query-address check. */
function addrPage(addr: number): number {
  if (Number.isInteger(addr) && addr >= 0 && addr <= TWO_64) return Math.floor(addr / PAGE_SIZE);
  return queryPageOf(addr, "RbVmaTree");
}
