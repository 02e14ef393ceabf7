/**
 * DOC: Maple tree — lib/maple_tree.c, include/linux/maple_tree.h (v6.8)
 *
 * A B-tree of RANGES over the index space [0, MAPLE_MAX] (MAPLE_MAX = 2^53 - 1 stands for
 * ULONG_MAX). Every index belongs to exactly one range; a range holds an entry or NULL.
 *
 *   internal node (maple_arange_64: 10 slots, 9 pivots, gap per slot)
 *   ┌─────────┬─────────┬─────────┬─────┬─────────┐
 *   │ pivot 0 │ pivot 1 │ pivot 2 │ ... │ pivot e │   pivot[i] = last index under slot i
 *   │ child 0 │ child 1 │ child 2 │ ... │ child e │   slot i covers (pivot[i-1], pivot[i]]
 *   │ gap 0   │ gap 1   │ gap 2   │ ... │ gap e   │   gap[i] = largest NULL run below child i
 *   └────┬────┴────┬────┴─────────┴─────┴─────────┘
 *        │         └──────────────────────┐
 *   leaf ▼ (maple_leaf_64: 16 slots)      ▼
 *   [min ─ p0] (p0 ─ p1] (p1 ─ p2] ...   [p1+1 ─ ...
 *     entry      NULL      entry           ...
 *
 * Invariants (checked by validate(), i.e. mt_validate):
 *  1. The root spans [0, MAPLE_MAX]; a node spans [min, max] given by its parent: slot 0
 *     starts at min, slot i at pivot[i-1] + 1, and pivot[end] === max (kept explicitly here;
 *     the kernel leaves it implied when the node is full). Pivots strictly ascend; the
 *     pivots after end hold MAPLE_MAX (the kernel's are 0), so walks probe fixed slots.
 *  2. Every leaf is at the same depth; `height` counts the levels (0 for an empty tree).
 *  3. Leaves have 16 slots; internal nodes 10 (arange64, allocation trees) or 16 (range64).
 *     Non-root nodes hold at least 6 slots (leaf, range64) or 4 (arange64); an internal root
 *     at least 2.
 *  4. Two neighbouring ranges are never both NULL, also across nodes (NULL stores coalesce),
 *     and no leaf but the right-most ends on NULL (mas_is_span_wr, mab_no_null_split): a
 *     NULL slot is followed by an entry in the same leaf, which keeps mt_find in one leaf.
 *  5. Allocation trees (MT_FLAGS_ALLOC_RANGE): gap[i] equals the largest NULL run in child i's
 *     subtree, so emptyArea/emptyAreaRev descend in O(log n) without scanning leaves.
 *  6. count() equals the number of non-NULL ranges; no node is leaked or reachable twice.
 *
 * Fidelity: semantics of store/insert/erase/load/mt_find/mas_* walks and the empty-area
 * searches (with their errno values) follow v6.8. Not modelled: dense nodes, the 4096 reserved
 * values and XA_ZERO_ENTRY, and the kernel's exact split points (this tree splits evenly,
 * fuller on the right-most edge).
 *
 * Node lifetime (MT_FLAGS_USE_RCU, 3dd4432549415f "mm: enable maple tree RCU mode by default",
 * v6.3): outside RCU mode writers rewrite nodes in place (bumping the node's generation unless
 * only a pivot moves, as mas_wr_slot_store does for a growing stack) and free the nodes a
 * write drops at once; in RCU mode (setInRcu(true)) every write builds new nodes and links
 * them in, and the old ones are retired, freed when the owner's hooks call release() after a
 * grace period. MapleStepWalk is the walk a simulation cuts between nodes; it raises
 * MapleNodeUseAfterFree / MapleNodeRewritten when a node changed under it.
 */
