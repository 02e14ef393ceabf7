/**
 * The release a throw needs: a kernel path cannot throw, a model path can (a RangeError from
 * a library, PageTableUseAfterFree, a hook of the experiment), and a throw must never leave
 * mmap_sem held, or every later task waits forever.
 */
import type { MmStruct } from "./mm-struct.js";
import { mmapWriteUnlock } from "./vma-lock.js";

/**
 * Releases mmap_sem, held by the current task, in the mode it is held in now: write (with
 * the VMA write locks, mmap_write_unlock()), or read after a downgrade. For `finally` blocks
 * of the paths that may downgrade.
 */
export function mmapUnlockHeld(mm: MmStruct): void {
  if (mm.mmapSem.isWriteLocked) mmapWriteUnlock(mm);
  else mm.mmapSem.upRead();
}
