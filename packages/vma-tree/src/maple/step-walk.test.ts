import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MapleTree } from "../maple-tree.js";
import { MAPLE_MAX } from "../page.js";
import { MapleNodeRewritten, MapleNodeUseAfterFree, type MapleTreeHooks } from "./hooks.js";
import { mtFind } from "./walk.js";

/** Hooks that log every event and keep the release() calls for a test to run "after a GP". */
function recorder(writer = "grower:4002 in expand_downwards()") {
  const log: string[] = [];
  const releases: (() => void)[] = [];
  const hooks: MapleTreeHooks = {
    nodeVisited: (leaf, id) => log.push(`visit ${leaf ? "leaf" : "node"} ${id}`),
    nodeRewritten: (leaf, id) => log.push(`rewritten ${leaf ? "leaf" : "node"} ${id}`),
    nodeReplaced: (leaf, o, n) => log.push(`replaced ${leaf ? "leaf" : "node"} ${o} by ${n}`),
    nodeRetired: (leaf, id, release) => {
      log.push(`retired ${leaf ? "leaf" : "node"} ${id}`);
      releases.push(release);
    },
    nodeFreed: (leaf, id) => log.push(`freed ${leaf ? "leaf" : "node"} ${id}`),
    writer: () => writer,
  };
  /** Every grace period so far ended: free what was retired. */
  const gracePeriod = (): void => {
    for (const r of releases.splice(0)) r();
  };
  return { log, hooks, gracePeriod };
}

/**
 * A leaf like an mm's top: A [10,19], NULL [20,29], the stack S [30,39] (a grows-down VMA with
 * the NULL below it), NULL above.
 */
function stackLeaf() {
  const mt = new MapleTree<string>();
  mt.store(10, 19, "A");
  mt.store(30, 39, "S");
  return mt;
}

describe("MapleStepWalk: node generations outside RCU mode (v6.1)", () => {
  it("a walk finds what mt_find finds, one node per step", () => {
    const mt = new MapleTree<number>();
    for (let i = 0; i < 400; i++) mt.store(i * 10, i * 10 + 4, i);
    expect(mt.height).toBeGreaterThan(2);
    const w = mt.stepWalk();
    for (const index of [0, 3, 5, 9, 1234, 3995, 3999, 4000, 9999]) {
      w.begin(index, MAPLE_MAX, "reader:1 in find_vma()");
      let steps = 0;
      while (!w.step()) steps++;
      expect(steps).toBe(mt.height - 1);
      expect(w.visits).toBe(mt.height);
      expect(w.result).toBe(mtFind(mt, index, MAPLE_MAX));
    }
  });

  it("a walk cut by an in-place rewrite raises MapleNodeRewritten naming walker, writer, node", () => {
    // 0         1         2         3         4
    // 0123456789012345678901234567890123456789
    //           AAAAAAAAAA          SSSSSSSSSS      before: the stack S has NULL [20,29] below
    //           AAAAAAAAAASSSSSSSSSSSSSSSSSSSS      after: S grows to abut A, the NULL is gone
    const mt = stackLeaf();
    const { log, hooks } = recorder();
    mt.setHooks(hooks);
    const w = mt.stepWalk();
    w.begin(25, MAPLE_MAX, "reader:4001 in find_vma()");
    mt.store(20, 39, "S"); // expand_downwards() to 20: one store over S's new range
    expect(log).toEqual(["visit leaf 0", "rewritten leaf 0"]);
    let err: unknown;
    try {
      w.step();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MapleNodeRewritten);
    const r = err as MapleNodeRewritten;
    expect([r.kind, r.id, r.walker]).toEqual(["leaf", 0, "reader:4001 in find_vma()"]);
    expect(r.message).toBe(
      "@mmlab/vma-tree: maple leaf 0 rewritten under a walker: reader:4001 in find_vma() entered it, then read it after it was rewritten in place by grower:4002 in expand_downwards()",
    );
    mt.validate();
  });

  it("a stack growing into a NULL that stays only moves a pivot: the walk completes", () => {
    // 0         1         2         3         4
    //           AAAAAAAAAA     SSSSSSSSSSSSSSS      S grows to 25: NULL [20,24] remains
    const mt = stackLeaf();
    const { log, hooks } = recorder();
    mt.setHooks(hooks);
    const w = mt.stepWalk();
    w.begin(22, MAPLE_MAX, "reader:4001 in find_vma()");
    mt.store(25, 39, "S");
    expect(w.step()).toBe(true);
    expect(w.result).toBe("S");
    expect(log).toEqual(["visit leaf 0"]);
    mt.validate();
  });

  it("a node freed (and reused) under a walk is a use-after-free", () => {
    const mt = new MapleTree<number>();
    for (let i = 0; i < 30; i++) mt.store(i * 10, i * 10 + 4, i);
    const { hooks } = recorder("munmap:7 in vma_iter_clear()");
    mt.setHooks(hooks);
    const w = mt.stepWalk();
    w.begin(150, MAPLE_MAX, "reader:1 in find_vma()");
    expect(mt.height).toBe(2);
    mt.store(0, 269, null); // three entries left: the root goes, a leaf takes its place
    expect(mt.height).toBe(1);
    expect(() => {
      while (!w.step()) {}
    }).toThrow(MapleNodeUseAfterFree);
    mt.validate();
  });
});