import { EBUSY, EEXIST, EINVAL } from "./errno.js";
import { areaPos, masEmptyArea, masEmptyAreaRev } from "./maple/gap.js";
import type { MapleTreeHooks } from "./maple/hooks.js";
import { MapleNodeArena } from "./maple/node.js";
import { MapleStepWalk } from "./maple/step-walk.js";
import { masErase, masInsertRange, masStoreRange, nextSeq } from "./maple/store.js";
import { mtValidate } from "./maple/validate.js";
import {
  type MapleRootState,
  masFindFirst,
  masWalk,
  mtFind,
  mtFindRev,
  mtreeLoad,
  walkPos,
} from "./maple/walk.js";
import { MAPLE_MAX } from "./page.js";

export {
  MAPLE_ARANGE64_SLOTS,
  MAPLE_HEIGHT_MAX,
  MAPLE_RANGE64_SLOTS,
} from "./maple/node.js";

/** One range of a maple tree, as entries() yields it. */
export interface MapleRange<T> {
  first: number;
  last: number;
  entry: T;
}

function isIndex(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}

function checkIndex(fn: string, name: string, x: number): void {
  if (!isIndex(x))
    throw new RangeError(
      `@mmlab/vma-tree: MapleTree.${fn}: ${name} ${x} is not an index in [0, MAPLE_MAX]`,
    );
}

/** struct maple_tree (include/linux/maple_tree.h — v6.8): a range store with gap tracking. */
export class MapleTree<T> implements MapleRootState<T> {
  /** @internal node storage */
  arena: MapleNodeArena<T>;
  /** @internal root node id */
  root: number;
  /** @internal levels of nodes (1 when the root is a leaf) */
  levels: number;
  /** @internal non-NULL ranges */
  entryCount: number;
  /**
   * @internal modification stamp: new at every change and unique across trees (store.ts
   * nextSeq); invalidates cursors' cached positions and the store's kept path
   */
  seq: number;
  /** MT_FLAGS_ALLOC_RANGE: internal nodes keep gaps (arange64). */
  readonly allocRange: boolean;
  /** @internal MT_FLAGS_USE_RCU (see setInRcu) */
  rcu: boolean;
  /** @internal the owner's node-lifetime hooks (see setHooks) */
  hooks: MapleTreeHooks | null;
  /** @internal what happened to each node last, for reports (only with hooks) */
  readonly notes: Map<number, string>;

  constructor(opts?: { allocRange?: boolean }) {
    this.allocRange = opts?.allocRange ?? true;
    this.rcu = false;
    this.hooks = null;
    this.notes = new Map();
    this.arena = new MapleNodeArena<T>(this.allocRange);
    this.root = 0;
    this.levels = 1;
    this.entryCount = 0;
    this.seq = 0;
    this.initRoot();
  }

  /**
   * include/linux/maple_tree.h: mt_set_in_rcu() / mt_clear_in_rcu() — v6.3. In RCU mode writes
   * replace nodes and retire the old ones (freed when the hooks release them; at once if no
   * hooks are installed, as nobody can be walking then).
   */
  setInRcu(on: boolean): void {
    this.rcu = on === true;
  }

  /** MT_FLAGS_USE_RCU. */
  get inRcu(): boolean {
    return this.rcu;
  }

  /** Install (or, with null, remove) the node-lifetime hooks (maple/hooks.ts). */
  setHooks(hooks: MapleTreeHooks | null): void {
    this.hooks = hooks;
    this.notes.clear();
  }

  /** A walk a simulation advances one node at a time (maple/step-walk.ts). */
  stepWalk(): MapleStepWalk<T> {
    return new MapleStepWalk<T>(this);
  }

  /** Nodes retired in RCU mode and not freed yet: { leaves, internal }. */
  retiredCounts(): { leaves: number; internal: number } {
    return { leaves: this.arena.retiredLeaves, internal: this.arena.retiredNodes };
  }

  /** mt_height(): levels of nodes, 0 for an empty tree (the kernel's NULL root). */
  get height(): number {
    return this.entryCount === 0 ? 0 : this.levels;
  }

  /** mt_init_flags(): one leaf holding NULL over [0, MAPLE_MAX]. */
  private initRoot(): void {
    const leaf = this.arena.allocLeaf();
    this.arena.leafPivots[leaf * 16] = MAPLE_MAX;
    this.arena.leafSlots[leaf * 16] = null;
    this.arena.leafEnd[leaf] = 0;
    this.root = leaf;
    this.levels = 1;
  }

