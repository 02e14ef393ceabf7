/**
 * /proc/PID/maps (fs/proc/task_mmu.c show_map_vma() — v4.19, same layout in v6.8): one line
 * per VMA, ascending, then the gate VMA ([vsyscall]) if the process has one.
 *
 *   start-end    perms offset   dev   inode      (padded to column 73) name
 *   555555554000-555555556000 r--p 00000000 fe:00 260131                     /usr/bin/cat
 *   7ffff7fc0000-7ffff7fc2000 rw-p 00000000 00:00 0
 *
 * Hex fields are lower case, zero padded to 8 digits (addresses, offset) or 2 (dev). A
 * line with a name is padded with spaces to 72 characters and a space (seq_setwidth(25 +
 * 6 * sizeof(void *) - 1) and seq_pad()); a line without one ends in "inode " (a trailing
 * space). Names: the file's path; vm_ops->name ([vdso], [vvar]); [heap] for the VMA that
 * intersects [start_brk, brk]; [stack] for the one holding mm->start_stack. Anonymous
 * VMAs print offset 0 whatever their vm_pgoff.
 */
import { VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, type Vma, vmFlagsHas } from "@mmlab/vma-tree";
import { major, makedev, minor } from "./file.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";

/** One /proc/PID/maps line, parsed. */
export interface MapsEntry {
  /** vm_start. */
  start: number;
  /** vm_end. */
  end: number;
  /** "rwxp" / "r--s" ...: VM_READ, VM_WRITE, VM_EXEC, then s for VM_MAYSHARE else p. */
  perms: string;
  /** vm_pgoff << PAGE_SHIFT for a file mapping, 0 otherwise (bytes). */
  offset: number;
  /** st_dev of the file (glibc encoding, see makedev()), 0 for anonymous memory. */
  dev: number;
  /** The inode number, 0 for anonymous memory. */
  inode: number;
  /** The path or pseudo-name ("[heap]", "[stack]", "[vdso]", ...); "" for anonymous memory. */
  path: string;
}

/** show_vma_header_prefix()'s seq_setwidth(): 25 + sizeof(void *) * 6 - 1. */
const NAME_COLUMN = 25 + 8 * 6 - 1;

function hexPad(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** perms of show_vma_header_prefix(). */
function vmaPerms(flags: number): string {
  return (
    (vmFlagsHas(flags, VM_READ) ? "r" : "-") +
    (vmFlagsHas(flags, VM_WRITE) ? "w" : "-") +
    (vmFlagsHas(flags, VM_EXEC) ? "x" : "-") +
    (vmFlagsHas(flags, VM_MAYSHARE) ? "s" : "p")
  );
}

/**
 * The [heap] test: v4.19 show_map_vma() takes vm_start <= brk && vm_end >= start_brk, so a
 * bss VMA ending at start_brk is [heap] too while brk == start_brk; 6.x's
 * vma_is_initial_heap() is strict (recorded on 6.18: ls's bss page right below its heap is
 * not named).
 */
function isInitialHeap(mm: MmStruct, vma: Vma): boolean {
  if (mm.generation === "v4.19") return vma.vmStart <= mm.brk && vma.vmEnd >= mm.startBrk;
  return vma.vmStart < mm.brk && vma.vmEnd > mm.startBrk;
}

/** fs/proc/task_mmu.c: show_map_vma()'s fields for one VMA — v4.19 / v6.8. */
export function mapsEntryOf(mm: MmStruct, vma: Vma): MapsEntry {
  const file = vma.vmFile;
  let name = "";
  let dev = 0;
  let inode = 0;
  let offset = 0;
  if (file !== null) {
    dev = (file as { dev?: number }).dev ?? 0;
    inode = file.ino;
    offset = vma.vmPgoff * PAGE_SIZE;
    name = file.path;
  } else if (vma.vmOps?.name !== undefined) {
    name = vma.vmOps.name;
  } else if (isInitialHeap(mm, vma)) {
    name = "[heap]";
  } else if (vma.vmStart <= mm.startStack && vma.vmEnd >= mm.startStack) {
    name = "[stack]"; // vma_is_initial_stack()
  }
  return {
    start: vma.vmStart,
    end: vma.vmEnd,
    perms: vmaPerms(vma.vmFlags),
    offset,
    dev,
    inode,
    path: name,
  };
}

/** The entries /proc/PID/maps shows for `mm`, ascending, the gate VMA last. */
export function mapsEntries(mm: MmStruct): MapsEntry[] {
  const out: MapsEntry[] = [];
  for (const vma of mm.tree) out.push(mapsEntryOf(mm, vma));
  if (mm.gateVma !== null) out.push({ ...mm.gateVma });
  return out;
}

/** One line of /proc/PID/maps, with the kernel's padding, without the newline. */
export function formatMapsEntry(e: MapsEntry): string {
  const head =
    `${hexPad(e.start, 8)}-${hexPad(e.end, 8)} ${e.perms} ${hexPad(e.offset, 8)} ` +
    `${hexPad(major(e.dev), 2)}:${hexPad(minor(e.dev), 2)} ${e.inode} `;
  if (e.path === "") return head;
  // seq_pad(m, ' '): spaces up to the width, then the separating space.
  return `${head.slice(0, -1).padEnd(NAME_COLUMN, " ")} ${e.path}`;
}

/** fs/proc/task_mmu.c: the text of /proc/PID/maps (show_map() per VMA) — v4.19 / v6.8. */
export function procPidMaps(mm: MmStruct): string {
  let s = "";
  for (const e of mapsEntries(mm)) s += `${formatMapsEntry(e)}\n`;
  return s;
}

const LINE =
  /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)(?: +(.*))?$/;

/** A malformed /proc/PID/maps line: its 1-based number, its text and what is wrong. */
export class MapsSyntaxError extends SyntaxError {
  override name = "MapsSyntaxError";
  constructor(
    readonly line: number,
    readonly text: string,
    readonly reason: string,
  ) {
    super(`@mmlab/mm-core: maps line ${line}: ${reason}: ${JSON.stringify(text)}`);
  }
}

/**
 * Parses /proc/PID/maps text (as procPidMaps() or the kernel writes it) into entries. Blank
 * lines are skipped; a malformed line throws a MapsSyntaxError naming its line number.
 */
export function parseProcPidMaps(text: string): MapsEntry[] {
  const out: MapsEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") continue;
    const m = LINE.exec(line.replace(/\s+$/, ""));
    if (m === null) throw new MapsSyntaxError(i + 1, line, "not a /proc/PID/maps line");
    const [, s, e, perms, off, maj, min, ino, path] = m;
    const start = Number.parseInt(s as string, 16);
    const end = Number.parseInt(e as string, 16);
    if (!(start < end) || start % PAGE_SIZE !== 0 || end % PAGE_SIZE !== 0) {
      throw new MapsSyntaxError(i + 1, line, "range is empty or not page aligned");
    }
    out.push({
      start,
      end,
      perms: perms as string,
      offset: Number.parseInt(off as string, 16),
      dev: makedev(Number.parseInt(maj as string, 16), Number.parseInt(min as string, 16)),
      inode: Number(ino),
      path: path ?? "",
    });
  }
  return out;
}
