/**
 * Per-VMA locks (include/linux/mm.h, include/linux/mmap_lock.h, mm/memory.c — v6.4, the
 * series of Suren Baghdasaryan merged for 6.4: 5e31275cc997 "mm: add per-VMA lock and helper
 * functions to control it", lock_vma_under_rcu(), 0bff0aaea03e for x86 faults).
 *
 *   mm_lock_seq (per mm)          vm_lock_seq + vm_lock (per VMA)
 *   ───────────────────           ──────────────────────────────
 *   vma_start_write(vma):  under mmap_lock for write; wait for the VMA's readers
 *                          (down_write + up_write of vm_lock), then vm_lock_seq = mm_lock_seq
 *   vma_start_read(vma):   fails if vm_lock_seq == mm_lock_seq (write-locked) or the
 *                          vm_lock read-trylock fails; a fault then falls back to mmap_lock
 *   vma_end_write_all(mm): mm_lock_seq++ — every write-locked VMA is unlocked at once; called
 *                          by mmap_write_unlock() and mmap_write_downgrade()
 *
 * The state lives beside the Vma and MmStruct objects (WeakMaps), so @mmlab/vma-tree's Vma is
 * unchanged. Only code that ends its write hold with mmapWriteUnlock()/mmapWriteDowngrade()
 * can write-lock VMAs; the v4.19 writers (mmap, mprotect, mlock) do not take VMA write locks
 * (see the README's fidelity notes).
 */
import { RwSemaphore } from "@mmlab/rwsem";
import { current } from "@mmlab/sched";
import { VM_SHARED, type Vma, vmFlagsHas } from "@mmlab/vma-tree";
import type { Op } from "./charge.js";
import type { MmStruct } from "./mm-struct.js";

/** The per-VMA part: vma->vm_lock (an rw_semaphore named "vm_lock"), vm_lock_seq, detached. */
export class VmaLock {
  readonly vmLock: RwSemaphore;
  /** vma->vm_lock_seq: equal to mm_lock_seq while the VMA is write-locked; -1 initially. */
  vmLockSeq = -1;
  /** vma->detached (6.4): set when munmap removes the VMA from the tree. */
  detached = false;

  constructor(mm: MmStruct) {
    this.vmLock = new RwSemaphore(mm.sim, { name: "vm_lock", generation: "v5.3" });
  }
}

/** What the per-VMA-lock fault path did, per mm (the kernel's VMA_LOCK_* vm events). */
export interface VmaLockStats {
  /** VMA_LOCK_SUCCESS: faults handled under the VMA lock, never touching mmap_lock. */
  success: number;
  /** VMA_LOCK_ABORT: lock_vma_under_rcu() gave up (no VMA at the address, write-locked, no anon_vma, ...). */
  abort: number;
  /** VMA_LOCK_RETRY: handled under the VMA lock but asked to retry under mmap_lock. */
  retry: number;
  /** The pids of the tasks whose faults completed under a VMA lock, in order. */
  readonly lockFreePids: number[];
}

/** The per-mm part: mm->mm_lock_seq and the fault statistics. */
class MmLockState {
  mmLockSeq = 0;
  readonly stats: VmaLockStats = { success: 0, abort: 0, retry: 0, lockFreePids: [] };
}

const vmaLocks = new WeakMap<Vma, VmaLock>();
const mmLocks = new WeakMap<MmStruct, MmLockState>();

/** vma->vm_lock, created on first use (vma_lock_alloc()). */
export function vmaLockOf(mm: MmStruct, vma: Vma): VmaLock {
  let l = vmaLocks.get(vma);
  if (l === undefined) {
    l = new VmaLock(mm);
    vmaLocks.set(vma, l);
  }
  return l;
}

function mmState(mm: MmStruct): MmLockState {
  let s = mmLocks.get(mm);
  if (s === undefined) {
    s = new MmLockState();
    mmLocks.set(mm, s);
  }
  return s;
}

/** mm->mm_lock_seq. */
export function mmLockSeq(mm: MmStruct): number {
  return mmState(mm).mmLockSeq;
}

/** The per-VMA-lock fault counters of this mm. */
export function vmaLockStats(mm: MmStruct): VmaLockStats {
  return mmState(mm).stats;
}

/** True while `vma` is write-locked (vm_lock_seq == mm_lock_seq). */
export function vmaIsWriteLocked(mm: MmStruct, vma: Vma): boolean {
  return vmaLockOf(mm, vma).vmLockSeq === mmState(mm).mmLockSeq;
}

/**
 * include/linux/mm.h: vma_start_write() — v6.4: with mmap_lock held for write, wait for the
 * VMA's lock-free readers to leave (down_write/up_write of vm_lock), then mark it write-locked
 * until the mmap write lock is released or downgraded.
 */