  /** lib/maple_tree.c: mtree_store_range() — v6.8. 0, or -EINVAL for a bad range. */
  store(first: number, last: number, entry: T | null): number {
    if (entry === undefined)
      throw new TypeError("@mmlab/vma-tree: MapleTree.store: entry is undefined (use null)");
    if (!isIndex(first) || !isIndex(last) || first > last) return -EINVAL;
    masStoreRange(this, first, last, entry);
    return 0;
  }

  /** lib/maple_tree.c: mtree_insert_range() — v6.8. 0, -EEXIST if anything is there, -EINVAL. */
  insert(first: number, last: number, entry: T): number {
    if (entry === undefined)
      throw new TypeError("@mmlab/vma-tree: MapleTree.insert: entry is undefined");
    if (!isIndex(first) || !isIndex(last) || first > last) return -EINVAL;
    if (entry === null) return mtFind(this, first, last) === null ? 0 : -EEXIST;
    return masInsertRange(this, first, last, entry) ? 0 : -EEXIST;
  }

  /** lib/maple_tree.c: mtree_load() — v6.8. */
  load(index: number): T | null {
    checkIndex("load", "index", index);
    return mtreeLoad(this, index);
  }

  /** lib/maple_tree.c: mtree_erase() — v6.8. Removes the whole range holding index. */
  erase(index: number): T | null {
    checkIndex("erase", "index", index);
    return masErase(this, index);
  }

  /** lib/maple_tree.c: mt_find() — v6.8. Lowest entry intersecting [index, max]. */
  find(index: number, max: number): T | null {
    checkIndex("find", "index", index);
    checkIndex("find", "max", max);
    return mtFind(this, index, max);
  }

  /** mas_find_rev() from a fresh state: highest entry intersecting [min, index]. */
  findRev(index: number, min: number): T | null {
    checkIndex("findRev", "index", index);
    checkIndex("findRev", "min", min);
    return mtFindRev(this, index, min);
  }

  /** mas_empty_area(): lowest start of `size` free indices in [min, max]; -EINVAL / -EBUSY. */
  emptyArea(min: number, max: number, size: number): number {
    const err = checkArea(min, max, size);
    if (err !== 0) return err;
    return masEmptyArea(this, min, max, size) ? areaPos.index : -EBUSY;
  }

  /** mas_empty_area_rev(): highest start of `size` free indices in [min, max]; -EINVAL / -EBUSY. */
  emptyAreaRev(min: number, max: number, size: number): number {
    const err = checkArea(min, max, size);
    if (err !== 0) return err;
    return masEmptyAreaRev(this, min, max, size) ? areaPos.index : -EBUSY;
  }

  /** Non-NULL ranges stored (O(1)). */
  count(): number {
    return this.entryCount;
  }

  /** mt_for_each(): the entries intersecting [first, last], ascending, with their ranges. */
  *entries(first = 0, last: number = MAPLE_MAX): IterableIterator<MapleRange<T>> {
    checkIndex("entries", "first", first);
    checkIndex("entries", "last", last);
    const mas = new MaState<T>(this, first);
    for (let entry = mas.find(last); entry !== null; entry = mas.find(last)) {
      yield { first: mas.index, last: mas.last, entry };
    }
  }

  /** MA_STATE(mas, mt, index, index): a reusable cursor. */
  state(index = 0): MaState<T> {
    checkIndex("state", "index", index);
    return new MaState<T>(this, index);
  }

  /** lib/maple_tree.c: mt_validate() — v6.8. Throws an Error naming the first broken invariant. */
  validate(): void {
    mtValidate(this);
  }

  /** lib/maple_tree.c: mtree_destroy() — v6.8. Empties the tree and releases every node. */
  destroy(): void {
    this.arena = new MapleNodeArena<T>(this.allocRange);
    this.notes.clear();
    this.entryCount = 0;
    this.seq = nextSeq();
    this.initRoot();
  }

