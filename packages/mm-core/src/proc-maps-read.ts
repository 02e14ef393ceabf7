/**
 * fs/proc/task_mmu.c: m_start() / m_next() / show_map() — v6.1, the read side of
 * `cat /proc/PID/maps` as a sim operation: mmap_read_lock_killable(), then one find_vma() walk
 * per record under the read lock and outside any rcu_read_lock() section (find-vma-timed.ts:
 * for the maple-era strategies each walk can be cut between nodes). Returns the records read.
 * Simplified: the kernel continues from its ma_state's cached leaf and drops the lock between
 * read() calls of a page of text; here each record is a fresh walk and one call reads all.
 */
import { charge, type Op } from "./charge.js";
import { findVmaTimed } from "./find-vma-timed.js";
import type { MmStruct } from "./mm-struct.js";

/** A read of /proc/PID/maps under the mmap_lock read lock; the number of VMAs listed. */
export function* procPidMapsRead(mm: MmStruct): Op<number> {
  yield* charge(mm.cost.syscall);
  yield* mm.mmapSem.downRead();
  yield* charge(mm.cost.lockOp);
  let records = 0;
  for (let addr = 0; ; ) {
    const vma = yield* findVmaTimed(mm, addr, "m_next()");
    if (vma === null) break;
    records++;
    addr = vma.vmEnd;
  }
  mm.mmapSem.upRead();
  yield* charge(mm.cost.lockOp);
  return records;
}
