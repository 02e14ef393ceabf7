/**
 * What a maple tree tells its owner about node lifetimes, so that a simulation can drive RCU
 * and cut walks in time while the tree itself stays timeless (no clock, no tasks). With no
 * hooks installed the tree pays one null check per write; generations are kept either way.
 *
 *   nodeVisited   a stepped walk (MapleStepWalk) entered a node
 *   nodeRewritten a writer changed a node's slots in place (its generation was bumped); the
 *                 kernel's reader-safe in-place writes (direct replacement of a slot,
 *                 mas_wr_slot_store) do not count, in RCU mode or not
 *   nodeReplaced  RCU mode: a writer built `newId` and linked it where `oldId` was; `via` names
 *                 the kernel write path that did it ("mas_wr_node_store()", "mas_wr_bnode()"
 *                 for the slow path of a leaf too full for the fast paths, ...)
 *   nodeRetired   RCU mode: `oldId` left the tree; call `release()` after a grace period
 *                 (lib/maple_tree.c: ma_free_rcu() -> call_rcu(mt_free_rcu))
 *   nodeFreed     a node went back to the allocator (at once outside RCU mode, else on release)
 *   writer        who writes now (task and kernel call site), kept on the node for reports
 */
export interface MapleTreeHooks {
  nodeVisited(leaf: boolean, id: number): void;
  nodeRewritten(leaf: boolean, id: number): void;
  nodeReplaced(leaf: boolean, oldId: number, newId: number, via: string): void;
  nodeRetired(leaf: boolean, id: number, release: () => void): void;
  nodeFreed(leaf: boolean, id: number): void;
  writer(): string;
}

/** "leaf 3" / "node 1": how reports name a node. */
export function nodeName(leaf: boolean, id: number): string {
  return `${leaf ? "leaf" : "node"} ${id}`;
}

/** Fields shared by both reports. */
export interface MapleNodeReport {
  /** "leaf" or "node" (internal). */
  readonly kind: "leaf" | "node";
  readonly id: number;
  /** The walking task and its kernel call site, as given to MapleStepWalk.begin(). */
  readonly walker: string;
  /** What the tree recorded about the writers of this node ("" when no hooks were installed). */
  readonly writer: string;
}

/**
 * A stepped walk read a node that was freed after the walk entered it: the use-after-free
 * KASAN would report (StackRot, CVE-2023-3269, is one: a maple node freed by RCU while a
 * reader holding only the mmap_lock still walks it).
 */
export class MapleNodeUseAfterFree extends Error implements MapleNodeReport {
  readonly kind: "leaf" | "node";
  readonly id: number;
  readonly walker: string;
  readonly writer: string;

  constructor(leaf: boolean, id: number, walker: string, writer: string) {
    super(
      `@mmlab/vma-tree: maple ${nodeName(leaf, id)} use-after-free: ${walker} read it after it was freed` +
        ` (${writer === "" ? "<no writer recorded>" : writer})`,
    );
    this.name = "MapleNodeUseAfterFree";
    this.kind = leaf ? "leaf" : "node";
    this.id = id;
    this.walker = walker;
    this.writer = writer;
  }
}

/**
 * A stepped walk read a node whose slots were rewritten in place after the walk entered it:
 * its slot offset no longer means what it did (the 6.1 syzbot report fixed by 3dd4432549415f:
 * a stack grown under the read lock consumed the NULL range and the node was rewritten).
 */
export class MapleNodeRewritten extends Error implements MapleNodeReport {
  readonly kind: "leaf" | "node";
  readonly id: number;
  readonly walker: string;
  readonly writer: string;

  constructor(leaf: boolean, id: number, walker: string, writer: string) {
    super(
      `@mmlab/vma-tree: maple ${nodeName(leaf, id)} rewritten under a walker: ${walker} entered it, then read it after` +
        ` ${writer === "" ? "<no writer recorded>" : writer}`,
    );
    this.name = "MapleNodeRewritten";
    this.kind = leaf ? "leaf" : "node";
    this.id = id;
    this.walker = walker;
    this.writer = writer;
  }
}
