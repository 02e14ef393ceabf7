/**
 * Writes to the maple tree (lib/maple_tree.c — v6.8): mas_store, with the node split,
 * rebalance and spanning-store machinery reduced to one window rewrite.
 *
 * A store of [first, last] touches a contiguous WINDOW of leaves: the leaf holding `first`
 * (orig_l) through the leaf holding `last` (orig_r). Their surviving ranges plus the new one
 * are gathered in a big node (maple_big_node, `b*` below) and rewritten, level by level:
 *
 *   level h:  [ l ... window ... r ]      b = left remnant + new range/nodes + right remnant
 *              |                  |
 *   level h+1: lParent ........ rParent   b' = lParent slots before l + new nodes
 *                                              + rParent slots after r
 *
 *  - b fits one node and the window is one node: write it in place and fix the gaps up to
 *    the root (mas_wr_node_store; the common case).
 *  - b is larger than a node: split it into k nodes (mas_split / mab_calc_split).
 *  - b is below the minimum occupancy: pull the next (else previous) node of the same level
 *    into the window first (mas_rebalance / mast_spanning_rebalance), then write.
 *  - At the root: more than a node -> a new root above (the tree grows); an internal root
 *    left with one child is replaced by it (the tree shrinks, mas_new_root / mte_destroy).
 * Nodes of a window that is rewritten are freed whole and fresh ones allocated (the arena's
 * free list hands the same ids back), so every level above only sees new child ids.
 */
import { MAPLE_MAX } from "../page.js";
import { nodeName } from "./hooks.js";
import {
  MAPLE_ARANGE64_MIN,
  MAPLE_HEIGHT_MAX,
  MAPLE_RANGE64_MIN,
  MAPLE_RANGE64_SLOTS,
  type MapleNodeArena,
  NODE_STRIDE,
} from "./node.js";
import { type MapleRootState, masWalk, noteKey, walkPos } from "./walk.js";

// Literal copies for the hot paths: an imported binding can compile to a property load
// (CommonJS interop getters when run from source), a literal cannot.
const LEAF_SLOTS = 16; // MAPLE_RANGE64_SLOTS
const LEAF_MIN = 6; // MAPLE_RANGE64_MIN
const MAX_INDEX = 9007199254740991; // MAPLE_MAX
const NODE_SHIFT = 5; // log2(NODE_STRIDE)
if (
  LEAF_SLOTS !== MAPLE_RANGE64_SLOTS ||
  LEAF_MIN !== MAPLE_RANGE64_MIN ||
  MAX_INDEX !== MAPLE_MAX ||
  1 << NODE_SHIFT !== NODE_STRIDE
)
  throw new Error("@mmlab/vma-tree: store.ts constants");

/**
 * The in-leaf fast path of {@link storeFromPath} (see there). Only tests turn it off, to
 * check that both paths leave identical trees.
 */
let leafFastPath = true;
/** @internal for tests: enable or disable the in-leaf store fast path; returns the old value. */
export function setLeafFastPath(enabled: boolean): boolean {
  const old = leafFastPath;
  leafFastPath = enabled;
  return old;
}
const H = MAPLE_HEIGHT_MAX + 1;

// The window edges per level (maple_subtree_state orig_l / orig_r): node id, the slot taken
// in that node on the way down (the leaf slot at level 0), and the node's [min, max].
const lNode = new Int32Array(H);
const lOff = new Int32Array(H);
const lMin = new Float64Array(H);
const lMax = new Float64Array(H);
const rNode = new Int32Array(H);
const rOff = new Int32Array(H);
const rMin = new Float64Array(H);
const rMax = new Float64Array(H);
// A cursor for walking the window's nodes when they are freed.
const tNode = new Int32Array(H);
const tOff = new Int32Array(H);
const tMin = new Float64Array(H);
const tMax = new Float64Array(H);

// The big node (struct maple_big_node): at most 3 nodes' worth plus a pulled-in sibling.
const BIG = 96;
const bPivot = new Float64Array(BIG);
const bSlot: unknown[] = [];
for (let i = 0; i < BIG; i++) bSlot.push(null);
const bChild = new Int32Array(BIG);
const bGap = new Float64Array(BIG);
let bCount = 0;
/** Minimum of the first range in b. */
let bMin = 0;

// The nodes a window was rewritten into.
const splitSize = new Int32Array(8);
const newId = new Int32Array(8);
const newMax = new Float64Array(8);
const newGap = new Float64Array(8);

/**
 * How mas_wr_modify() (lib/maple_tree.c — v6.3) would carry out the current one-leaf store,
 * computed by {@link masWrModify}; the layout the model writes is the same either way, this
 * decides only whether the leaf is rewritten in place or replaced, and what a reader sees.
 */
const WR_DIRECT = 0; // direct replacement of one slot (rcu_assign_pointer): reader-safe
const WR_SLOT = 1; // mas_wr_slot_store(): one slot and one pivot, in place: reader-safe
const WR_APPEND = 2; // mas_wr_append(): in place even in RCU mode in v6.3, not reader-safe
const WR_NODE = 3; // mas_wr_node_store(): a new node in RCU mode, memcpy'd back outside it
const WR_BNODE = 4; // mas_wr_bnode(), the slow path: a new node in RCU mode (mas_reuse_node)
const WR_SPANNING = 5; // mas_wr_spanning_store(): the store spans leaves, new nodes always
let wrPath = WR_SPANNING;
/** The store leaves every slot's entry where it was: only pivots move (see storeInLeaf). */
let wrPivotOnly = false;
const WR_VIA = [
  "",
  "",
  "mas_wr_append()",
  "mas_wr_node_store()",
  "mas_wr_bnode()",
  "mas_wr_spanning_store()",
];

/**
 * lib/maple_tree.c: mas_store_gfp() / mtree_store_range() — v6.8. Overwrites [first, last]
 * with entry (NULL erases); partly covered neighbours keep their entry outside the range.
 * Arguments are already validated.
 */
