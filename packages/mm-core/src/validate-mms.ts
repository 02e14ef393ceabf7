/**
 * validateMms(): validate_mm() for address spaces that share frames (a fork parent and its
 * children). Each live mm must pass validateMm(); over their common PhysMem:
 *
 *   1. every frame's mapcount equals the number of PTEs mapping it over all live mms, and
 *      its refcount equals its mapcount (each mapping holds one reference, nothing else
 *      pins pages in the model);
 *   2. the data frames in use (anon, file, shmem) are exactly the frames some PTE maps: none
 *      is leaked by an exit or a copy-on-write, none is mapped while free;
 *   3. the page-table frames in use are exactly the tables of the live mms;
 *   4. every frame is counted once: the frames by kind sum to the total; with
 *      `{ phys: true }` also PhysMem.validate() (free runs, per-frame words: O(totalFrames)).
 *
 * Exited mms (exitMmap) hold nothing and are skipped. O(mapped pages): for tests and explore
 * scenarios.
 */

import { mmExited } from "./exit.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { MmInvariantError, validateMm } from "./validate.js";

function fail(msg: string): never {
  throw new MmInvariantError(`@mmlab/mm-core: validateMms: ${msg}`);
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Throws MmInvariantError naming the first broken invariant. All mms must share one PhysMem. */
export function validateMms(mms: readonly MmStruct[], opts: { phys?: boolean } = {}): void {
  if (mms.length === 0) return;
  const phys = (mms[0] as MmStruct).phys;
  for (const mm of mms) {
    if (mm.phys !== phys) fail("the mms do not share one PhysMem");
  }
  const live = mms.filter((mm) => !mmExited(mm));
  for (const mm of live) validateMm(mm);
  const ptes = new Map<number, number>();
  let tables = 0;
  for (const mm of live) {
    tables += mm.pt.tablePages;
    mm.pt.forEachLeaf((addr, size) => {
      if (size !== PAGE_SIZE)
        fail(`a huge leaf at ${hex(addr)}: validateMms counts 4 KiB PTEs only`);
      const pfn = mm.pt.followPage(addr);
      if (pfn === phys.zeroPfn) return; // special: no mapcount, no reference
      ptes.set(pfn, (ptes.get(pfn) ?? 0) + 1);
    });
  }
  let data = 0;
  for (const [pfn, n] of ptes) {
    const kind = phys.kindOf(pfn);
    if (kind === "free" || kind === "pagetable")
      fail(`pfn ${hex(pfn)} is mapped ${n} times but is ${kind}`);
    data++;
    const mapcount = phys.mapcount(pfn);
    if (mapcount !== n) fail(`pfn ${hex(pfn)} has mapcount ${mapcount} but ${n} PTEs map it`);
    const ref = phys.refcount(pfn);
    if (ref !== n) fail(`pfn ${hex(pfn)} has refcount ${ref} but ${n} PTEs map it`);
  }
  const counts = phys.counts();
  const inUse = counts.anon + counts.file + counts.shmem;
  if (inUse !== data) {
    fail(`${inUse} data frames are allocated but the live mms map ${data}: ${inUse - data} leaked`);
  }
  if (counts.pagetable !== tables) {
    fail(`${counts.pagetable} page-table frames are allocated but the live mms hold ${tables}`);
  }
  let sum = 0;
  for (const k of Object.keys(counts) as Array<keyof typeof counts>) sum += counts[k];
  if (sum !== phys.totalFrames) fail(`frames by kind sum to ${sum}, not ${phys.totalFrames}`);
  if (opts.phys === true) {
    try {
      phys.validate();
    } catch (e) {
      fail((e as Error).message);
    }
  }
}
