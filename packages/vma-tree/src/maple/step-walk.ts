/**
 * A walk that advances one node per call, so that a simulation can cut it between node visits
 * (charge time, let writers run) the way a preempted reader in the kernel is cut: the read side
 * of lib/maple_tree.c (mas_start -> mas_descend ... -> the leaf slot; mt_find) — v6.1, with the
 * node checks KASAN and the maple tree's dead-node detection stand for (mas_dead_node, ma_dead_node).
 *
 *   begin(index)   mas_start(): read the root pointer, enter the root, pick the slot
 *   step()         re-read the node entered last (the checks below), then descend into the
 *                  chosen child and pick its slot, or, in a leaf, read the entry: done
 *
 * Each node is entered with its generation and life (node.ts). When the walk reads it again:
 *   - freed since (life changed)          -> MapleNodeUseAfterFree
 *   - slots rewritten in place since (gen) -> MapleNodeRewritten
 *   - retired in RCU mode but not freed   -> fine: the reader sees the old, consistent node
 * The hot walks of walk.ts are untouched: only simulations use this one.
 */
import { MAPLE_MAX } from "../page.js";
import { MapleNodeRewritten, MapleNodeUseAfterFree, nodeName } from "./hooks.js";
import { FREE_END, MAPLE_RANGE64_SLOTS, NODE_STRIDE } from "./node.js";
import { type MapleRootState, noteKey } from "./walk.js";

export class MapleStepWalk<T> {
  private readonly mt: MapleRootState<T>;
  /** The node entered last, whether it is a leaf, its generation and life at entry. */
  private node: number;
  private leaf: boolean;
  private gen: number;
  private life: number;
  /** Levels below the node entered last. */
  private below: number;
  /** The slot picked in it. */
  private offset: number;
  private index: number;
  private max: number;
  private walker: string;
  /** The entry found once done. */
  result: T | null;
  /** True once the walk read its leaf entry. */
  done: boolean;
  /** Nodes entered by this walk. */
  visits: number;

  constructor(mt: MapleRootState<T>) {
    this.mt = mt;
    this.node = 0;
    this.leaf = true;
    this.gen = 0;
    this.life = 0;
    this.below = 0;
    this.offset = 0;
    this.index = 0;
    this.max = 0;
    this.walker = "";
    this.result = null;
    this.done = true;
    this.visits = 0;
  }

  /**
   * mt_find(index, max) from mas_start(): enter the root. `walker` names the walking task and
   * its kernel call site for reports ("reader:4001 in find_vma()").
   */
  begin(index: number, max: number, walker: string): void {
    if (!Number.isSafeInteger(index) || index < 0 || !Number.isSafeInteger(max) || max < index) {
      throw new RangeError(
        `@mmlab/vma-tree: MapleStepWalk.begin: [${index}, ${max}] is not an index range`,
      );
    }
    this.index = index;
    this.max = max;
    this.walker = walker;
    this.result = null;
    this.done = false;
    this.visits = 0;
    this.enter(this.mt.root, this.mt.levels - 1);
  }

  /** The node entered last, as reports name it ("leaf 3"). */
  get position(): string {
    return nodeName(this.leaf, this.node);
  }

  /** One node further; true when the walk is done (result holds the entry). */
  step(): boolean {
    if (this.done) return true;
    this.check();
    const a = this.mt.arena;
    if (!this.leaf) {
      const child = (a.nodeData[this.node * NODE_STRIDE + a.nodeSlots + this.offset] as number) | 0;
      this.enter(child, this.below - 1);
      return false;
    }
    // mt_find(): a NULL range is followed by an entry in the same leaf (maple-tree.ts inv. 4).
    const base = this.node * MAPLE_RANGE64_SLOTS;
    let entry = a.leafSlots[base + this.offset] as T | null;
    if (entry === null) {
      const gapLast = a.leafPivots[base + this.offset] as number;
      const end = a.leafEnd[this.node] as number;
      entry =
        gapLast < this.max && gapLast !== MAPLE_MAX && this.offset < end
          ? (a.leafSlots[base + this.offset + 1] as T | null)
          : null;
    }
    this.result = entry;
    this.done = true;
    return true;
  }

  /** mas_descend(): enter a node, remember its generation and life, pick the slot for index. */
  private enter(id: number, below: number): void {
    const a = this.mt.arena;
    const leaf = below === 0;
    this.node = id;
    this.leaf = leaf;
    this.below = below;
    this.visits++;
    const end = (leaf ? a.leafEnd[id] : a.nodeEnd[id]) as number;
    this.gen = (leaf ? a.leafGen[id] : a.nodeGen[id]) as number;
    this.life = (leaf ? a.leafLife[id] : a.nodeLife[id]) as number;
    if (end === FREE_END) this.fail(true);
    let i = 0;
    if (leaf) {
      const base = id * MAPLE_RANGE64_SLOTS;
      while (i < end && (a.leafPivots[base + i] as number) < this.index) i++;
    } else {
      const base = id * NODE_STRIDE;
      while (i < end && (a.nodeData[base + i] as number) < this.index) i++;
    }
    this.offset = i;
    this.mt.hooks?.nodeVisited(leaf, id);
  }

  /** The node entered last, read again: freed or rewritten since? */
  private check(): void {
    const a = this.mt.arena;
    const id = this.node;
    const leaf = this.leaf;
    const life = (leaf ? a.leafLife[id] : a.nodeLife[id]) as number;
    if (life !== this.life) this.fail(true);
    const gen = (leaf ? a.leafGen[id] : a.nodeGen[id]) as number;
    if (gen !== this.gen) this.fail(false);
  }

  private fail(freed: boolean): never {
    const note = this.mt.notes.get(noteKey(this.leaf, this.node)) ?? "";
    this.done = true;
    if (freed) throw new MapleNodeUseAfterFree(this.leaf, this.node, this.walker, note);
    throw new MapleNodeRewritten(this.leaf, this.node, this.walker, note);
  }
}