export function masStoreRange<T>(
  mt: MapleRootState<T>,
  first: number,
  last: number,
  entry: T | null,
): void {
  walkLeft(mt, first);
  storeFromPath(mt, first, last, entry);
}

/**
 * lib/maple_tree.c: mtree_insert_range() — v6.8. Stores entry over [first, last] only if the
 * whole range is NULL: one walk, since [first, last] is free exactly when the range holding
 * `first` is NULL and reaches `last` (a NULL range is always followed by an entry).
 */
export function masInsertRange<T>(
  mt: MapleRootState<T>,
  first: number,
  last: number,
  entry: T,
): boolean {
  walkLeft(mt, first);
  const i = (lNode[0] as number) * LEAF_SLOTS + (lOff[0] as number);
  const a = mt.arena;
  if (a.leafSlots[i] !== null || (a.leafPivots[i] as number) < last) return false;
  storeFromPath(mt, first, last, entry);
  return true;
}

/** lib/maple_tree.c: mtree_erase() — v6.8. Erases the range holding index; returns its entry. */
export function masErase<T>(mt: MapleRootState<T>, index: number): T | null {
  walkLeft(mt, index);
  const a = mt.arena;
  const base = (lNode[0] as number) * LEAF_SLOTS;
  const off = lOff[0] as number;
  const entry = a.leafSlots[base + off] as T | null;
  if (entry === null) return null;
  const first = off > 0 ? (a.leafPivots[base + off - 1] as number) + 1 : (lMin[0] as number);
  storeFromPath(mt, first, a.leafPivots[base + off] as number, null);
  return entry;
}

/**
 * Erase [first, last] only if exactly that range holds entry (vma_iter_clear of a linked
 * VMA); false, changing nothing, otherwise.
 */
export function masEraseExact<T>(
  mt: MapleRootState<T>,
  first: number,
  last: number,
  entry: T,
): boolean {
  walkLeft(mt, first);
  const a = mt.arena;
  const base = (lNode[0] as number) * LEAF_SLOTS;
  const off = lOff[0] as number;
  if (a.leafSlots[base + off] !== entry || a.leafPivots[base + off] !== last) return false;
  const start = off > 0 ? (a.leafPivots[base + off - 1] as number) + 1 : (lMin[0] as number);
  if (start !== first) return false;
  storeFromPath(mt, first, last, null);
  return true;
}

/**
 * Modification counts (mt.seq) are stamps unique across every tree (see nextSeq), so one
 * number says for which tree and which state of it lNode/lOff/lMin/lMax still hold a valid
 * path: set after a store that rewrote its leaf in place, which leaves every node of the path
 * and its bounds as they were, and cleared by any walk of the left path. A store whose index
 * lies in that leaf then starts from the path it already has, as the kernel's ma_state keeps
 * its node between mas_* calls, instead of walking down again: vma_iter_clear() followed by
 * vma_iter_store() of the same range. No tree is referenced from here, so none is kept alive.
 */
let seqStamp = 0;
let pathSeq = -1;

/** @internal a fresh modification stamp for a tree (mt.seq), unique across trees. */
export function nextSeq(): number {
  return ++seqStamp;
}

/** Fill the left path (lNode, lOff, lMin, lMax) for index: from the kept leaf, or a walk. */
function walkLeft<T>(mt: MapleRootState<T>, index: number): void {
  if (pathSeq === mt.seq && index >= (lMin[0] as number) && index <= (lMax[0] as number)) {
    const lp = mt.arena.leafPivots;
    const b = (lNode[0] as number) << 4; // * LEAF_SLOTS
    let i = b;
    while ((lp[i] as number) < index) i++;
    lOff[0] = i - b;
    return;
  }
  pathSeq = -1; // the path arrays are shared by every tree: they name mt's nodes from here
  pathWalk(mt, index, lNode, lOff, lMin, lMax);
}