describe("MapleStepWalk: RCU mode (MT_FLAGS_USE_RCU, v6.3)", () => {
  it("a write replaces the leaf: a walk on the retired leaf is fine before the grace period, a use-after-free after it", () => {
    const mt = stackLeaf();
    mt.setInRcu(true);
    const { log, hooks, gracePeriod } = recorder();
    mt.setHooks(hooks);
    const before = mt.stepWalk();
    const after = mt.stepWalk();
    before.begin(25, MAPLE_MAX, "reader:4001 in find_vma()");
    after.begin(25, MAPLE_MAX, "reader:4003 in find_vma()");
    mt.store(20, 39, "S"); // the NULL below S is consumed: mas_wr_node_store, a new node
    expect(log).toEqual(["visit leaf 0", "visit leaf 0", "replaced leaf 0 by 1", "retired leaf 0"]);
    expect(mt.retiredCounts()).toEqual({ leaves: 1, internal: 0 });
    mt.validate(); // the retired leaf is neither leaked nor reachable
    // Before the grace period: the reader sees the old, consistent leaf.
    expect(before.step()).toBe(true);
    expect(before.result).toBe("S");
    gracePeriod();
    expect(log.at(-1)).toBe("freed leaf 0");
    expect(mt.retiredCounts()).toEqual({ leaves: 0, internal: 0 });
    let err: unknown;
    try {
      after.step();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MapleNodeUseAfterFree);
    expect((err as Error).message).toBe(
      "@mmlab/vma-tree: maple leaf 0 use-after-free: reader:4003 in find_vma() read it after it was freed (it was replaced by leaf 1 in a write by grower:4002 in expand_downwards() -> mas_wr_node_store(), then freed after a grace period (mt_free_rcu))",
    );
    // A walk begun now sees the new leaf.
    const now = mt.stepWalk();
    now.begin(25, MAPLE_MAX, "reader:4004 in find_vma()");
    expect(now.step()).toBe(true);
    expect(now.result).toBe("S");
    mt.validate();
  });

  it("without hooks RCU mode frees at once (nobody can be walking)", () => {
    const mt = stackLeaf();
    mt.setInRcu(true);
    mt.store(20, 39, "S");
    expect(mt.retiredCounts()).toEqual({ leaves: 0, internal: 0 });
    mt.validate();
    expect(mt.load(20)).toBe("S");
  });

  it("random stores in RCU mode keep the tree valid and every retired node is freed once", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3000), fc.nat(60), fc.boolean(), fc.boolean()), {
          minLength: 1,
          maxLength: 300,
        }),
        (ops) => {
          const rcu = new MapleTree<number>();
          const plain = new MapleTree<number>();
          rcu.setInRcu(true);
          const { log, hooks, gracePeriod } = recorder();
          rcu.setHooks(hooks);
          for (const [first, len, erase, gp] of ops) {
            const v = erase ? null : first;
            rcu.store(first, first + len, v);
            plain.store(first, first + len, v);
            if (gp) gracePeriod();
            rcu.validate();
          }
          gracePeriod();
          expect([...rcu.entries()]).toEqual([...plain.entries()]);
          const retired = log.filter((l) => l.startsWith("retired")).length;
          const freed = log.filter((l) => l.startsWith("freed")).length;
          expect(freed).toBe(retired);
          expect(rcu.retiredCounts()).toEqual({ leaves: 0, internal: 0 });
          // and a stepped walk agrees with mt_find everywhere
          const w = rcu.stepWalk();
          for (const [first] of ops) {
            w.begin(first, MAPLE_MAX, "t");
            while (!w.step()) {}
            expect(w.result).toBe(mtFind(rcu, first, MAPLE_MAX));
          }
        },
      ),
      { numRuns: 60, seed: 14 },
    );
  });

  it("begin() refuses a bad range", () => {
    const w = stackLeaf().stepWalk();
    expect(() => w.begin(-1, 5, "t")).toThrow(RangeError);
    expect(() => w.begin(9, 5, "t")).toThrow(RangeError);
  });
});
