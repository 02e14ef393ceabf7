/**
 * Read-side walks of the maple tree (lib/maple_tree.c — v6.8): mtree_load, mas_walk, mt_find,
 * mas_find_rev. Each is a tight descent over typed arrays: at every level scan the pivots
 * until the first one >= index (pivot[end] holds the node maximum, so the scan always stops).
 */
import { MAPLE_MAX } from "../page.js";
import { MAPLE_RANGE64_SLOTS, type MapleNodeArena } from "./node.js";

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
    const s = a.nodeSlots;
    const stride = a.nodeStride;
    const data = a.nodeData;
    for (let h = mt.levels - 1; h > 0; h--) {
      let i = node * stride;
      while ((data[i] as number) < index) i++;
      node = (data[i + s] as number) | 0; // int32 ids keep index arithmetic in small integers
    }
  }
  const lp = a.leafPivots;
  let i = node * MAPLE_RANGE64_SLOTS;
  while ((lp[i] as number) < index) i++;
  return a.leafSlots[i] as T | null;
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
    const s = a.nodeSlots;
    const stride = a.nodeStride;
    const data = a.nodeData;
    for (let h = mt.levels - 1; h > 0; h--) {
      const base = node * stride;
      let i = base;
      while ((data[i] as number) < index) i++;
      if (i > base) min = (data[i - 1] as number) + 1;
      node = (data[i + s] as number) | 0; // int32 ids keep index arithmetic in small integers
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
 * of find_vma, so it only descends (no bounds kept, nothing written). A NULL range is always
 * followed by an entry (NULL ranges are coalesced), so at most one step or one more walk.
 */
export function mtFind<T>(mt: MapleRootState<T>, index: number, max: number): T | null {
  if (index > max) return null;
  const a = mt.arena;
  let node = mt.root;
  if (mt.levels > 1) {
    const s = a.nodeSlots;
    const stride = a.nodeStride;
    const data = a.nodeData;
    for (let h = mt.levels - 1; h > 0; h--) {
      let i = node * stride;
      while ((data[i] as number) < index) i++;
      node = (data[i + s] as number) | 0; // int32 ids keep index arithmetic in small integers
    }
  }
  const lp = a.leafPivots;
  let i = node * MAPLE_RANGE64_SLOTS;
  while ((lp[i] as number) < index) i++;
  const entry = a.leafSlots[i] as T | null;
  if (entry !== null) return entry;
  const gapLast = lp[i] as number;
  if (gapLast >= max || gapLast === MAPLE_MAX) return null;
  if (i < node * MAPLE_RANGE64_SLOTS + (a.leafEnd[node] as number))
    return a.leafSlots[i + 1] as T | null;
  return mtFind(mt, gapLast + 1, max);
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