/** The store itself, with the left path already walked to `first`. */
function storeFromPath<T>(
  mt: MapleRootState<T>,
  first: number,
  last: number,
  entry: T | null,
): void {
  const a = mt.arena;
  const lp = a.leafPivots;
  const ls = a.leafSlots;
  let lo = first;
  let hi = last;
  if (entry === null && lo > 0) {
    // mas_wr_extend_null (left): a NULL range just below lo joins the store.
    const base = (lNode[0] as number) * LEAF_SLOTS;
    const off = lOff[0] as number;
    const start = off > 0 ? (lp[base + off - 1] as number) + 1 : (lMin[0] as number);
    if (start < lo) {
      if (ls[base + off] === null) lo = start;
    } else if (off > 0 && ls[base + off - 1] === null) {
      lo = off > 1 ? (lp[base + off - 2] as number) + 1 : (lMin[0] as number);
      lOff[0] = off - 1;
    }
    // At slot 0 there is nothing to join: the previous leaf does not end on NULL.
  }
  if (hi <= (lMax[0] as number)) {
    for (let h = mt.levels - 1; h >= 0; h--) {
      rNode[h] = lNode[h] as number;
      rOff[h] = lOff[h] as number;
      rMin[h] = lMin[h] as number;
      rMax[h] = lMax[h] as number;
    }
    let i = (rNode[0] as number) * LEAF_SLOTS + (lOff[0] as number);
    while ((lp[i] as number) < hi) i++;
    rOff[0] = i - (rNode[0] as number) * LEAF_SLOTS;
  } else {
    pathWalk(mt, hi, rNode, rOff, rMin, rMax);
  }
  if (entry === null && hi < MAPLE_MAX) {
    // mas_wr_extend_null (right): a NULL range just above hi joins the store.
    const node = rNode[0] as number;
    const base = node * LEAF_SLOTS;
    const off = rOff[0] as number;
    const pivot = lp[base + off] as number;
    if (pivot > hi) {
      if (ls[base + off] === null) hi = pivot;
    } else if (off < (a.leafEnd[node] as number)) {
      if (ls[base + off + 1] === null) {
        hi = lp[base + off + 1] as number;
        rOff[0] = off + 1;
      }
    } else if (masWalk(mt, hi + 1) === null) {
      hi = walkPos.max;
      pathWalk(mt, hi, rNode, rOff, rMin, rMax);
    }
  }

  if (entry === null && hi < MAPLE_MAX && hi === (rMax[0] as number)) {
    // mas_is_span_wr: only the right-most leaf may end on NULL, so a NULL reaching the end
    // of any other leaf spans into the next one, whose first range (an entry: the NULL
    // would have been joined above) moves into the window.
    pathWalk(mt, hi + 1, rNode, rOff, rMin, rMax);
  }

  if (lNode[0] !== rNode[0]) {
    wrPath = WR_SPANNING;
  } else if (leafFastPath && storeInLeaf(mt, lo, hi, entry)) {
    mt.seq = ++seqStamp;
    // The leaf was written in place: the path still names every node from the root down
    // to it, with their bounds (see walkLeft).
    pathSeq = mt.seq;
    return;
  } else {
    masWrModify(mt, lo, hi, entry); // for rebuildWindow's in-place case
  }

  // b = the left leaf's ranges below lo, the new range, the right leaf's ranges above hi.
  bCount = 0;
  bMin = lMin[0] as number;
  let base = (lNode[0] as number) * LEAF_SLOTS;
  const lSlot = lOff[0] as number;
  for (let i = 0; i < lSlot; i++) pushRange(lp[base + i] as number, ls[base + i] as T | null);
  const slotStart = lSlot > 0 ? (lp[base + lSlot - 1] as number) + 1 : bMin;
  if (slotStart < lo) pushRange(lo - 1, ls[base + lSlot] as T | null);
  pushRange(hi, entry);
  const right = rNode[0] as number;
  base = right * LEAF_SLOTS;
  const rSlot = rOff[0] as number;
  const rEnd = a.leafEnd[right] as number;
  if ((lp[base + rSlot] as number) > hi)
    pushRange(lp[base + rSlot] as number, ls[base + rSlot] as T | null);
  for (let i = rSlot + 1; i <= rEnd; i++)
    pushRange(lp[base + i] as number, ls[base + i] as T | null);

  rebuildWindow(mt);
  mt.seq = ++seqStamp;
}

/**
 * lib/maple_tree.c: mas_wr_modify() — v6.3 (the same in v6.1 and v6.4). Which write path the
 * kernel takes for a store of [lo, hi] inside one leaf (slots lOff[0]..rOff[0], after the NULL
 * extension of mas_wr_extend_null), in the kernel's order; sets wrPath and wrPivotOnly.
 *
 *   direct replacement  [lo, hi] is exactly one existing range: rcu_assign_pointer(slot)
 *   node_size >= 16     node_end - offset_end + offset + 2, plus 1 when the leaf's max is
 *                       ULONG_MAX: too full for the fast paths, mas_wr_bnode() (slow path)
 *   mas_wr_append()     entry != NULL, node_end < 15, the store is in the last range and
 *                       touches exactly one of its ends (end of range / start of range)
 *   mas_wr_slot_store() offset_end - offset <= 1 and one range boundary moves: all of offset
 *                       and a portion of offset + 1, or a portion of offset and all of
 *                       offset + 1 (a stack growing into the NULL below it, which remains)
 *   mas_wr_node_store() otherwise, if the result fits (new_end < 16) and is not too small
 *                       (new_end > 6 unless the leaf is the root), else mas_wr_bnode()
 *
 * Checked against a stored copy of lib/maple_tree.c from before Peng Zhang's 2023 rework of
 * this path (merged for v6.5: mas_wr_new_end(), and mas_wr_slot_store()'s two-pivot form,
 * which v6.8 allows only outside RCU mode). Later kernels differ; this models v6.1 - v6.4.
 */
function masWrModify<T>(mt: MapleRootState<T>, lo: number, hi: number, entry: T | null): void {
  const a = mt.arena;
  const lp = a.leafPivots;
  const ls = a.leafSlots;
  const leaf = lNode[0] as number;
  const base = leaf << 4;
  const lSlot = lOff[0] as number;
  const rSlot = rOff[0] as number;
  const end = a.leafEnd[leaf] as number;
  const rMin = lSlot > 0 ? (lp[base + lSlot - 1] as number) + 1 : (lMin[0] as number);
  const keepLeft = rMin < lo;
  const keepRight = (lp[base + rSlot] as number) > hi;
  const tailTo = lSlot + (keepLeft ? 1 : 0) + 1 + (keepRight ? 1 : 0);
  wrPath = wrModifyPath(mt, end, lSlot, rSlot, keepLeft, keepRight, entry !== null, tailTo);
  wrPivotOnly =
    tailTo === rSlot + 1 && sameSlots(ls, base, lSlot, rSlot, keepLeft, keepRight, entry);
}

/** The decision of {@link masWrModify} from the store's shape (storeInLeaf has it at hand). */
function wrModifyPath<T>(
  mt: MapleRootState<T>,
  end: number,
  lSlot: number,
  rSlot: number,
  keepLeft: boolean,
  keepRight: boolean,
  hasEntry: boolean,
  tailTo: number,
): number {
  if (lSlot === rSlot && !keepLeft && !keepRight) return WR_DIRECT;
  let nodeSize = end - rSlot + lSlot + 2;
  if (lMax[0] === MAX_INDEX) nodeSize++;
  if (nodeSize >= LEAF_SLOTS) return WR_BNODE;
  if (hasEntry && end < LEAF_SLOTS - 1 && lSlot === end && keepLeft !== keepRight) return WR_APPEND;
  if (rSlot === lSlot + 1 && keepLeft !== keepRight) return WR_SLOT;
  const newEnd = tailTo + end - rSlot - 1;
  return newEnd >= LEAF_SLOTS || (mt.levels > 1 && newEnd <= MAPLE_RANGE64_MIN)
    ? WR_BNODE
    : WR_NODE;
}

