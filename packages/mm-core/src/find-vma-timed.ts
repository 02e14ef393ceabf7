/**
 * find_vma() as a walk that time can cut (mm/mmap.c find_vma() -> lib/maple_tree.c mt_find() —
 * v6.1): for the maple-era strategies a lookup visits the tree's nodes one at a time and
 * charges `cost.mapleNodeVisit` at each, so a writer can run between two node reads of a
 * reader, as a preempted or interrupted reader in the kernel sees it. The walk raises
 * MapleNodeUseAfterFree / MapleNodeRewritten (@mmlab/vma-tree) when a node changed under it.
 * Every other tree (the rb-tree, a maple tree without hooks) is looked up in one piece for
 * `cost.vmaLookup`, exactly as before.
 */
import { MAPLE_MAX, MapleVmaTree, type Vma } from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { PAGE_SIZE } from "./layout.js";
import { currentName } from "./maple-hooks.js";
import type { MmStruct } from "./mm-struct.js";

/**
 * find_vma(mm, addr) under the caller's mmap_lock; `site` names the kernel caller for reports
 * ("m_next()", "do_user_addr_fault()").
 */
export function* findVmaTimed(mm: MmStruct, addr: number, site: string): Op<Vma | null> {
  const tree = mm.tree;
  if (!(tree instanceof MapleVmaTree) || tree.mt.hooks === null) {
    yield* charge(mm.cost.vmaLookup);
    return tree.findVma(addr);
  }
  const perNode = mm.cost.mapleNodeVisit ?? 0;
  if (!(perNode > 0)) {
    yield* charge(mm.cost.vmaLookup);
    return tree.findVma(addr);
  }
  const walk = tree.mt.stepWalk();
  const sim = mm.sim;
  walk.begin(Math.floor(addr / PAGE_SIZE), MAPLE_MAX, `${currentName()} in ${site} -> find_vma()`);
  const what = sim.tracing ? `find_vma(0x${addr.toString(16)}) from ${site}: walk enters` : "";
  if (sim.tracing) sim.mark(`${what} ${walk.position}`);
  yield* charge(perNode);
  while (!walk.step()) {
    if (sim.tracing)
      sim.mark(`find_vma(0x${addr.toString(16)}): walk descends to ${walk.position}`);
    yield* charge(mm.cost.mapleNodeVisit ?? perNode);
  }
  return walk.result;
}
