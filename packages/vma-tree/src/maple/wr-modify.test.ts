/**
 * mas_wr_modify()'s choice of write path (lib/maple_tree.c — v6.3) and what it means for a
 * reader in RCU mode: the fast paths (direct replacement, mas_wr_slot_store) stay in place and
 * a reader survives them; a leaf too full for them (node_size >= 16) takes the slow path and
 * is replaced, the old leaf freed after a grace period (StackRot's condition).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MapleTree } from "../maple-tree.js";
import { MAPLE_MAX } from "../page.js";
import { MapleNodeUseAfterFree, type MapleTreeHooks } from "./hooks.js";
import { mtFind } from "./walk.js";

function recorder() {
  const log: string[] = [];
  const releases: (() => void)[] = [];
  const hooks: MapleTreeHooks = {
    nodeVisited: () => {},
    nodeRewritten: (leaf, id) => log.push(`rewritten ${leaf ? "leaf" : "node"} ${id}`),
    nodeReplaced: (leaf, o, n, via) =>
      log.push(`replaced ${leaf ? "leaf" : "node"} ${o} by ${n} via ${via}`),
    nodeRetired: (leaf, id, release) => {
      log.push(`retired ${leaf ? "leaf" : "node"} ${id}`);
      releases.push(release);
    },
    nodeFreed: (leaf, id) => log.push(`freed ${leaf ? "leaf" : "node"} ${id}`),
    writer: () => "grower:4000 in expand_downwards()",
  };
  const gracePeriod = (): void => {
    for (const r of releases.splice(0)) r();
  };
  return { log, hooks, gracePeriod };
}

/**
 * One root leaf like the top of an mm: `others` entries spaced by NULLs, `extra` entries
 * right after the first ones (each adds one range), then the stack S = [100, 109] with NULL [others*10 - 5, 99]
 * below it and NULL above. Ranges: 2 * others (entries and the NULLs after them) + S + the
 * NULL above + 1 per extra.
 */
function stackTop(others: number, extra = 0): MapleTree<string> {
  const mt = new MapleTree<string>();
  for (let i = 0; i < others; i++) mt.store(i * 10, i * 10 + 4, `v${i}`);
  for (let i = 0; i < extra; i++) mt.store(i * 10 + 5, i * 10 + 6, `x${i}`);
  mt.store(100, 109, "S");
  return mt;
}

/** Ranges (entries and NULLs) of a root leaf. */
function rangesOf(mt: MapleTree<string>): number {
  expect(mt.height).toBe(1);
  return (mt.arena.leafEnd[mt.root] as number) + 1;
}

/** A stack growth to 95 in RCU mode with a walker that entered the leaf for index 97 before. */
function growUnderWalker(mt: MapleTree<string>) {
  mt.setInRcu(true);
  const { log, hooks, gracePeriod } = recorder();
  mt.setHooks(hooks);
  const w = mt.stepWalk();
  w.begin(97, MAPLE_MAX, "reader:4001 in find_vma()");
  const gen = mt.arena.leafGen[mt.root];
  mt.store(95, 109, "S"); // expand_downwards(): a portion of the NULL and all of S
  return { log, gracePeriod, w, gen };
}