/**
 * Bump a node's generation for an in-place write a concurrent reader would not survive.
 * Direct replacement and mas_wr_slot_store() are the kernel's RCU-safe in-place writes (one
 * rcu_assign_pointer() and at most one pivot); a write that leaves every slot's entry where
 * it was only moves pivots (`pivotOnly`: mas_reuse_node() copies the same slots back).
 * Anything else shifts slots or changes the node's end under a reader.
 */
function rewriteInPlace<T>(mt: MapleRootState<T>, id: number, pivotOnly: boolean): void {
  if (wrPath === WR_DIRECT || wrPath === WR_SLOT || pivotOnly) return;
  nodeRewritten(mt, true, id);
}

/**
 * lib/maple_tree.c: mas_wr_node_store() / mas_wr_slot_store() — v6.8, the common case of a
 * store: [lo, hi] lies in one leaf (slots lOff[0]..rOff[0]) and the result still fits that
 * leaf (at most 16 ranges, at least the minimum unless the leaf is the root). Rewrites the
 * leaf in place, shifting its tail, instead of going through the big node: the same result
 * as rebuildWindow's in-place case (phase 2), which tests check against it. False (nothing
 * changed) when the store does not fit.
 */
function storeInLeaf<T>(mt: MapleRootState<T>, lo: number, hi: number, entry: T | null): boolean {
  const a = mt.arena;
  let lp = a.leafPivots;
  const ls = a.leafSlots;
  let leaf = lNode[0] as number;
  let base = leaf << 4;
  const lSlot = lOff[0] as number;
  const rSlot = rOff[0] as number;
  const end = a.leafEnd[leaf] as number;
  const slotStart = lSlot > 0 ? (lp[base + lSlot - 1] as number) + 1 : (lMin[0] as number);
  const keepLeft = slotStart < lo; // the left range keeps [slotStart, lo - 1]
  const rPivot = lp[base + rSlot] as number;
  const keepRight = rPivot > hi; // the right range keeps [hi + 1, rPivot]
  const tailFrom = rSlot + 1;
  const tailTo = lSlot + (keepLeft ? 1 : 0) + 1 + (keepRight ? 1 : 0);
  const count = tailTo + end - rSlot;
  if (count > LEAF_SLOTS || (count < LEAF_MIN && mt.levels > 1)) return false;
  const leftEntry = ls[base + lSlot] as T | null;
  const rightEntry = ls[base + rSlot] as T | null;
  wrPath = wrModifyPath(mt, end, lSlot, rSlot, keepLeft, keepRight, entry !== null, tailTo);
  if (mt.rcu && wrPath >= WR_NODE) {
    // RCU mode, mas_wr_node_store() or the slow path (the leaf too full for the fast paths):
    // the writer fills a new node and links it in place of the old one, which readers may
    // still be walking (mas_replace -> ma_free_rcu). The fast paths stay in place below.
    leaf = replaceInPath(mt, 0, true, true);
    base = leaf << 4;
    lp = a.leafPivots; // the allocation may have grown the arena
  } else if (wrPath > WR_SLOT) {
    rewriteInPlace(
      mt,
      leaf,
      tailTo === tailFrom && sameSlots(ls, base, lSlot, rSlot, keepLeft, keepRight, entry),
    );
  }
  let removed = 0;
  for (let k = lSlot; k <= rSlot; k++) if (ls[base + k] !== null) removed++;
  let added = entry === null ? 0 : 1;
  if (keepLeft && leftEntry !== null) added++;
  if (keepRight && rightEntry !== null) added++;
  // Move the tail (slots after rSlot) to start at tailTo.
  if (tailTo > tailFrom) {
    for (let k = end; k >= tailFrom; k--) {
      lp[base + k + tailTo - tailFrom] = lp[base + k] as number;
      ls[base + k + tailTo - tailFrom] = ls[base + k] as T | null;
    }
  } else if (tailTo < tailFrom) {
    for (let k = tailFrom; k <= end; k++) {
      lp[base + k + tailTo - tailFrom] = lp[base + k] as number;
      ls[base + k + tailTo - tailFrom] = ls[base + k] as T | null;
    }
  }
  let k = base + lSlot;
  if (keepLeft) {
    lp[k] = lo - 1;
    ls[k] = leftEntry;
    k++;
  }
  lp[k] = hi;
  ls[k] = entry;
  k++;
  if (keepRight) {
    lp[k] = rPivot;
    ls[k] = rightEntry;
  }
  const newEnd = count - 1;
  for (let j = newEnd + 1; j <= end; j++) {
    lp[base + j] = MAX_INDEX; // unused pivots stay MAPLE_MAX (see node.ts)
    ls[base + j] = null;
  }
  a.leafEnd[leaf] = newEnd;
  mt.entryCount += added - removed;
  if (a.allocRange && mt.levels > 1) {
    // mas_leaf_max_gap(), then mas_update_gap() up the tree.
    let gap = 0;
    let start = lMin[0] as number;
    for (let j = 0; j <= newEnd; j++) {
      const pivot = lp[base + j] as number;
      if (ls[base + j] === null && pivot - start + 1 > gap) gap = pivot - start + 1;
      start = pivot + 1;
    }
    masUpdateGap(mt, 0, gap);
  }
  return true;
}

/**
 * True when writing [keepLeft: leftEntry], entry, [keepRight: rightEntry] over slots
 * lSlot..rSlot leaves every slot's entry as it was: only pivots move.
 */
