/**
 * Maple-tree node arena (include/linux/maple_tree.h — v6.8): the kernel's 256-byte nodes,
 * laid out as structure-of-arrays so that walks touch only typed arrays.
 *
 *   leaves  (maple_leaf_64)            internal nodes (maple_arange_64 / maple_range_64)
 *   leafPivots  Float64Array id*16+i    nodeData     Float64Array id*2S+i     pivots, S = 10 or 16
 *   leafSlots   (T | null)[] id*16+i                 Float64Array id*2S+S+i   child node ids
 *   leafEnd     Uint8Array   id         nodeGaps     Float64Array id*S+i      (arange only)
 *                                       nodeEnd      Uint8Array   id
 *
 * An internal node's pivots and child ids share one block (nodeData) so that a descent
 * touches one run of cache lines per level, not two arrays.
 *
 * Leaves and internal nodes live in two arenas with their own id spaces: every leaf sits at
 * the same depth, so a walk knows from its level which arena a child id refers to (the
 * kernel encodes the node type in the low bits of the pointer instead).
 * `end` is the index of the last used slot (ma_meta_end); pivot[end] always holds the node's
 * maximum, which the kernel leaves implied when a node is full. A freed node has end = FREE_END.
 */

/** MAPLE_RANGE64_SLOTS: slots of a leaf and of an internal node of a plain range tree. */
export const MAPLE_RANGE64_SLOTS = 16;
/** MAPLE_ARANGE64_SLOTS: slots of an internal node of an allocation (gap-tracking) tree. */
export const MAPLE_ARANGE64_SLOTS = 10;
/** mt_min_slots[maple_leaf_64] = mt_min_slots[maple_range_64] = 16 / 2 - 2. */
export const MAPLE_RANGE64_MIN = MAPLE_RANGE64_SLOTS / 2 - 2;
/** mt_min_slots[maple_arange_64] = 10 / 2 - 1. */
export const MAPLE_ARANGE64_MIN = MAPLE_ARANGE64_SLOTS / 2 - 1;
/** MAPLE_HEIGHT_MAX. */
export const MAPLE_HEIGHT_MAX = 31;
/** `end` of a node on a free list. */
export const FREE_END = 255;

const INITIAL_NODES = 16;

/** Storage for every node of one tree, plus free lists of node ids. */
export class MapleNodeArena<T> {
  /** Slots per internal node: 10 (arange64) with gap tracking, 16 (range64) without. */
  readonly nodeSlots: number;
  readonly allocRange: boolean;

  leafPivots: Float64Array;
  leafSlots: (T | null)[];
  leafEnd: Uint8Array;
  leafHighWater: number;
  leafFree: number[];

  /** Pivots then child ids of each internal node, stride nodeStride = 2 * nodeSlots. */
  nodeData: Float64Array;
  readonly nodeStride: number;
  nodeGaps: Float64Array;
  nodeEnd: Uint8Array;
  nodeHighWater: number;
  nodeFree: number[];

  constructor(allocRange: boolean) {
    this.allocRange = allocRange;
    this.nodeSlots = allocRange ? MAPLE_ARANGE64_SLOTS : MAPLE_RANGE64_SLOTS;
    this.leafPivots = new Float64Array(INITIAL_NODES * MAPLE_RANGE64_SLOTS);
    this.leafSlots = [];
    for (let i = 0; i < INITIAL_NODES * MAPLE_RANGE64_SLOTS; i++) this.leafSlots.push(null);
    this.leafEnd = new Uint8Array(INITIAL_NODES).fill(FREE_END);
    this.leafHighWater = 0;
    this.leafFree = [];
    this.nodeStride = 2 * this.nodeSlots;
    this.nodeData = new Float64Array(INITIAL_NODES * this.nodeStride);
    this.nodeGaps = new Float64Array(allocRange ? INITIAL_NODES * this.nodeSlots : 0);
    this.nodeEnd = new Uint8Array(INITIAL_NODES).fill(FREE_END);
    this.nodeHighWater = 0;
    this.nodeFree = [];
  }

  /** mas_alloc_nodes() for one leaf: a free id, its end set to 0. */
  allocLeaf(): number {
    let id = this.leafFree.pop();
    if (id === undefined) {
      id = this.leafHighWater++;
      if (id >= this.leafEnd.length) this.growLeaves();
    }
    this.leafEnd[id] = 0;
    return id;
  }

  /** mas_alloc_nodes() for one internal node. */
  allocNode(): number {
    let id = this.nodeFree.pop();
    if (id === undefined) {
      id = this.nodeHighWater++;
      if (id >= this.nodeEnd.length) this.growNodes();
    }
    this.nodeEnd[id] = 0;
    return id;
  }

  /** ma_free_rcu() for a leaf: drop its entries so they can be collected. */
  freeLeaf(id: number): void {
    const base = id * MAPLE_RANGE64_SLOTS;
    const slots = this.leafSlots;
    for (let i = 0; i < MAPLE_RANGE64_SLOTS; i++) slots[base + i] = null;
    this.leafEnd[id] = FREE_END;
    this.leafFree.push(id);
  }

  freeNode(id: number): void {
    this.nodeEnd[id] = FREE_END;
    this.nodeFree.push(id);
  }

  /** Pivot i of internal node id. */
  pivotAt(id: number, i: number): number {
    return this.nodeData[id * this.nodeStride + i] as number;
  }

  /** Child i of internal node id. */
  childAt(id: number, i: number): number {
    return (this.nodeData[id * this.nodeStride + this.nodeSlots + i] as number) | 0;
  }

  /** Set slot i of internal node id. */
  setNodeSlot(id: number, i: number, pivot: number, child: number): void {
    const d = id * this.nodeStride + i;
    this.nodeData[d] = pivot;
    this.nodeData[d + this.nodeSlots] = child;
  }

  /** Nodes in use (leaves, internal). */
  leavesInUse(): number {
    return this.leafHighWater - this.leafFree.length;
  }

  nodesInUse(): number {
    return this.nodeHighWater - this.nodeFree.length;
  }

  private growLeaves(): void {
    const n = this.leafEnd.length * 2;
    const pivots = new Float64Array(n * MAPLE_RANGE64_SLOTS);
    pivots.set(this.leafPivots);
    this.leafPivots = pivots;
    const end = new Uint8Array(n).fill(FREE_END);
    end.set(this.leafEnd);
    this.leafEnd = end;
    const slots = this.leafSlots;
    for (let i = slots.length; i < n * MAPLE_RANGE64_SLOTS; i++) slots.push(null);
  }

  private growNodes(): void {
    const n = this.nodeEnd.length * 2;
    const s = this.nodeSlots;
    const data = new Float64Array(n * this.nodeStride);
    data.set(this.nodeData);
    this.nodeData = data;
    if (this.allocRange) {
      const gaps = new Float64Array(n * s);
      gaps.set(this.nodeGaps);
      this.nodeGaps = gaps;
    }
    const end = new Uint8Array(n).fill(FREE_END);
    end.set(this.nodeEnd);
    this.nodeEnd = end;
  }
}
