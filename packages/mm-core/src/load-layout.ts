/**
 * A starting layout from a /proc/PID/maps snapshot: what exec (fs/binfmt_elf.c
 * load_elf_binary(), fs/exec.c setup_arg_pages(), arch/x86/entry/vdso/vma.c
 * map_vdso()) and ld.so built before the recording starts, installed as VMAs without pages.
 *
 *   555555554000 /usr/bin/cat (file, r--p r-xp r--p rw-p)   ← one struct file per (dev, ino, path)
 *   555555560000 [heap]         start_brk = its start, brk = its end
 *   7ffff7fc2000 [vvar] ...     VM_PFNMAP | VM_IO special mapping, vm_ops->name
 *   7ffff7fc8000 [vdso]         VM_DONTEXPAND special mapping, vm_ops->name
 *   7ffff7fca000 ld-linux...    file
 *   7ffffffde000 [stack]        VM_GROWSDOWN | VM_ACCOUNT, start_stack inside it
 *   ffffffffff600000 [vsyscall] the gate VMA: not in the tree, printed last (mm.gateVma)
 *
 * What /proc/PID/maps does not say is reconstructed the way the kernel would have set it:
 * private writable mappings carry VM_ACCOUNT (mmap_region's accountable_mapping()), a
 * shared mapping without 'w' is taken to come from a read-only fd (VM_MAYSHARE without
 * VM_SHARED and VM_MAYWRITE), anonymous private memory gets vm_pgoff = vm_start >> 12.
 */