function sameSlots(
  ls: unknown[],
  base: number,
  lSlot: number,
  rSlot: number,
  keepLeft: boolean,
  keepRight: boolean,
  entry: unknown,
): boolean {
  let k = base + lSlot;
  if (keepLeft) k++; // the left range keeps its own entry in slot lSlot
  if (ls[k] !== entry) return false;
  k++;
  if (keepRight) k++; // and the right range keeps its own
  return k === base + rSlot + 1;
}

/** A node's slots were rewritten in place: bump its generation, tell the hooks. */
function nodeRewritten<T>(mt: MapleRootState<T>, leaf: boolean, id: number): void {
  const a = mt.arena;
  if (leaf) a.leafGen[id] = ((a.leafGen[id] as number) + 1) >>> 0;
  else a.nodeGen[id] = ((a.nodeGen[id] as number) + 1) >>> 0;
  const hooks = mt.hooks;
  if (hooks !== null) {
    mt.notes.set(noteKey(leaf, id), `it was rewritten in place by ${hooks.writer()}`);
    hooks.nodeRewritten(leaf, id);
  }
}

/**
 * A node leaves the tree: in RCU mode with hooks it is retired and freed when the owner calls
 * release() after a grace period (ma_free_rcu); otherwise it is freed at once (mas_free).
 */
function disposeNode<T>(mt: MapleRootState<T>, leaf: boolean, id: number): void {
  const a = mt.arena;
  const hooks = mt.hooks;
  if (hooks === null) {
    if (leaf) a.freeLeaf(id);
    else a.freeNode(id);
    return;
  }
  const key = noteKey(leaf, id);
  if (mt.rcu) {
    if (leaf) a.retireLeaf(id);
    else a.retireNode(id);
    if (!mt.notes.has(key) || !(mt.notes.get(key) as string).startsWith("it was replaced")) {
      mt.notes.set(key, `it left the tree in a write by ${hooks.writer()}`);
    }
    hooks.nodeRetired(leaf, id, () => releaseRetired(mt, a, leaf, id));
    return;
  }
  mt.notes.set(key, `it was freed by ${hooks.writer()}`);
  if (leaf) a.freeLeaf(id);
  else a.freeNode(id);
  hooks.nodeFreed(leaf, id);
}

/** The grace period of a retired node ended (mt_free_rcu): free it. */
function releaseRetired<T>(
  mt: MapleRootState<T>,
  a: MapleNodeArena<T>,
  leaf: boolean,
  id: number,
): void {
  if (mt.arena !== a) return; // the tree was destroyed meanwhile
  if (!(leaf ? a.releaseLeaf(id) : a.releaseNode(id))) return;
  const key = noteKey(leaf, id);
  mt.notes.set(key, `${mt.notes.get(key) ?? ""}, then freed after a grace period (mt_free_rcu)`);
  mt.hooks?.nodeFreed(leaf, id);
}

/**
 * RCU mode: link a fresh node where the path's node of level h is (the parent's slot, or the
 * root) and retire the old one; with `copy`, the fresh node starts as a copy of the old.
 * The path (lNode, and rNode where equal) then names the fresh node. Returns its id.
 */
function replaceInPath<T>(mt: MapleRootState<T>, h: number, leaf: boolean, copy: boolean): number {
  const a = mt.arena;
  const old = lNode[h] as number;
  const id = leaf ? a.allocLeaf() : a.allocNode();
  if (copy) {
    if (leaf) {
      const from = old * LEAF_SLOTS;
      const to = id * LEAF_SLOTS;
      a.leafPivots.copyWithin(to, from, from + LEAF_SLOTS);
      for (let i = 0; i < LEAF_SLOTS; i++) a.leafSlots[to + i] = a.leafSlots[from + i] as T | null;
      a.leafEnd[id] = a.leafEnd[old] as number;
    } else {
      a.nodeData.copyWithin(id * NODE_STRIDE, old * NODE_STRIDE, (old + 1) * NODE_STRIDE);
      a.nodeEnd[id] = a.nodeEnd[old] as number;
    }
  }
  if (h === mt.levels - 1) {
    mt.root = id;
  } else {
    const parent = lNode[h + 1] as number;
    a.nodeData[parent * NODE_STRIDE + a.nodeSlots + (lOff[h + 1] as number)] = id;
  }
  if (rNode[h] === old) rNode[h] = id;
  lNode[h] = id;
  const hooks = mt.hooks;
  if (hooks !== null) {
    const via = wrPath >= WR_NODE ? (WR_VIA[wrPath] as string) : "mas_wr_bnode()";
    mt.notes.set(
      noteKey(leaf, old),
      `it was replaced by ${nodeName(leaf, id)} in a write by ${hooks.writer()} -> ${via}`,
    );
    hooks.nodeReplaced(leaf, old, id, via);
  }
  disposeNode(mt, leaf, old);
  return id;
}

/** Walk to index recording every level's node, slot and bounds (mas_walk with a path). */
function pathWalk<T>(
  mt: MapleRootState<T>,
  index: number,
  nodes: Int32Array,
  offs: Int32Array,
  mins: Float64Array,
  maxs: Float64Array,
): void {
  const a = mt.arena;
  const s = a.nodeSlots;
  const arange = a.allocRange;
  const d = a.nodeData;
  let node = mt.root;
  let min = 0;
  let max = MAX_INDEX;
  for (let h = mt.levels - 1; h > 0; h--) {
    nodes[h] = node;
    mins[h] = min;
    maxs[h] = max;
    const b = node << NODE_SHIFT;
    let i = b;
    if (arange) {
      // The fixed probes of walk.ts (pivots after end are MAPLE_MAX).
      i = (d[(b + 4) | 0] as number) < index ? (b + 5) | 0 : b;
      i = (d[(i + 2) | 0] as number) < index ? (i + 3) | 0 : i;
      i = (d[i] as number) < index ? (i + 1) | 0 : i;
      i = (d[i] as number) < index ? (i + 1) | 0 : i;
    } else {
      while ((d[i] as number) < index) i++;
    }
    offs[h] = i - b;
    if (i > b) min = (d[i - 1] as number) + 1;
    max = d[i] as number;
    node = (d[i + s] as number) | 0;
  }
  nodes[0] = node;
  mins[0] = min;
  maxs[0] = max;
  const p = a.leafPivots;
  const b = node << 4; // node * LEAF_SLOTS
  let i = (p[(b + 7) | 0] as number) < index ? (b + 8) | 0 : b;
  i = (p[(i + 3) | 0] as number) < index ? (i + 4) | 0 : i;
  i = (p[(i + 1) | 0] as number) < index ? (i + 2) | 0 : i;
  i = (p[i] as number) < index ? (i + 1) | 0 : i;
  offs[0] = i - b;
}

