/**
 * lib/maple_tree.c: mt_validate() — v6.8 (with mas_validate_limits, mas_validate_gaps,
 * mas_validate_child_slot and mt_validate_nulls), as one recursive check that throws an Error
 * naming the first broken invariant. See the invariants in maple-tree.ts.
 */
import { MAPLE_MAX } from "../page.js";
import {
  FREE_END,
  MAPLE_ARANGE64_MIN,
  MAPLE_RANGE64_MIN,
  MAPLE_RANGE64_SLOTS,
  type MapleNodeArena,
} from "./node.js";
import type { MapleRootState } from "./walk.js";

interface ValidateState {
  prevNull: boolean;
  entries: number;
  leaves: number;
  nodes: number;
}

function fail(msg: string): never {
  throw new Error(`@mmlab/vma-tree: mt_validate: ${msg}`);
}

/** lib/maple_tree.c: mt_validate() — v6.8. */
export function mtValidate<T>(mt: MapleRootState<T>): void {
  const a = mt.arena;
  if (mt.levels < 1) fail(`levels ${mt.levels} < 1`);
  const st: ValidateState = { prevNull: false, entries: 0, leaves: 0, nodes: 0 };
  validateNode(mt, st, mt.root, mt.levels - 1, 0, MAPLE_MAX, true);
  if (st.entries !== mt.entryCount) fail(`count ${mt.entryCount} but ${st.entries} entries stored`);
  if (st.leaves !== a.leavesInUse())
    fail(`${a.leavesInUse()} leaves allocated, ${st.leaves} reachable`);
  if (st.nodes !== a.nodesInUse())
    fail(`${a.nodesInUse()} internal nodes allocated, ${st.nodes} reachable`);
}

/** Checks one node and its subtree; returns the subtree's largest NULL run. */
function validateNode<T>(
  mt: MapleRootState<T>,
  st: ValidateState,
  node: number,
  h: number,
  min: number,
  max: number,
  isRoot: boolean,
): number {
  const a = mt.arena;
  const where = `${h === 0 ? "leaf" : "node"} ${node} (level ${h}, [${min}, ${max}])`;
  if (h === 0) return validateLeaf(a, st, node, min, max, isRoot, where);
  if (node < 0 || node >= a.nodeHighWater) fail(`${where}: id out of the arena`);
  const end = a.nodeEnd[node] as number;
  if (end === FREE_END) fail(`${where}: node is on the free list`);
  if (end >= a.nodeSlots) fail(`${where}: end ${end} beyond ${a.nodeSlots} slots`);
  if (isRoot && end < 1) fail(`${where}: internal root with a single child`);
  const minOcc = a.allocRange ? MAPLE_ARANGE64_MIN : MAPLE_RANGE64_MIN;
  if (!isRoot && end + 1 < minOcc) fail(`${where}: ${end + 1} slots, below the minimum ${minOcc}`);
  st.nodes++;
  const base = a.gapBase(node);
  let start = min;
  let maxGap = 0;
  for (let i = 0; i <= end; i++) {
    const pivot = a.pivotAt(node, i);
    if (pivot < start) fail(`${where}: pivot[${i}] = ${pivot} not above ${start - 1}`);
    if (pivot > max) fail(`${where}: pivot[${i}] = ${pivot} beyond the node maximum`);
    const childGap = validateNode(mt, st, a.childAt(node, i), h - 1, start, pivot, false);
    if (a.allocRange && a.nodeData[base + i] !== childGap) {
      fail(
        `${where}: gap[${i}] = ${a.nodeData[base + i]} but the child's largest gap is ${childGap}`,
      );
    }
    if (childGap > maxGap) maxGap = childGap;
    start = pivot + 1;
  }
  if (a.pivotAt(node, end) !== max)
    fail(`${where}: last pivot ${a.pivotAt(node, end)} is not the node maximum`);
  for (let i = end + 1; i < a.nodeSlots; i++) {
    if (a.pivotAt(node, i) !== MAPLE_MAX) fail(`${where}: unused pivot[${i}] is not MAPLE_MAX`);
  }
  return maxGap;
}

function validateLeaf<T>(
  a: MapleNodeArena<T>,
  st: ValidateState,
  node: number,
  min: number,
  max: number,
  isRoot: boolean,
  where: string,
): number {
  if (node < 0 || node >= a.leafHighWater) fail(`${where}: id out of the arena`);
  const end = a.leafEnd[node] as number;
  if (end === FREE_END) fail(`${where}: leaf is on the free list`);
  if (end >= MAPLE_RANGE64_SLOTS) fail(`${where}: end ${end} beyond ${MAPLE_RANGE64_SLOTS} slots`);
  if (!isRoot && end + 1 < MAPLE_RANGE64_MIN) {
    fail(`${where}: ${end + 1} slots, below the minimum ${MAPLE_RANGE64_MIN}`);
  }
  st.leaves++;
  const base = node * MAPLE_RANGE64_SLOTS;
  let start = min;
  let maxGap = 0;
  for (let i = 0; i <= end; i++) {
    const pivot = a.leafPivots[base + i] as number;
    if (!Number.isSafeInteger(pivot)) fail(`${where}: pivot[${i}] = ${pivot} is not an index`);
    if (pivot < start) fail(`${where}: pivot[${i}] = ${pivot} not above ${start - 1}`);
    if (pivot > max) fail(`${where}: pivot[${i}] = ${pivot} beyond the node maximum`);
    const isNull = a.leafSlots[base + i] === null;
    if (isNull) {
      if (st.prevNull) fail(`${where}: two adjacent NULL ranges end at ${start - 1} and ${pivot}`);
      if (pivot - start + 1 > maxGap) maxGap = pivot - start + 1;
    } else {
      st.entries++;
    }
    st.prevNull = isNull;
    start = pivot + 1;
  }
  if (a.leafPivots[base + end] !== max)
    fail(`${where}: last pivot ${a.leafPivots[base + end]} is not the node maximum`);
  if (max !== MAPLE_MAX && a.leafSlots[base + end] === null)
    fail(`${where}: ends on NULL but is not the right-most leaf (mas_is_span_wr)`);
  for (let i = end + 1; i < MAPLE_RANGE64_SLOTS; i++) {
    if (a.leafSlots[base + i] !== null) fail(`${where}: stale entry in unused slot ${i}`);
    if (a.leafPivots[base + i] !== MAPLE_MAX) fail(`${where}: unused pivot[${i}] is not MAPLE_MAX`);
  }
  return maxGap;
}
