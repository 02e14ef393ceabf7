/**
 * Read-side walks of the maple tree (lib/maple_tree.c — v6.8): mtree_load, mas_walk, mt_find,
 * mas_find_rev. Each is a tight descent over typed arrays, with no allocation and no call per
 * level. At every level the slot holding `index` (the first pivot >= index) is found with
 * four fixed probes, 8/4/2/1 in a leaf and 5/3/1/1 in a 10-slot arange64 node: pivots after
 * `end` are MAPLE_MAX, so the probes need no bound. The probes compile to well-predicted
 * branches, so the CPU runs ahead into the child while the pivots load; a linear scan pays a
 * mispredicted exit per level instead. Index arithmetic is kept in int32 (`| 0`).
 */
import { MAPLE_MAX } from "../page.js";
import type { MapleTreeHooks } from "./hooks.js";
import { MAPLE_RANGE64_SLOTS, type MapleNodeArena, NODE_STRIDE } from "./node.js";

// Module-local copies of node.ts constants for the hot loops: an imported binding can
// compile to a property load (CommonJS interop getters under tsx/esbuild), a literal cannot.
/** log2(NODE_STRIDE): a node's first word is `id << NODE_SHIFT`, int32 for ids < 2^26. */
const NODE_SHIFT = 5;
/** Word distance from pivot i to child i in an arange64 node (MAPLE_ARANGE64_SLOTS). */
const ARANGE_CHILD = 10;
if (1 << NODE_SHIFT !== NODE_STRIDE) throw new Error("@mmlab/vma-tree: NODE_SHIFT");

/** The tree fields a walk needs (MapleTree implements it). */
export interface MapleRootState<T> {
  readonly arena: MapleNodeArena<T>;
  /** Root node id: a leaf when levels === 1. */
  root: number;
  /** Levels of nodes, leaves included (>= 1: an empty tree is one leaf holding NULL). */
  levels: number;
  /** Non-NULL ranges stored. */
  entryCount: number;
  /** Bumped by every modification; a cursor's cached leaf position is valid while it holds. */
  seq: number;
  /** MT_FLAGS_USE_RCU: writers replace nodes instead of rewriting them in place. */
  rcu: boolean;
  /** The owner's node-lifetime hooks (hooks.ts), or null: then writes pay one null check. */
  hooks: MapleTreeHooks | null;
  /** With hooks: what happened to a node last, by noteKey(), for use-after-free reports. */
  readonly notes: Map<number, string>;
}

/** The key of a node in MapleRootState.notes. */
export function noteKey(leaf: boolean, id: number): number {
  return id * 2 + (leaf ? 0 : 1);
}

/**
 * Where the last walk landed. Module-level scratch (JS is single-threaded): callers copy what
 * they need before the next walk. `min`/`max` bound the slot's range.
 */
export interface WalkPosition {
  node: number;
  offset: number;
  min: number;
  max: number;
}
export const walkPos: WalkPosition = { node: 0, offset: 0, min: 0, max: 0 };

/** lib/maple_tree.c: mtree_load() — v6.8. Entry at index (NULL for a gap); no allocation. */
export function mtreeLoad<T>(mt: MapleRootState<T>, index: number): T | null {
  const a = mt.arena;
  let node = mt.root;
  if (mt.levels > 1) {
    if (!a.allocRange) node = range64Descend(a, node, mt.levels, index);
    else {
      const d = a.nodeData;
      for (let h = mt.levels - 1; h > 0; h--) {
        const b = node << NODE_SHIFT;
        let i = (d[(b + 4) | 0] as number) < index ? (b + 5) | 0 : b;
        i = (d[(i + 2) | 0] as number) < index ? (i + 3) | 0 : i;
        i = (d[i] as number) < index ? (i + 1) | 0 : i;
        i = (d[i] as number) < index ? (i + 1) | 0 : i;
        node = (d[(i + ARANGE_CHILD) | 0] as number) | 0; // child ids sit after the pivots
      }
    }
  }
  const p = a.leafPivots;
  const b = node << 4; // node * MAPLE_RANGE64_SLOTS
  let i = (p[(b + 7) | 0] as number) < index ? (b + 8) | 0 : b;
  i = (p[(i + 3) | 0] as number) < index ? (i + 4) | 0 : i;
  i = (p[(i + 1) | 0] as number) < index ? (i + 2) | 0 : i;
  i = (p[i] as number) < index ? (i + 1) | 0 : i;
  return a.leafSlots[i] as T | null;
}

/**
 * The descent through the 16-slot range64 nodes of a tree without gap tracking (probes
 * 8/4/2/1); returns the leaf holding index. Kept out of the arange64 walks above and below,
 * which are written out in full because a descent split across a call runs markedly slower.
 */
function range64Descend<T>(
  a: MapleNodeArena<T>,
  root: number,
  levels: number,
  index: number,
): number {
  const d = a.nodeData;
  let node = root;
  for (let h = levels - 1; h > 0; h--) {
    const b = node << NODE_SHIFT;
    let i = (d[(b + 7) | 0] as number) < index ? (b + 8) | 0 : b;
    i = (d[(i + 3) | 0] as number) < index ? (i + 4) | 0 : i;
    i = (d[(i + 1) | 0] as number) < index ? (i + 2) | 0 : i;
    i = (d[i] as number) < index ? (i + 1) | 0 : i;
    node = (d[(i + 16) | 0] as number) | 0;
  }
  return node;
}

