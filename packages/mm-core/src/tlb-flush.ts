/**
 * TLB shootdowns as events (arch/x86/mm/tlb.c flush_tlb_mm_range() — v4.19), for models of
 * the CPUs' TLBs that live outside mm-core (the fork-fault scenario caches a writable
 * translation per thread, as a CPU does). mm-core announces the flushes that matter for
 * copy-on-write: dup_mmap()'s flush_tlb_mm(oldmm) just before it drops the parent's mmap_sem,
 * and wp_page_copy()'s ptep_clear_flush() of the one page it replaces. The zap paths flush
 * through @mmlab/page-table's MmuGather and are not announced here.
 */
import type { MmStruct } from "./mm-struct.js";

/** Called with the flushed range [start, end) of the mm's user addresses. */
export type TlbFlushListener = (start: number, end: number) => void;

const listeners = new WeakMap<MmStruct, TlbFlushListener[]>();

/** Subscribes to the TLB flushes of `mm`; returns the unsubscribe function. */
export function onTlbFlush(mm: MmStruct, listener: TlbFlushListener): () => void {
  let list = listeners.get(mm);
  if (list === undefined) {
    list = [];
    listeners.set(mm, list);
  }
  list.push(listener);
  return () => {
    const l = listeners.get(mm);
    const i = l === undefined ? -1 : l.indexOf(listener);
    if (l !== undefined && i >= 0) l.splice(i, 1);
  };
}

/** include/asm-generic/tlb.h / arch/x86: flush_tlb_range() — every CPU running `mm` drops [start, end). */
export function flushTlbRange(mm: MmStruct, start: number, end: number): void {
  const list = listeners.get(mm);
  if (list === undefined) return;
  for (const l of list) l(start, end);
}

/** arch/x86/include/asm/tlbflush.h: flush_tlb_mm() — the whole address space. */
export function flushTlbMm(mm: MmStruct): void {
  flushTlbRange(mm, 0, Number.POSITIVE_INFINITY);
}

/** mm/pgtable-generic.c: ptep_clear_flush()'s flush_tlb_page() — one page. */
export function flushTlbPage(mm: MmStruct, addr: number): void {
  flushTlbRange(mm, addr, addr + 4096);
}