/** Last used slot of a node at level h. */
function endOf<T>(a: MapleNodeArena<T>, h: number, id: number): number {
  return (h === 0 ? a.leafEnd[id] : a.nodeEnd[id]) as number;
}

/**
 * Move a path to the next node of level h (mas_next_sibling, crossing parents as
 * mast_spanning_rebalance does). False when the path already is the last node of its level.
 */
function nextNodeOfLevel<T>(
  mt: MapleRootState<T>,
  h: number,
  nodes: Int32Array,
  offs: Int32Array,
  mins: Float64Array,
  maxs: Float64Array,
): boolean {
  const a = mt.arena;
  let j = h + 1;
  while (j < mt.levels && (offs[j] as number) >= (a.nodeEnd[nodes[j] as number] as number)) j++;
  if (j >= mt.levels) return false;
  offs[j] = (offs[j] as number) + 1;
  descendPath(mt, j, h, nodes, offs, mins, maxs, false);
  return true;
}

/** Move a path to the previous node of level h (mas_prev_sibling across parents). */
function prevNodeOfLevel<T>(
  mt: MapleRootState<T>,
  h: number,
  nodes: Int32Array,
  offs: Int32Array,
  mins: Float64Array,
  maxs: Float64Array,
): boolean {
  let j = h + 1;
  while (j < mt.levels && offs[j] === 0) j++;
  if (j >= mt.levels) return false;
  offs[j] = (offs[j] as number) - 1;
  descendPath(mt, j, h, nodes, offs, mins, maxs, true);
  return true;
}

/** Refill the path below level j down to level h, along the left- or right-most edge. */
function descendPath<T>(
  mt: MapleRootState<T>,
  j: number,
  h: number,
  nodes: Int32Array,
  offs: Int32Array,
  mins: Float64Array,
  maxs: Float64Array,
  rightmost: boolean,
): void {
  const a = mt.arena;
  for (let m = j - 1; m >= h; m--) {
    const parent = nodes[m + 1] as number;
    const off = offs[m + 1] as number;
    const child = a.childAt(parent, off);
    nodes[m] = child;
    mins[m] = off > 0 ? a.pivotAt(parent, off - 1) + 1 : (mins[m + 1] as number);
    maxs[m] = a.pivotAt(parent, off);
    offs[m] = rightmost ? endOf(a, m, child) : 0;
  }
}

function pushRange(pivot: number, entry: unknown): void {
  bPivot[bCount] = pivot;
  bSlot[bCount] = entry;
  bCount++;
}

function pushChild(pivot: number, child: number, gap: number): void {
  bPivot[bCount] = pivot;
  bChild[bCount] = child;
  bGap[bCount] = gap;
  bCount++;
}

/** Append all of node id (level h) to b. */
function appendNode<T>(a: MapleNodeArena<T>, h: number, id: number): void {
  const end = endOf(a, h, id);
  if (h === 0) {
    const base = id * LEAF_SLOTS;
    for (let i = 0; i <= end; i++)
      pushRange(a.leafPivots[base + i] as number, a.leafSlots[base + i]);
    return;
  }
  const gb = a.gapBase(id);
  for (let i = 0; i <= end; i++) {
    const gap = a.allocRange ? (a.nodeData[gb + i] as number) : 0;
    pushChild(a.pivotAt(id, i), a.childAt(id, i), gap);
  }
}

/** Prepend all of node id (level h) to b. */
function prependNode<T>(a: MapleNodeArena<T>, h: number, id: number): void {
  const n = endOf(a, h, id) + 1;
  bPivot.copyWithin(n, 0, bCount);
  if (h === 0) {
    for (let i = bCount - 1; i >= 0; i--) bSlot[i + n] = bSlot[i];
  } else {
    bChild.copyWithin(n, 0, bCount);
    bGap.copyWithin(n, 0, bCount);
  }
  const count = bCount;
  bCount = 0;
  appendNode(a, h, id);
  bCount = count + n;
}

/** The non-NULL entries of b (level 0). */
function nonNullInBig(): number {
  let n = 0;
  for (let i = 0; i < bCount; i++) if (bSlot[i] !== null) n++;
  return n;
}

function nonNullInLeaf<T>(a: MapleNodeArena<T>, id: number): number {
  const base = id * LEAF_SLOTS;
  const end = a.leafEnd[id] as number;
  let n = 0;
  for (let i = 0; i <= end; i++) if (a.leafSlots[base + i] !== null) n++;
  return n;
}

/**
 * Write b[from, to) into node id of level h, whose first range starts at min. Returns the
 * node's largest gap (mas_leaf_max_gap / ma_max_gap), 0 for a tree without gap tracking.
 */
