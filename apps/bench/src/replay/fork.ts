/**
 * The child's mm at fork(), vfork()-less clone() or clone3() without CLONE_VM: the one place
 * the replay creates a process's address space from its parent's.
 */
import { type MmOptions, MmStruct, mapsEntries } from "@mmlab/mm-core";
import type { Sim } from "@mmlab/sched";

/** How the child's mm was made (the replay's process summary says it). */
export const FORK_ORIGIN = "fork copy";

/**
 * kernel/fork.c copy_mm() without CLONE_VM, as far as mm-core goes: a fresh mm loaded with
 * the model's copy of the parent's layout (VMAs, brk, start_stack; no pages, no anon_vma).
 */
export function copyMm(sim: Sim, parent: MmStruct, opts: MmOptions): MmStruct {
  const child = new MmStruct(sim, opts);
  child.loadLayout(mapsEntries(parent), {
    startBrk: parent.startBrk,
    brk: parent.brk,
    startStack: parent.startStack,
  });
  return child;
}
