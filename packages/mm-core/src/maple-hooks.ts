/**
 * What mm-core does with the maple tree's node-lifetime hooks (@mmlab/vma-tree maple/hooks.ts)
 * for the maple-era strategies (v6.1, v6.3, v6.5): retired nodes go to RCU (call_rcu ->
 * mt_free_rcu, lib/maple_tree.c ma_free_rcu() — v6.3), rewrites and replacements become trace
 * marks, and every node remembers which task wrote it from which kernel call site, so that a
 * MapleNodeUseAfterFree / MapleNodeRewritten names the writer.
 *
 * One Rcu per Sim (the kernel has one rcu_state): simRcu(sim).
 */
import { current, Rcu, type Sim } from "@mmlab/sched";
import { type MapleTree, nodeName, type Vma } from "@mmlab/vma-tree";
import type { MmStruct } from "./mm-struct.js";

const rcus = new WeakMap<Sim, Rcu>();

/** The Sim's RCU (created at first use; a grace period has no minimum length). */
export function simRcu(sim: Sim): Rcu {
  let rcu = rcus.get(sim);
  if (rcu === undefined) {
    rcu = new Rcu(sim);
    rcus.set(sim, rcu);
  }
  return rcu;
}

/** The running task as "comm:pid", or "setup" outside any task (a layout being built). */
export function currentName(): string {
  try {
    const t = current();
    return `${t.comm}:${t.pid}`;
  } catch {
    return "setup";
  }
}

/** The kernel call site of a tree write nobody named (mmap, munmap, mprotect, brk ...). */
export const TREE_WRITE_SITE = "a VMA tree write under the mmap_lock";

/** The write's call site and the mmap_lock mode it holds, for trace marks. */
function writeContext(mm: MmStruct): string {
  const held = mm.mmapSem.isWriteLocked ? "write" : mm.mmapSem.readers > 0 ? "read" : "no";
  return `${mm.treeWriteSite}, mmap_lock held for ${held}`;
}

/**
 * include/linux/mm_types.h: MM_MT_FLAGS — v6.1 (no MT_FLAGS_USE_RCU) or v6.3 (with it):
 * sets the tree's RCU mode and installs the hooks.
 */
export function installMapleHooks(mm: MmStruct, mt: MapleTree<Vma>, rcuMode: boolean): void {
  const sim = mm.sim;
  const rcu = simRcu(sim);
  mt.setInRcu(rcuMode);
  mt.setHooks({
    nodeVisited: () => {},
    nodeRewritten: (leaf, id) => {
      if (sim.tracing) {
        sim.mark(`maple ${nodeName(leaf, id)} rewritten in place by ${writeContext(mm)}`);
      }
    },
    nodeReplaced: (leaf, oldId, newId, via) => {
      if (sim.tracing) {
        sim.mark(
          `maple ${nodeName(leaf, oldId)} replaced by ${nodeName(leaf, newId)} (RCU mode, ${via}) by ${writeContext(mm)}`,
        );
      }
    },
    nodeRetired: (leaf, id, release) => {
      rcu.callRcu(release, `mt_free_rcu() frees maple ${nodeName(leaf, id)}`);
    },
    nodeFreed: () => {},
    writer: () => `${currentName()} in ${mm.treeWriteSite}`,
  });
}
