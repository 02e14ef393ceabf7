/**
 * Maple-tree node arena (include/linux/maple_tree.h — v6.8): the kernel's 256-byte nodes,
 * laid out so that walks touch only typed arrays.
 *
 *   leaves  (maple_leaf_64)             internal nodes: nodeData, 32 float64 words (256 bytes)
 *   leafPivots  Float64Array id*16+i    per node, like struct maple_arange_64 / maple_range_64:
 *   leafSlots   (T | null)[] id*16+i
 *   leafEnd     Uint8Array   id           arange64 (S = 10)          range64 (S = 16)
 *                                         words  0..9   pivot[i]    words  0..15 pivot[i]
 *   nodeEnd     Uint8Array   id           words 10..19  child id    words 16..31 child id
 *                                         words 20..29  gap[i]      (no gaps)
 *
 *   cache lines of an arange64 node:  | p0 ... p7 | p8 p9 c0 ... c5 | c6..c9 g0..g3 | g4..g9 |
 *
 * Pivots, child ids and gaps share one block, as in the kernel's node: a descent reads the
 * pivots and the child id from the first two (adjacent) cache lines; a gap search finds the
 * gaps in the same block. Child ids are small integers stored exactly in float64 words.
 * Leaf pivots are 16 x 8 = 128 bytes per leaf.
 *
 * Leaves and internal nodes live in two arenas with their own id spaces: every leaf sits at
 * the same depth, so a walk knows from its level which arena a child id refers to (the
 * kernel encodes the node type in the low bits of the pointer instead).
 * `end` is the index of the last used slot (ma_meta_end); pivot[end] always holds the node's
 * maximum, which the kernel leaves implied when a node is full. The pivots after `end` hold
 * MAPLE_MAX (the kernel leaves them 0 and bounds its scans by end), so that a walk can find
 * a slot with four fixed probes without reading `end` (see walk.ts). A freed node has
 * end = FREE_END.
 *
 * Node lifetime, per id, like the page table's per-table generations (step-walk.ts reads it):
 *   gen     Uint32Array  bumped by every in-place rewrite that moves slots (not by a lone pivot
 *                        or gap update, which a concurrent reader survives)
 *   life    Uint32Array  bumped by every free: a walker that saw another life read freed memory
 *   retired Uint8Array   1 while the node left the tree in RCU mode (MT_FLAGS_USE_RCU) but is
 *                        not freed yet: readers may still use it until a grace period ends
 */
