/**
 * Hooks munmap consults that belong to other subsystems: uprobes (kernel/events/uprobes.c)
 * and userfaultfd (fs/userfaultfd.c) — v4.19. Experiments register them on the mm.
 */
import type { Vma } from "@mmlab/vma-tree";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";

/** Registers a uprobe at `offset` bytes into `file` (uprobe_register()). */
export function uprobeRegister(mm: MmStruct, file: object, offset: number): void {
  const list = mm.uprobes.get(file);
  if (list === undefined) mm.uprobes.set(file, [{ offset }]);
  else list.push({ offset });
}

/**
 * kernel/events/uprobes.c: vma_has_uprobes() — v4.19: does any uprobe of the VMA's file fall
 * inside [start, end) of this mapping?
 */
export function vmaHasUprobes(mm: MmStruct, vma: Vma, start: number, end: number): boolean {
  if (vma.vmFile === null) return false;
  const list = mm.uprobes.get(vma.vmFile);
  if (list === undefined) return false;
  const minOff = vma.vmPgoff * PAGE_SIZE + (start - vma.vmStart);
  const maxOff = minOff + (end - start);
  return list.some((u) => u.offset >= minOff && u.offset < maxOff);
}

/** One `struct userfaultfd_unmap_ctx`: the context and the range its event will carry. */
interface UnmapCtx {
  readonly ctx: object;
  readonly start: number;
  readonly end: number;
}

/** The unmap contexts of each `uf` list (the list_head the kernel threads them on). */
const unmapCtxs = new WeakMap<Vma[], UnmapCtx[]>();

/**
 * fs/userfaultfd.c: userfaultfd_unmap_prep() — v4.19: remembers, for each VMA in the range
 * with a userfaultfd context, that an unmap event for [start, end) must be sent once mmap_sem
 * is released. The range is the one the caller passes (do_munmap's page-aligned end); a
 * context already on the list for the same range is not added twice (has_unmap_ctx()).
 */
export function userfaultfdUnmapPrep(
  mm: MmStruct,
  vma: Vma,
  start: number,
  end: number,
  uf: Vma[],
): number {
  const hooks = mm.userfaultfd;
  if (hooks === null) return 0;
  for (let v: Vma | null = vma; v !== null && v.vmStart < end; v = mm.tree.vmaNext(v)) {
    const ctx = v.vmUserfaultfdCtx;
    if (ctx === null) continue;
    const err = hooks.unmapPrep(v, start, end);
    if (err !== 0) return err;
    uf.push(v);
    let list = unmapCtxs.get(uf);
    if (list === undefined) {
      list = [];
      unmapCtxs.set(uf, list);
    }
    if (!list.some((u) => u.ctx === ctx && u.start === start && u.end === end)) {
      list.push({ ctx, start, end });
    }
  }
  return 0;
}

/**
 * fs/userfaultfd.c: userfaultfd_unmap_complete() — v4.19, after mmap_sem is released: one
 * UFFD_EVENT_UNMAP per context on the list, with the range userfaultfd_unmap_prep() recorded
 * (so what the kernel passes: the page-aligned end, whatever len the caller gave).
 */
export function userfaultfdUnmapComplete(mm: MmStruct, uf: Vma[] | null): void {
  if (mm.userfaultfd === null || uf === null) return;
  const list = unmapCtxs.get(uf);
  if (list === undefined) return;
  unmapCtxs.delete(uf);
  for (const u of list) mm.userfaultfd.unmapComplete(u.start, u.end);
}