  /** Nodes in use: { leaves, internal } (for memory reports). */
  nodeCounts(): { leaves: number; internal: number } {
    return { leaves: this.arena.leavesInUse(), internal: this.arena.nodesInUse() };
  }
}

/** The argument checks shared by mas_empty_area and mas_empty_area_rev. */
function checkArea(min: number, max: number, size: number): number {
  if (!isIndex(min) || !isIndex(max) || !Number.isSafeInteger(size) || size < 0) return -EINVAL;
  if (min > max) return -EINVAL;
  if (size === 0 || max - min < size - 1) return -EINVAL;
  return 0;
}

const MAS_START = 0;
const MAS_ACTIVE = 1;
const MAS_NONE = 2;
const MAS_OVERFLOW = 3;
const MAS_UNDERFLOW = 4;

/**
 * struct ma_state (include/linux/maple_tree.h — v6.8): a cursor over one tree. `index` and
 * `last` bound the current range. While the tree is unchanged it remembers its leaf slot, so
 * stepping through entries costs O(1) within a leaf.
 */
export class MaState<T> {
  readonly tree: MapleTree<T>;
  /** First index of the current range. */
  index: number;
  /** Last index of the current range (inclusive). */
  last: number;
  /** enum maple_status: 0 start, 1 active, 2 none, 3 overflow, 4 underflow. */
  status: number;
  private node: number;
  private offset: number;
  private seq: number;

  constructor(tree: MapleTree<T>, index = 0, last = index) {
    this.tree = tree;
    this.index = index;
    this.last = last;
    this.status = MAS_START;
    this.node = -1;
    this.offset = 0;
    this.seq = -1;
  }

  /** mas_set(): restart at index. */
  set(index: number): this {
    return this.setRange(index, index);
  }

  /** mas_set_range(): restart on [index, last]. */
  setRange(index: number, last: number): this {
    checkIndex("MaState.setRange", "index", index);
    checkIndex("MaState.setRange", "last", last);
    this.index = index;
    this.last = last;
    this.status = MAS_START;
    return this;
  }

  /** mas_reset(): restart from index. */
  reset(): this {
    this.status = MAS_START;
    return this;
  }

  /** True once a walk ran off the end (mas_is_overflow) or start (mas_is_underflow). */
  get isDone(): boolean {
    return this.status >= MAS_NONE;
  }

  /** Copy walkPos (the range just found) into the cursor. */
  private land(entry: T | null): T | null {
    this.index = walkPos.min;
    this.last = walkPos.max;
    this.node = walkPos.node;
    this.offset = walkPos.offset;
    this.seq = this.tree.seq;
    this.status = MAS_ACTIVE;
    return entry;
  }

  /** lib/maple_tree.c: mas_walk() — v6.8. Entry at index (maybe NULL); [index, last] = its range. */
  walk(): T | null {
    return this.land(masWalk(this.tree, this.index));
  }

  /** lib/maple_tree.c: mas_find() — v6.8. First entry at or after index, then each next one, up to max. */
  find(max: number): T | null {
    if (this.status === MAS_START) {
      const entry = masFindFirst(this.tree, this.index, max);
      if (entry === null) return this.stop(MAS_OVERFLOW);
      return this.land(entry);
    }
    if (this.status !== MAS_ACTIVE) return null;
    return this.nextEntry(max);
  }

  /** lib/maple_tree.c: mas_next() — v6.8. The entry after the current range, up to max. */
  next(max: number): T | null {
    if (this.status === MAS_START) this.walk();
    else if (this.status !== MAS_ACTIVE) return null;
    return this.nextEntry(max);
  }

  /** lib/maple_tree.c: mas_find_rev() — v6.8. Entry at or before index, then each previous one, down to min. */
  findRev(min: number): T | null {
    if (this.status === MAS_START) {
      const entry = mtFindRev(this.tree, this.index, min);
      if (entry === null) return this.stop(MAS_UNDERFLOW);
      return this.land(entry);
    }
    if (this.status !== MAS_ACTIVE) return null;
    return this.prevEntry(min);
  }