import { MAPLE_MAX } from "../page.js";

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
/** Float64 words per internal node: 256 bytes, the kernel's node size. */
export const NODE_STRIDE = 32;

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
  leafGen: Uint32Array;
  leafLife: Uint32Array;
  leafRetired: Uint8Array;
  /** Leaves retired (out of the tree, waiting for a grace period). */
  retiredLeaves: number;

  /** Internal nodes: NODE_STRIDE float64 words each (pivots, child ids, gaps; see above). */
  nodeData: Float64Array;
  nodeEnd: Uint8Array;
  nodeHighWater: number;
  nodeFree: number[];
  nodeGen: Uint32Array;
  nodeLife: Uint32Array;
  nodeRetired: Uint8Array;
  retiredNodes: number;

  constructor(allocRange: boolean) {
    this.allocRange = allocRange;
    this.nodeSlots = allocRange ? MAPLE_ARANGE64_SLOTS : MAPLE_RANGE64_SLOTS;
    // Pivots and slots of an id are written when it is first allocated (allocLeaf), not when
    // the arena grows: growth then touches no memory beyond the copy, and the slot array only
    // holds the leaves ever allocated plus one leaf of NULLs after them (a read one past the
    // last leaf's last slot finds NULL, as it did when the array had the arena's capacity).
    this.leafPivots = new Float64Array(INITIAL_NODES * MAPLE_RANGE64_SLOTS);
    this.leafSlots = [];
    for (let i = 0; i < MAPLE_RANGE64_SLOTS; i++) this.leafSlots.push(null);
    this.leafEnd = new Uint8Array(INITIAL_NODES).fill(FREE_END);
    this.leafHighWater = 0;
    this.leafFree = [];
    this.leafGen = new Uint32Array(INITIAL_NODES);
    this.leafLife = new Uint32Array(INITIAL_NODES);
    this.leafRetired = new Uint8Array(INITIAL_NODES);
    this.retiredLeaves = 0;
    this.nodeData = new Float64Array(INITIAL_NODES * NODE_STRIDE);
    this.nodeEnd = new Uint8Array(INITIAL_NODES).fill(FREE_END);
    this.nodeHighWater = 0;
    this.nodeFree = [];
    this.nodeGen = new Uint32Array(INITIAL_NODES);
    this.nodeLife = new Uint32Array(INITIAL_NODES);
    this.nodeRetired = new Uint8Array(INITIAL_NODES);
    this.retiredNodes = 0;
  }

  /** mas_alloc_nodes() for one leaf: a free id, its end set to 0, its pivots MAPLE_MAX. */
  allocLeaf(): number {
    let id = this.leafFree.pop();
    if (id === undefined) {
      id = this.leafHighWater++;
      if (id >= this.leafEnd.length) this.growLeaves();
      this.addLeafSlots();
    }
    this.leafEnd[id] = 0;
    const base = id * MAPLE_RANGE64_SLOTS;
    this.leafPivots.fill(MAPLE_MAX, base, base + MAPLE_RANGE64_SLOTS);
    return id;
  }

  /** mas_alloc_nodes() for one internal node (pivots MAPLE_MAX). */
  allocNode(): number {
    let id = this.nodeFree.pop();
    if (id === undefined) {
      id = this.nodeHighWater++;
      if (id >= this.nodeEnd.length) this.growNodes();
    }
    this.nodeEnd[id] = 0;
    const base = id * NODE_STRIDE;
    this.nodeData.fill(MAPLE_MAX, base, base + this.nodeSlots);
    return id;
  }

  /** ma_free_rcu() for a leaf: drop its entries so they can be collected. */
  freeLeaf(id: number): void {
    const base = id * MAPLE_RANGE64_SLOTS;
    const slots = this.leafSlots;
    for (let i = 0; i < MAPLE_RANGE64_SLOTS; i++) slots[base + i] = null;
    this.leafEnd[id] = FREE_END;
    this.leafLife[id] = ((this.leafLife[id] as number) + 1) >>> 0;
    this.leafFree.push(id);
  }

  freeNode(id: number): void {
    this.nodeEnd[id] = FREE_END;
    this.nodeLife[id] = ((this.nodeLife[id] as number) + 1) >>> 0;
    this.nodeFree.push(id);
  }

  /** ma_free_rcu(): a leaf out of the tree, its contents kept for readers until release. */
  retireLeaf(id: number): void {
    this.leafRetired[id] = 1;
    this.retiredLeaves++;
  }

  retireNode(id: number): void {
    this.nodeRetired[id] = 1;
    this.retiredNodes++;
  }

  /** mt_free_rcu(): the grace period ended, a retired leaf is freed. False if it was not retired. */
  releaseLeaf(id: number): boolean {
    if (this.leafRetired[id] !== 1) return false;
    this.leafRetired[id] = 0;
    this.retiredLeaves--;
    this.freeLeaf(id);
    return true;
  }

  releaseNode(id: number): boolean {
    if (this.nodeRetired[id] !== 1) return false;
    this.nodeRetired[id] = 0;
    this.retiredNodes--;
    this.freeNode(id);
    return true;
  }

  /** Pivot i of internal node id. */
  pivotAt(id: number, i: number): number {
    return this.nodeData[id * NODE_STRIDE + i] as number;
  }

  /** Child i of internal node id. */
  childAt(id: number, i: number): number {
    return (this.nodeData[id * NODE_STRIDE + this.nodeSlots + i] as number) | 0;
  }

  /** Set slot i of internal node id. */
  setNodeSlot(id: number, i: number, pivot: number, child: number): void {
    const d = id * NODE_STRIDE + i;
    this.nodeData[d] = pivot;
    this.nodeData[d + this.nodeSlots] = child;
  }

  /** Word of gap 0 of internal node id (arange64 only): gap i is at gapBase(id) + i. */
  gapBase(id: number): number {
    return id * NODE_STRIDE + 2 * this.nodeSlots;
  }

  /** Nodes in the tree (leaves, internal): allocated, neither free nor retired. */
  leavesInUse(): number {
    return this.leafHighWater - this.leafFree.length - this.retiredLeaves;
  }

  nodesInUse(): number {
    return this.nodeHighWater - this.nodeFree.length - this.retiredNodes;
  }

  /** Slots for one more leaf (kept out of allocLeaf, which stays small enough to inline). */
  private addLeafSlots(): void {
    const slots = this.leafSlots;
    for (let i = 0; i < MAPLE_RANGE64_SLOTS; i++) slots.push(null);
  }

  private growLeaves(): void {
    const n = this.leafEnd.length * 2;
    const pivots = new Float64Array(n * MAPLE_RANGE64_SLOTS);
    pivots.set(this.leafPivots);
    this.leafPivots = pivots;
    const end = new Uint8Array(n).fill(FREE_END);
    end.set(this.leafEnd);
    this.leafEnd = end;
    this.leafGen = grown32(this.leafGen, n);
    this.leafLife = grown32(this.leafLife, n);
    const retired = new Uint8Array(n);
    retired.set(this.leafRetired);
    this.leafRetired = retired;
  }

  private growNodes(): void {
    const n = this.nodeEnd.length * 2;
    const data = new Float64Array(n * NODE_STRIDE);
    data.set(this.nodeData);
    this.nodeData = data;
    const end = new Uint8Array(n).fill(FREE_END);
    end.set(this.nodeEnd);
    this.nodeEnd = end;
    this.nodeGen = grown32(this.nodeGen, n);
    this.nodeLife = grown32(this.nodeLife, n);
    const retired = new Uint8Array(n);
    retired.set(this.nodeRetired);
    this.nodeRetired = retired;
  }
}

function grown32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