function writeNode<T>(
  a: MapleNodeArena<T>,
  h: number,
  id: number,
  from: number,
  to: number,
  min: number,
): number {
  const newEnd = to - from - 1;
  let gap = 0;
  if (h === 0) {
    const base = id * LEAF_SLOTS;
    const oldEnd = a.leafEnd[id] as number;
    const lp = a.leafPivots;
    const ls = a.leafSlots;
    let start = min;
    for (let k = from; k < to; k++) {
      const pivot = bPivot[k] as number;
      const entry = bSlot[k] as T | null;
      lp[base + k - from] = pivot;
      ls[base + k - from] = entry;
      if (entry === null && pivot - start + 1 > gap) gap = pivot - start + 1;
      start = pivot + 1;
    }
    for (let k = newEnd + 1; k <= oldEnd; k++) {
      lp[base + k] = MAPLE_MAX; // unused pivots stay MAPLE_MAX (see node.ts)
      ls[base + k] = null; // let stale entries be collected
    }
    a.leafEnd[id] = newEnd;
    return gap;
  }
  for (let k = from; k < to; k++)
    a.setNodeSlot(id, k - from, bPivot[k] as number, bChild[k] as number);
  const pb = id * NODE_STRIDE;
  a.nodeData.fill(MAPLE_MAX, pb + newEnd + 1, pb + a.nodeSlots); // unused pivots: MAPLE_MAX
  if (a.allocRange) {
    const gb = a.gapBase(id);
    for (let k = from; k < to; k++) {
      const g = bGap[k] as number;
      a.nodeData[gb + k - from] = g;
      if (g > gap) gap = g;
    }
  }
  a.nodeEnd[id] = newEnd;
  return gap;
}

/** Largest gap recorded in an internal node (ma_max_gap). */
function maxGapOf<T>(a: MapleNodeArena<T>, id: number): number {
  const gb = a.gapBase(id);
  const end = a.nodeEnd[id] as number;
  let gap = 0;
  for (let i = 0; i <= end; i++) {
    const g = a.nodeData[gb + i] as number;
    if (g > gap) gap = g;
  }
  return gap;
}

/**
 * lib/maple_tree.c: mas_update_gap() / mas_parent_gap() — v6.8. After node lNode[h] was
 * rewritten in place with largest gap `gap`, fix the gaps recorded above it; stop early once
 * an ancestor's value does not change.
 */
function masUpdateGap<T>(mt: MapleRootState<T>, h: number, gap: number): void {
  const a = mt.arena;
  if (!a.allocRange) return;
  let g = gap;
  for (let j = h + 1; j < mt.levels; j++) {
    const parent = lNode[j] as number;
    const i = a.gapBase(parent) + (lOff[j] as number);
    if (a.nodeData[i] === g) return;
    a.nodeData[i] = g;
    g = maxGapOf(a, parent);
  }
}

/**
 * lib/maple_tree.c: mab_calc_split() — v6.8, generalised to k nodes: even sizes, except that
 * the right-most window keeps its left nodes fuller so that ascending stores (mmap's usual
 * pattern) leave dense nodes behind, as mas_wr_append does. Leaves then get
 * mab_no_null_split: no leaf but the right-most may end on NULL. Returns k.
 */
function calcSplit(
  count: number,
  cap: number,
  minOcc: number,
  rightmost: boolean,
  leaf: boolean,
): number {
  for (let k = Math.ceil(count / cap); ; k++) {
    if (rightmost && k > 1) {
      const size = Math.min(cap, Math.floor((count - minOcc) / (k - 1)));
      for (let i = 0; i < k - 1; i++) splitSize[i] = size;
      splitSize[k - 1] = count - size * (k - 1);
    } else {
      const small = Math.floor(count / k);
      const extra = count - small * k;
      for (let i = 0; i < k; i++) splitSize[i] = i < extra ? small + 1 : small;
    }
    if (!leaf || noNullSplit(k, cap, minOcc)) return k;
    // Two full leaves around a NULL cannot move their border: split into one more.
  }
}

/**
 * lib/maple_tree.c: mab_no_null_split() — v6.8, at every border of a k-way leaf split: a
 * node about to end on a NULL range takes the next range too (NULLs are never adjacent, so
 * it is an entry), or else hands the NULL to its right neighbour. False when neither fits.
 */
function noNullSplit(k: number, cap: number, minOcc: number): boolean {
  let end = 0;
  for (let i = 0; i < k - 1; i++) {
    end += splitSize[i] as number;
    if (bSlot[end - 1] !== null) continue;
    const left = splitSize[i] as number;
    const right = splitSize[i + 1] as number;
    if (left < cap && right - 1 >= minOcc) {
      splitSize[i] = left + 1;
      splitSize[i + 1] = right - 1;
      end++;
    } else if (left - 1 >= minOcc && right < cap) {
      splitSize[i] = left - 1;
      splitSize[i + 1] = right + 1;
      end--;
    } else {
      return false;
    }
  }
  return true;
}

/** Free every node of level h from lNode[h] to rNode[h]; returns the non-NULL entries freed. */
function freeWindow<T>(mt: MapleRootState<T>, h: number): number {
  const a = mt.arena;
  for (let m = h; m < mt.levels; m++) {
    tNode[m] = lNode[m] as number;
    tOff[m] = lOff[m] as number;
    tMin[m] = lMin[m] as number;
    tMax[m] = lMax[m] as number;
  }
  const last = rNode[h] as number;
  let freedEntries = 0;
  for (;;) {
    const id = tNode[h] as number;
    if (h === 0) freedEntries += nonNullInLeaf(a, id);
    disposeNode(mt, h === 0, id);
    if (id === last) return freedEntries;
    if (!nextNodeOfLevel(mt, h, tNode, tOff, tMin, tMax)) {
      throw new Error("@mmlab/vma-tree: maple window ran off the end of its level");
    }
  }
}

