/**
 * Empty-area search over the gaps of an allocation tree (lib/maple_tree.c — v6.8:
 * mas_empty_area, mas_empty_area_rev, mas_awalk, mas_rev_awalk).
 *
 * Each arange64 slot records the largest run of NULL indices below it, so a descent only
 * enters children whose gap is at least `size`. A child that lies wholly inside [min, max]
 * with a big enough gap always yields an answer; only the (at most two per level) children
 * cut by the window's edges can disappoint and make the search move on, so the search costs
 * O(height x slots), never a scan of the leaves. Without gap tracking every child is a
 * candidate and the search degrades to a walk of the window.
 */
import { MAPLE_RANGE64_SLOTS } from "./node.js";
import type { MapleRootState } from "./walk.js";

/**
 * The range found by the last search: [index, last]; for emptyAreaRev also the leaf slot of
 * the NULL range holding it (leafPos = leaf id * 16 + offset), so that callers can step to
 * the neighbouring entries without walking again (as the kernel's ma_state allows).
 */
export const areaPos = { index: 0, last: 0, leafPos: -1 };

/**
 * lib/maple_tree.c: mas_empty_area() — v6.8. Lowest start of `size` NULL indices inside
 * [min, max], into {@link areaPos}; true if found. Arguments already validated.
 */
export function masEmptyArea<T>(
  mt: MapleRootState<T>,
  min: number,
  max: number,
  size: number,
): boolean {
  areaPos.leafPos = -1;
  const start = awalk(mt, mt.root, mt.levels - 1, 0, min, max, size);
  if (start < 0) return false;
  areaPos.index = start;
  areaPos.last = start + size - 1;
  return true;
}

/**
 * lib/maple_tree.c: mas_empty_area_rev() — v6.8. The highest fit: areaPos.last is the end
 * of the highest NULL range reaching far enough (clipped to max), areaPos.index = last - size + 1.
 */
export function masEmptyAreaRev<T>(
  mt: MapleRootState<T>,
  min: number,
  max: number,
  size: number,
): boolean {
  areaPos.leafPos = -1;
  const last = revAwalk(mt, mt.root, mt.levels - 1, 0, min, max, size);
  if (last < 0) return false;
  areaPos.last = last;
  areaPos.index = last - size + 1;
  return true;
}

/** mas_awalk(): ascending descent; lowest fitting start in node `node` (level h, min nodeMin) or -1. */
function awalk<T>(
  mt: MapleRootState<T>,
  node: number,
  h: number,
  nodeMin: number,
  min: number,
  max: number,
  size: number,
): number {
  const a = mt.arena;
  let start = nodeMin;
  if (h === 0) {
    const base = node * MAPLE_RANGE64_SLOTS;
    const end = a.leafEnd[node] as number;
    for (let i = 0; i <= end && start <= max; i++) {
      const pivot = a.leafPivots[base + i] as number;
      if (pivot >= min && a.leafSlots[base + i] === null) {
        const lo = Math.max(start, min);
        const hi = Math.min(pivot, max);
        if (hi - lo + 1 >= size) return lo;
      }
      start = pivot + 1;
    }
    return -1;
  }
  const base = a.gapBase(node);
  const end = a.nodeEnd[node] as number;
  const gaps = a.allocRange;
  for (let i = 0; i <= end && start <= max; i++) {
    const pivot = a.pivotAt(node, i);
    if (pivot >= min && (!gaps || (a.nodeData[base + i] as number) >= size)) {
      const found = awalk(mt, a.childAt(node, i), h - 1, start, min, max, size);
      if (found >= 0) return found;
    }
    start = pivot + 1;
  }
  return -1;
}

/** mas_rev_awalk(): descending descent; last index of the highest fit in `node`, or -1. */
function revAwalk<T>(
  mt: MapleRootState<T>,
  node: number,
  h: number,
  nodeMin: number,
  min: number,
  max: number,
  size: number,
): number {
  const a = mt.arena;
  if (h === 0) {
    const base = node * MAPLE_RANGE64_SLOTS;
    for (let i = a.leafEnd[node] as number; i >= 0; i--) {
      const pivot = a.leafPivots[base + i] as number;
      const start = i > 0 ? (a.leafPivots[base + i - 1] as number) + 1 : nodeMin;
      if (pivot < min) return -1;
      if (start <= max && a.leafSlots[base + i] === null) {
        const lo = Math.max(start, min);
        const hi = Math.min(pivot, max);
        if (hi - lo + 1 >= size) {
          areaPos.leafPos = base + i;
          return hi;
        }
      }
    }
    return -1;
  }
  const base = a.gapBase(node);
  const gaps = a.allocRange;
  for (let i = a.nodeEnd[node] as number; i >= 0; i--) {
    const pivot = a.pivotAt(node, i);
    const start = i > 0 ? a.pivotAt(node, i - 1) + 1 : nodeMin;
    if (pivot < min) return -1;
    if (start <= max && (!gaps || (a.nodeData[base + i] as number) >= size)) {
      const found = revAwalk(mt, a.childAt(node, i), h - 1, start, min, max, size);
      if (found >= 0) return found;
    }
  }
  return -1;
}