export function* vmaStartWrite(mm: MmStruct, vma: Vma): Op<void> {
  const seq = mmState(mm).mmLockSeq;
  const l = vmaLockOf(mm, vma);
  if (l.vmLockSeq === seq) return;
  yield* l.vmLock.downWrite();
  l.vmLockSeq = seq;
  l.vmLock.upWrite();
}

/**
 * True while some task holds a VMA of `mm` read-locked (a fault under a VMA lock is in
 * progress): like a held mmap_sem, the mm may be mid-change (a copy-on-write page allocated
 * but not installed yet). Validators wait for such an mm to be quiet.
 */
export function mmHasVmaReaders(mm: MmStruct): boolean {
  for (const vma of mm.tree) {
    const l = vmaLocks.get(vma);
    if (l !== undefined && l.vmLock.readers > 0) return true;
  }
  return false;
}

/** include/linux/mm.h: vma_mark_detached() — v6.4. */
export function vmaMarkDetached(mm: MmStruct, vma: Vma, detached: boolean): void {
  vmaLockOf(mm, vma).detached = detached;
}

/**
 * include/linux/mm.h: vma_start_read() — v6.4: read-lock the VMA without mmap_lock, or fail
 * (write-locked by an mmap_lock writer, or its vm_lock is taken for write right now).
 */
export function vmaStartRead(mm: MmStruct, vma: Vma): boolean {
  const l = vmaLockOf(mm, vma);
  const seq = mmState(mm).mmLockSeq;
  if (l.vmLockSeq === seq) return false;
  if (!l.vmLock.downReadTrylock()) return false;
  // Re-check under the lock: a writer may have marked it between the test and the trylock.
  if (l.vmLockSeq === seq) {
    l.vmLock.upRead();
    return false;
  }
  return true;
}

/** include/linux/mm.h: vma_end_read() — v6.4. */
export function vmaEndRead(mm: MmStruct, vma: Vma): void {
  vmaLockOf(mm, vma).vmLock.upRead();
}

/** include/linux/mm.h: vma_end_write_all() — v6.4: mm_lock_seq++ unlocks every VMA at once. */
export function vmaEndWriteAll(mm: MmStruct): void {
  mmState(mm).mmLockSeq++;
}

/** include/linux/mmap_lock.h: mmap_write_unlock() — v6.4: vma_end_write_all(), up_write(). */
export function mmapWriteUnlock(mm: MmStruct): void {
  vmaEndWriteAll(mm);
  mm.mmapSem.upWrite();
}

/** include/linux/mmap_lock.h: mmap_write_downgrade() — v6.4: vma_end_write_all(), downgrade_write(). */
export function mmapWriteDowngrade(mm: MmStruct): void {
  vmaEndWriteAll(mm);
  mm.mmapSem.downgradeWrite();
}

/**
 * mm/memory.c: lock_vma_under_rcu() — v6.4: find the VMA containing `addr` without mmap_lock
 * and read-lock it. null when the fault must take mmap_lock: no VMA contains the address
 * (stack expansion needs mmap_lock), a shared or not-yet-anon_vma anonymous VMA (6.4 handles
 * private anonymous memory only), a write-locked VMA, or a detached one.
 */
export function lockVmaUnderRcu(mm: MmStruct, addr: number): Vma | null {
  const vma = mm.tree.findVma(addr);
  const stats = mmState(mm).stats;
  if (vma === null || vma.vmStart > addr) {
    stats.abort++;
    return null;
  }
  // 6.4: only anonymous VMAs qualify, and only once they have an anon_vma.
  if (vmFlagsHas(vma.vmFlags, VM_SHARED) || vma.vmFile !== null || vma.anonVma === null) {
    stats.abort++;
    return null;
  }
  if (!vmaStartRead(mm, vma)) {
    stats.abort++;
    return null;
  }
  // Re-check after taking the lock: the VMA may have changed or been detached meanwhile.
  if (vmaLockOf(mm, vma).detached || addr < vma.vmStart || addr >= vma.vmEnd) {
    vmaEndRead(mm, vma);
    stats.abort++;
    return null;
  }
  return vma;
}

/** count_vm_vma_lock_event(VMA_LOCK_SUCCESS), plus a "vma_lock_fault" trace mark. */
export function vmaLockFaultDone(mm: MmStruct, addr: number): void {
  const stats = mmState(mm).stats;
  stats.success++;
  const pid = current().pid;
  stats.lockFreePids.push(pid);
  if (mm.sim.tracing) mm.sim.mark("vma_lock_fault", { addr: `0x${addr.toString(16)}` });
}