import {
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_IO,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_WRITE,
  Vma,
  vmaPages,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import type { MappedFile } from "./file.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { vmStatAccount } from "./munmap.js";
import type { MapsEntry } from "./task-mmu.js";

export interface LoadLayoutOptions {
  /** mm->start_brk; default: the [heap] entry's start, else the end of the executable's mappings. */
  startBrk?: number;
  /** mm->brk; default: the [heap] entry's end, else startBrk. */
  brk?: number;
  /** mm->start_stack; default: the last page of the [stack] entry. */
  startStack?: number;
  /** i_size per path; default: the end of the file's highest mapped offset. */
  fileSizes?: Readonly<Record<string, number>>;
}

const PERMS = /^[r-][w-][x-][ps]$/;

/** The pseudo-files that are special mappings (vm_ops->name) rather than anonymous memory. */
const SPECIAL_VVAR = /^\[vvar.*\]$/;

function fail(i: number, msg: string): never {
  throw new RangeError(`@mmlab/mm-core: loadLayout: entry ${i}: ${msg}`);
}

/**
 * Installs `entries` (parsed /proc/PID/maps lines, ascending) into an mm that has no VMAs:
 * VMAs with the flags exec would have given them, the counters of vm_stat_account(), the
 * VM_ACCOUNT charge, start_brk / brk / start_stack, the gate VMA. No page is populated.
 * Throws (changing nothing) on an overlap, a bad range or an mm that already has VMAs.
 */
export function loadLayout(
  mm: MmStruct,
  entries: readonly MapsEntry[],
  opts: LoadLayoutOptions = {},
): void {
  if (mm.mapCount !== 0) {
    throw new Error(
      "@mmlab/mm-core: loadLayout: the mm already has VMAs (load into a fresh MmStruct)",
    );
  }
  // Validate everything first: nothing half-applied.
  let prevEnd = 0;
  const fileEnds = new Map<string, number>();
  let gate: MapsEntry | null = null;
  const vmaEntries: MapsEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as MapsEntry;
    if (!PERMS.test(e.perms)) fail(i, `perms ${JSON.stringify(e.perms)} are not like "r-xp"`);
    if (e.path === "[vsyscall]") {
      gate = { ...e };
      continue;
    }
    if (
      !Number.isSafeInteger(e.start) ||
      !Number.isSafeInteger(e.end) ||
      e.start % PAGE_SIZE !== 0 ||
      e.end % PAGE_SIZE !== 0 ||
      e.start >= e.end
    ) {
      fail(i, `[0x${e.start.toString(16)}, 0x${e.end.toString(16)}) is not a page-aligned range`);
    }
    if (e.end > mm.taskSize) fail(i, `ends above TASK_SIZE 0x${mm.taskSize.toString(16)}`);
    if (e.start < prevEnd) fail(i, "overlaps the entry before it (entries must ascend)");
    if (e.offset % PAGE_SIZE !== 0)
      fail(i, `offset 0x${e.offset.toString(16)} is not page aligned`);
    prevEnd = e.end;
    if (isFileEntry(e)) {
      const key = fileKey(e);
      const end = e.offset + (e.end - e.start);
      fileEnds.set(key, Math.max(fileEnds.get(key) ?? 0, end));
    }
    vmaEntries.push(e);
  }

  const files = new Map<string, MappedFile>();
  let heap: MapsEntry | null = null;
  let stack: MapsEntry | null = null;
  for (const e of vmaEntries) {
    let flags = permFlags(e.perms) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_SOFTDIRTY;
    let pgoff = e.start / PAGE_SIZE;
    let file: MappedFile | null = null;
    let ops: { name: string } | null = null;
    const shared = e.perms[3] === "s";
    if (isFileEntry(e)) {
      const key = fileKey(e);
      file = files.get(key) ?? null;
      if (file === null) {
        const size = opts.fileSizes?.[e.path] ?? fileEnds.get(key) ?? 0;
        const writable = shared && e.perms[1] === "w";
        // A struct file of its own for this layout (the fd it came through is closed).
        file = mm.fdTable.openDetached({
          path: e.path,
          ino: e.inode,
          dev: e.dev,
          size,
          readable: true,
          writable,
        });
        files.set(key, file);
      }
      pgoff = e.offset / PAGE_SIZE;
      if (shared) {
        flags |= VM_MAYSHARE;
        if (e.perms[1] === "w") flags |= VM_SHARED;
        else flags &= ~VM_MAYWRITE; // a read-only fd: do_mmap clears VM_MAYWRITE
      } else if (vmFlagsHas(flags, VM_WRITE)) {
        flags |= VM_ACCOUNT;
      }
    } else if (SPECIAL_VVAR.test(e.path)) {
      // map_vdso(): vvar pages are PFN-mapped I/O memory.
      flags = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP | VM_DONTEXPAND | VM_SOFTDIRTY;
      ops = { name: e.path };
      pgoff = 0;
    } else if (e.path === "[vdso]" || e.path === "[uprobes]") {
      // _install_special_mapping(): VM_DONTEXPAND | VM_SOFTDIRTY on top of the text flags.
      flags |= VM_DONTEXPAND;
      ops = { name: e.path };
      pgoff = 0;
    } else {
      if (e.path === "[heap]") heap = e;
      if (e.path === "[stack]") {
        stack = e;
        flags |= VM_GROWSDOWN;
      }
      if (shared) {
        throw new RangeError(
          `@mmlab/mm-core: loadLayout: shared anonymous [0x${e.start.toString(16)}, ...) without a shmem inode`,
        );
      }
      if (vmFlagsHas(flags, VM_WRITE)) flags |= VM_ACCOUNT;
    }
    const vma = new Vma({
      vmStart: e.start,
      vmEnd: e.end,
      vmFlags: flags >>> 0,
      vmPgoff: pgoff,
      vmFile: file,
      vmOps: ops,
    });
    mm.tree.insert(vma);
    const pages = vmaPages(vma);
    vmStatAccount(mm, vma.vmFlags, pages);
    if (vmFlagsHas(vma.vmFlags, VM_ACCOUNT)) mm.committedVm += pages;
  }
  mm.updateHiwaterVm();
  mm.gateVma = gate;

  // start_brk: the heap's start; without a heap, the end of the executable's last mapping
  // (load_elf_binary() sets start_brk = brk = the end of the bss without randomisation).
  let startBrk = heap?.start ?? executableEnd(vmaEntries);
  let brk = heap?.end ?? startBrk;
  if (opts.startBrk !== undefined) startBrk = opts.startBrk;
  if (opts.brk !== undefined) brk = opts.brk;
  mm.startBrk = startBrk;
  mm.brk = brk;
  if (opts.startStack !== undefined) mm.startStack = opts.startStack;
  else if (stack !== null) mm.startStack = stack.end - PAGE_SIZE;
}

function permFlags(perms: string): number {
  return (
    (perms[0] === "r" ? VM_READ : 0) |
    (perms[1] === "w" ? VM_WRITE : 0) |
    (perms[2] === "x" ? VM_EXEC : 0)
  );
}

function isFileEntry(e: MapsEntry): boolean {
  return e.inode !== 0 || (e.path.startsWith("/") && e.dev !== 0);
}

function fileKey(e: MapsEntry): string {
  return `${e.dev}:${e.inode}:${e.path}`;
}

/** The end of the first file's mappings and the anonymous ones directly after them (bss). */
function executableEnd(entries: readonly MapsEntry[]): number {
  const first = entries[0];
  if (first === undefined || !isFileEntry(first)) return 0;
  const key = fileKey(first);
  let end = first.end;
  for (let i = 1; i < entries.length; i++) {
    const e = entries[i] as MapsEntry;
    if (e.start !== end) break;
    if (isFileEntry(e) ? fileKey(e) !== key : e.path !== "") break;
    end = e.end;
  }
  return end;
}