/**
 * lib/maple_tree.c: mas_walk() — v6.8. Entry at index (possibly NULL); fills {@link walkPos}
 * with the leaf slot and the bounds [min, max] of the range holding index.
 */
export function masWalk<T>(mt: MapleRootState<T>, index: number): T | null {
  const a = mt.arena;
  let node = mt.root;
  let min = 0;
  if (mt.levels > 1) {
    const d = a.nodeData;
    const s = a.nodeSlots;
    for (let h = mt.levels - 1; h > 0; h--) {
      const b = node * NODE_STRIDE;
      let i = b;
      while ((d[i] as number) < index) i++;
      if (i > b) min = (d[i - 1] as number) + 1;
      node = (d[i + s] as number) | 0;
    }
  }
  const lp = a.leafPivots;
  const base = node * MAPLE_RANGE64_SLOTS;
  let i = base;
  while ((lp[i] as number) < index) i++;
  walkPos.node = node;
  walkPos.offset = i - base;
  walkPos.min = i > base ? (lp[i - 1] as number) + 1 : min;
  walkPos.max = lp[i] as number;
  return a.leafSlots[i] as T | null;
}

/**
 * lib/maple_tree.c: mt_find() — v6.8. Lowest entry intersecting [index, max]: the hot path
 * of find_vma, so it only descends (no bounds kept, nothing written), the same descent as
 * mtreeLoad. A NULL range is followed by an entry in the same leaf, so at most one step.
 */
export function mtFind<T>(mt: MapleRootState<T>, index: number, max: number): T | null {
  const a = mt.arena;
  if (index > max || !a.allocRange) return mtFindSlow(mt, index, max);
  const d = a.nodeData;
  let node = mt.root;
  for (let h = mt.levels - 1; h > 0; h--) {
    const b = node << NODE_SHIFT;
    let i = (d[(b + 4) | 0] as number) < index ? (b + 5) | 0 : b;
    i = (d[(i + 2) | 0] as number) < index ? (i + 3) | 0 : i;
    i = (d[i] as number) < index ? (i + 1) | 0 : i;
    i = (d[i] as number) < index ? (i + 1) | 0 : i;
    node = (d[(i + ARANGE_CHILD) | 0] as number) | 0;
  }
  const p = a.leafPivots;
  const b = node << 4; // node * MAPLE_RANGE64_SLOTS
  let i = (p[(b + 7) | 0] as number) < index ? (b + 8) | 0 : b;
  i = (p[(i + 3) | 0] as number) < index ? (i + 4) | 0 : i;
  i = (p[(i + 1) | 0] as number) < index ? (i + 2) | 0 : i;
  i = (p[i] as number) < index ? (i + 1) | 0 : i;
  const entry = a.leafSlots[i] as T | null;
  if (entry !== null) return entry;
  // Only the right-most leaf ends on NULL, and that NULL runs to MAPLE_MAX (invariant 4 in
  // maple-tree.ts): any other NULL is followed by an entry in the same leaf.
  const gapLast = p[i] as number;
  return gapLast < max ? (a.leafSlots[i + 1] as T | null) : null;
}

/**
 * mt_find() by mas_walk steps: for trees without gap tracking and an empty window. Kept
 * apart so that the hot descent above stays small (it is inlined into find_vma's callers).
 */
function mtFindSlow<T>(mt: MapleRootState<T>, index: number, max: number): T | null {
  for (let from = index; from <= max; ) {
    const entry = masWalk(mt, from);
    if (entry !== null) return entry;
    const gapLast = walkPos.max;
    if (gapLast >= max || gapLast === MAPLE_MAX) return null;
    from = gapLast + 1; // a NULL range is always followed by an entry
  }
  return null;
}

/** mt_find() that also fills {@link walkPos} with the found entry's range (for cursors). */
export function masFindFirst<T>(mt: MapleRootState<T>, index: number, max: number): T | null {
  if (index > max) return null;
  const entry = masWalk(mt, index);
  if (entry !== null) return entry;
  const gapLast = walkPos.max;
  if (gapLast >= max || gapLast === MAPLE_MAX) return null;
  const a = mt.arena;
  const node = walkPos.node;
  const off = walkPos.offset;
  if (off < (a.leafEnd[node] as number)) {
    const i = node * MAPLE_RANGE64_SLOTS + off + 1;
    walkPos.offset = off + 1;
    walkPos.min = gapLast + 1;
    walkPos.max = a.leafPivots[i] as number;
    return a.leafSlots[i] as T | null;
  }
  return masWalk(mt, gapLast + 1);
}

/**
 * lib/maple_tree.c: mas_find_rev() from a fresh state — v6.8. Highest entry intersecting
 * [min, index]; fills {@link walkPos} with its range.
 */
export function mtFindRev<T>(mt: MapleRootState<T>, index: number, min: number): T | null {
  if (index < min) return null;
  const entry = masWalk(mt, index);
  if (entry !== null) return entry;
  const gapFirst = walkPos.min;
  if (gapFirst <= min || gapFirst === 0) return null;
  const a = mt.arena;
  const node = walkPos.node;
  const off = walkPos.offset;
  if (off > 1) {
    // The previous range sits in the same leaf and is not its first slot: step back.
    const i = node * MAPLE_RANGE64_SLOTS + off - 1;
    walkPos.offset = off - 1;
    walkPos.max = gapFirst - 1;
    walkPos.min = (a.leafPivots[i - 1] as number) + 1;
    return a.leafSlots[i] as T | null;
  }
  return masWalk(mt, gapFirst - 1);
}