describe("mas_wr_modify() in RCU mode (v6.3): a stack growth into a NULL that remains", () => {
  it("a leaf with room: mas_wr_slot_store() in place, no retire, the walker survives", () => {
    const mt = stackTop(6); // node_end 13: node_size = 13 - 12 + 11 + 2, + 1 (max ULONG_MAX) = 15
    expect(rangesOf(mt)).toBe(14);
    const leaf = mt.root;
    const { log, gracePeriod, w, gen } = growUnderWalker(mt);
    expect(log).toEqual([]); // no rewrite, no replacement, nothing for RCU
    expect(mt.root).toBe(leaf);
    expect(mt.arena.leafGen[leaf]).toBe(gen);
    gracePeriod();
    expect(w.step()).toBe(true); // the reader reads the leaf again: no error
    expect(w.result).toBe("S");
    expect(mt.retiredCounts()).toEqual({ leaves: 0, internal: 0 });
    expect(mt.load(95)).toBe("S");
    mt.validate();
  });

  it("the right-most leaf with 15 ranges is full (node_size 16): replaced via mas_wr_bnode()", () => {
    const mt = stackTop(6, 1);
    expect(rangesOf(mt)).toBe(15);
    const { log, gracePeriod, w } = growUnderWalker(mt);
    expect(log).toEqual(["replaced leaf 0 by 1 via mas_wr_bnode()", "retired leaf 0"]);
    expect(mt.retiredCounts()).toEqual({ leaves: 1, internal: 0 });
    gracePeriod();
    expect(log.at(-1)).toBe("freed leaf 0");
    let err: unknown;
    try {
      w.step();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MapleNodeUseAfterFree);
    expect((err as Error).message).toBe(
      "@mmlab/vma-tree: maple leaf 0 use-after-free: reader:4001 in find_vma() read it after it was freed (it was replaced by leaf 1 in a write by grower:4000 in expand_downwards() -> mas_wr_bnode(), then freed after a grace period (mt_free_rcu))",
    );
    expect(mt.load(95)).toBe("S");
    mt.validate();
  });

  it("a full leaf of 16 ranges: replaced too; the walker is fine until the grace period ends", () => {
    const mt = stackTop(7);
    expect(rangesOf(mt)).toBe(16);
    const { log, w } = growUnderWalker(mt);
    expect(log).toEqual(["replaced leaf 0 by 1 via mas_wr_bnode()", "retired leaf 0"]);
    expect(w.step()).toBe(true); // retired, not freed: the old, consistent leaf
    expect(w.result).toBe("S");
    mt.validate();
  });

  it("outside RCU mode (v6.1) the full leaf is rewritten in place with only a pivot moved", () => {
    const mt = stackTop(7);
    const { log, hooks } = recorder();
    mt.setHooks(hooks);
    const leaf = mt.root;
    const w = mt.stepWalk();
    w.begin(97, MAPLE_MAX, "reader:4001 in find_vma()");
    mt.store(95, 109, "S");
    expect(log).toEqual([]);
    expect(mt.root).toBe(leaf);
    expect(w.step()).toBe(true);
    expect(w.result).toBe("S");
  });
});

describe("mas_wr_modify() in RCU mode: the other paths", () => {
  it("direct replacement of one range stays in place (rcu_assign_pointer)", () => {
    const mt = stackTop(7); // full: direct replacement comes before the node_size check
    mt.setInRcu(true);
    const { log, hooks } = recorder();
    mt.setHooks(hooks);
    const w = mt.stepWalk();
    w.begin(12, MAPLE_MAX, "reader:4001 in find_vma()");
    mt.store(10, 14, "w1");
    expect(log).toEqual([]);
    expect(w.step()).toBe(true);
    expect(w.result).toBe("w1");
  });

  it("a store that consumes the NULL (stack-guard-gone) is mas_wr_node_store(): replaced", () => {
    const mt = stackTop(3);
    mt.setInRcu(true);
    const { log, hooks } = recorder();
    mt.setHooks(hooks);
    mt.store(25, 109, "S");
    expect(log).toEqual(["replaced leaf 0 by 1 via mas_wr_node_store()", "retired leaf 0"]);
    mt.validate();
  });

  it("mas_wr_append() stays in place in v6.3 but is not reader-safe: the generation moves", () => {
    const mt = stackTop(3);
    mt.setInRcu(true);
    const { log, hooks } = recorder();
    mt.setHooks(hooks);
    mt.store(110, 119, "T"); // the start of the last range (NULL [110, MAX])
    expect(log).toEqual(["rewritten leaf 0"]);
    mt.validate();
  });
});

describe("RCU mode changes how a node is written, never what the tree holds", () => {
  it("random stores, inserts and erases: RCU-mode and plain trees hold the same ranges", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(2000), fc.nat(40), fc.nat(3), fc.boolean()), {
          minLength: 1,
          maxLength: 300,
        }),
        (ops) => {
          const rcu = new MapleTree<number>();
          const plain = new MapleTree<number>();
          rcu.setInRcu(true);
          const { log, hooks, gracePeriod } = recorder();
          rcu.setHooks(hooks);
          let k = 0;
          for (const [first, len, op, gp] of ops) {
            k++;
            for (const t of [rcu, plain]) {
              if (op === 0) t.store(first, first + len, null);
              else if (op === 1) t.erase(first);
              else if (op === 2) t.insert(first, first + len, k);
              else t.store(first, first + len, k);
            }
            if (gp) gracePeriod();
            rcu.validate();
            expect(rcu.height).toBe(plain.height);
          }
          expect([...rcu.entries()]).toEqual([...plain.entries()]);
          gracePeriod();
          expect(log.filter((l) => l.startsWith("freed")).length).toBe(
            log.filter((l) => l.startsWith("retired")).length,
          );
          for (const [first] of ops)
            expect(mtFind(rcu, first, MAPLE_MAX)).toBe(mtFind(plain, first, MAPLE_MAX));
        },
      ),
      { numRuns: 60, seed: 1403 },
    );
  });
});