/** Rewrite the window from level 0 upwards until the change is absorbed (see file header). */
function rebuildWindow<T>(mt: MapleRootState<T>): void {
  const a = mt.arena;
  for (let h = 0; ; h++) {
    const leaf = h === 0;
    const cap = leaf ? LEAF_SLOTS : a.nodeSlots;
    const minOcc = leaf || !a.allocRange ? MAPLE_RANGE64_MIN : MAPLE_ARANGE64_MIN;
    const top = h === mt.levels - 1;

    // Phase 1: an insufficient node borrows a whole neighbour (mas_rebalance).
    if (!top && bCount < minOcc) {
      if (nextNodeOfLevel(mt, h, rNode, rOff, rMin, rMax)) {
        appendNode(a, h, rNode[h] as number);
      } else if (prevNodeOfLevel(mt, h, lNode, lOff, lMin, lMax)) {
        prependNode(a, h, lNode[h] as number);
        bMin = lMin[h] as number;
      }
      // Neither: the window is its whole level, and the parent collapses below.
    }

    // Phase 2: the result fits the one node of the window: write it in place.
    if (bCount <= cap && (top || lNode[h] === rNode[h])) {
      let id = lNode[h] as number;
      if (leaf) mt.entryCount += nonNullInBig() - nonNullInLeaf(a, id);
      if (leaf && wrPath <= WR_APPEND)
        rewriteInPlace(mt, id, wrPivotOnly); // fast paths, in place
      else if (mt.rcu) id = replaceInPath(mt, h, leaf, false);
      else nodeRewritten(mt, leaf, id);
      const gap = writeNode(a, h, id, 0, bCount, bMin);
      if (!top) {
        masUpdateGap(mt, h, gap);
        return;
      }
      // An internal root with one child hands the tree to that child (the tree shrinks).
      while (mt.levels > 1 && a.nodeEnd[mt.root] === 0) {
        const old = mt.root;
        mt.root = a.childAt(old, 0);
        disposeNode(mt, false, old);
        mt.levels--;
      }
      return;
    }

    // Phase 3: replace the window by k fresh nodes and carry the change one level up.
    if (!top && bCount > cap && lNode[h] === rNode[h]) masPushData(mt, h, cap);
    const rightmost = bPivot[bCount - 1] === MAPLE_MAX;
    const k = calcSplit(bCount, cap, minOcc, rightmost, leaf);
    const freedEntries = freeWindow(mt, h);
    if (leaf) mt.entryCount += nonNullInBig() - freedEntries;
    let from = 0;
    let min = bMin;
    for (let i = 0; i < k; i++) {
      const to = from + (splitSize[i] as number);
      const id = leaf ? a.allocLeaf() : a.allocNode();
      newId[i] = id;
      newGap[i] = writeNode(a, h, id, from, to, min);
      newMax[i] = bPivot[to - 1] as number;
      min = (newMax[i] as number) + 1;
      from = to;
    }
    if (top) {
      // mas_split at the root: a new root above the k nodes (the tree grows).
      if (mt.levels >= MAPLE_HEIGHT_MAX)
        throw new Error("@mmlab/vma-tree: maple tree height overflow");
      const root = a.allocNode();
      mt.root = root;
      mt.levels++;
      lNode[h + 1] = root;
      rNode[h + 1] = root;
      lOff[h + 1] = 0;
      rOff[h + 1] = 0;
      lMin[h + 1] = 0;
      rMin[h + 1] = 0;
      lMax[h + 1] = MAPLE_MAX;
      rMax[h + 1] = MAPLE_MAX;
      bCount = 0;
      for (let i = 0; i < k; i++)
        pushChild(newMax[i] as number, newId[i] as number, newGap[i] as number);
      bMin = 0;
      continue;
    }
    // b' = parent slots left of the window, the new nodes, parent slots right of it.
    const lParent = lNode[h + 1] as number;
    const rParent = rNode[h + 1] as number;
    bCount = 0;
    let base = a.gapBase(lParent);
    for (let i = 0; i < (lOff[h + 1] as number); i++) {
      const gap = a.allocRange ? (a.nodeData[base + i] as number) : 0;
      pushChild(a.pivotAt(lParent, i), a.childAt(lParent, i), gap);
    }
    for (let i = 0; i < k; i++)
      pushChild(newMax[i] as number, newId[i] as number, newGap[i] as number);
    base = a.gapBase(rParent);
    const rEnd = a.nodeEnd[rParent] as number;
    for (let i = (rOff[h + 1] as number) + 1; i <= rEnd; i++) {
      const gap = a.allocRange ? (a.nodeData[base + i] as number) : 0;
      pushChild(a.pivotAt(rParent, i), a.childAt(rParent, i), gap);
    }
    bMin = lMin[h + 1] as number;
  }
}

/**
 * lib/maple_tree.c: mas_push_data() — v6.8, for the right-most node of a level (an ascending
 * store, mmap's usual pattern; mas_wr_append territory). Before that node is split in two, it
 * takes in its left sibling under the same parent if both fit two nodes: the window is then
 * rewritten as two nodes, the left one full (calcSplit's right-most rule), so no node is
 * added and ascending stores leave full nodes behind, as the kernel's push leaves nodes near
 * full. The kernel pushes from any node, left then right, up to 2 * slots - 2 (one less in
 * a leaf); here only the right-most node pushes, so that the split points of every other
 * store stay as they were (the simulations name the nodes they see), and a leaf may take up
 * to 2 * 16 - 1 ranges (calcSplit adds a third node when the NULL rule demands it).
 */
function masPushData<T>(mt: MapleRootState<T>, h: number, cap: number): void {
  const off = lOff[h + 1] as number;
  if (off === 0 || bPivot[bCount - 1] !== MAX_INDEX) return;
  const a = mt.arena;
  const sibling = a.childAt(lNode[h + 1] as number, off - 1);
  if (bCount + endOf(a, h, sibling) + 1 > (h === 0 ? 2 * cap - 1 : 2 * cap - 2)) return;
  prevNodeOfLevel(mt, h, lNode, lOff, lMin, lMax);
  prependNode(a, h, lNode[h] as number);
  bMin = lMin[h] as number;
}