  /** lib/maple_tree.c: mas_prev() — v6.8. The entry before the current range, down to min. */
  prev(min: number): T | null {
    if (this.status === MAS_START) this.walk();
    else if (this.status !== MAS_ACTIVE) return null;
    return this.prevEntry(min);
  }

  /** lib/maple_tree.c: mas_next_range() — v6.8. The next range, NULL ones included. */
  nextRange(max: number): T | null {
    if (this.status === MAS_START) this.walk();
    if (this.status !== MAS_ACTIVE || this.last >= max || this.last === MAPLE_MAX)
      return this.stop(MAS_OVERFLOW);
    return this.land(masWalk(this.tree, this.last + 1));
  }

  /** lib/maple_tree.c: mas_prev_range() — v6.8. The previous range, NULL ones included. */
  prevRange(min: number): T | null {
    if (this.status === MAS_START) this.walk();
    if (this.status !== MAS_ACTIVE || this.index <= min || this.index === 0)
      return this.stop(MAS_UNDERFLOW);
    return this.land(masWalk(this.tree, this.index - 1));
  }

  /** lib/maple_tree.c: mas_store_gfp() — v6.8. Store entry over [index, last]. */
  store(entry: T | null): number {
    const err = this.tree.store(this.index, this.last, entry);
    this.status = MAS_START;
    return err;
  }

  /** lib/maple_tree.c: mas_erase() — v6.8. Erase the range holding index; returns its entry. */
  erase(): T | null {
    const entry = this.tree.erase(this.index);
    this.status = MAS_START;
    return entry;
  }

  /** lib/maple_tree.c: mas_empty_area() — v6.8. 0 with [index, last] set, or -EINVAL / -EBUSY. */
  emptyArea(min: number, max: number, size: number): number {
    const err = checkArea(min, max, size);
    if (err !== 0) return err;
    if (!masEmptyArea(this.tree, min, max, size)) return -EBUSY;
    this.index = areaPos.index;
    this.last = areaPos.last;
    this.status = MAS_START;
    return 0;
  }

  /** lib/maple_tree.c: mas_empty_area_rev() — v6.8. 0 with [index, last] set, or -EINVAL / -EBUSY. */
  emptyAreaRev(min: number, max: number, size: number): number {
    const err = checkArea(min, max, size);
    if (err !== 0) return err;
    if (!masEmptyAreaRev(this.tree, min, max, size)) return -EBUSY;
    this.index = areaPos.index;
    this.last = areaPos.last;
    this.status = MAS_START;
    return 0;
  }

  private stop(status: number): null {
    this.status = status;
    return null;
  }

  /** mas_next_slot(): from the current range to the next non-NULL one, up to max. */
  private nextEntry(max: number): T | null {
    if (this.last >= max || this.last === MAPLE_MAX) return this.stop(MAS_OVERFLOW);
    const tree = this.tree;
    if (this.seq === tree.seq) {
      // Still valid: step within the cached leaf (at most one NULL range in between).
      const a = tree.arena;
      const end = a.leafEnd[this.node] as number;
      const base = this.node * 16;
      let off = this.offset + 1;
      if (off <= end && a.leafSlots[base + off] === null) off++;
      if (off <= end) {
        const start = (a.leafPivots[base + off - 1] as number) + 1;
        if (start > max) return this.stop(MAS_OVERFLOW);
        this.offset = off;
        this.index = start;
        this.last = a.leafPivots[base + off] as number;
        return a.leafSlots[base + off] as T;
      }
    }
    const entry = masFindFirst(tree, this.last + 1, max);
    if (entry === null) return this.stop(MAS_OVERFLOW);
    return this.land(entry);
  }

  /** mas_prev_slot(): from the current range to the previous non-NULL one, down to min. */
  private prevEntry(min: number): T | null {
    if (this.index <= min || this.index === 0) return this.stop(MAS_UNDERFLOW);
    const entry = mtFindRev(this.tree, this.index - 1, min);
    if (entry === null) return this.stop(MAS_UNDERFLOW);
    return this.land(entry);
  }
}
