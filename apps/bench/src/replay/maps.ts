/**
 * A parser for /proc/PID/maps (fs/proc/task_mmu.c show_map_vma()), and the comparison of
 * two layouts that a replay ends with.
 *
 *   start-end                 perms offset   dev   inode  (padded)  path
 *   555555554000-555555556000 r--p 00000000 fe:00 260131            /usr/bin/cat
 *   7ffff7fc0000-7ffff7fc2000 rw-p 00000000 00:00 0
 *   7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                 [stack]
 */
import { major, makedev, minor } from "@mmlab/mm-core";
import { ReplayInputError } from "./strace.js";

/** One /proc/PID/maps line (the field names of mm-core's MapsEntry). */
export interface MapsEntry {
  start: number;
  end: number;
  /** "r-xp", "rw-s", ... */
  perms: string;
  /** file offset in bytes (0 for anonymous memory) */
  offset: number;
  /** st_dev in glibc's encoding: makedev(major, minor) */
  dev: number;
  inode: number;
  /** the path, a pseudo-name ("[heap]", "[stack]", "[vdso]") or "" */
  path: string;
}

/** "fe:00": the device as /proc/PID/maps prints it. */
export function devText(dev: number): string {
  return `${major(dev).toString(16).padStart(2, "0")}:${minor(dev).toString(16).padStart(2, "0")}`;
}

const LINE =
  /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][sp]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)(?: +(.*))?$/;

/** Parses a whole maps file; ReplayInputError names the first bad line. */
export function parseMaps(text: string, file = "maps"): MapsEntry[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const out: MapsEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).replace(/\r$/, "");
    const m = LINE.exec(raw.replace(/ +$/, ""));
    if (m === null) throw new ReplayInputError(file, i + 1, "not a /proc/PID/maps line", raw);
    const e: MapsEntry = {
      start: Number(BigInt(`0x${m[1]}`)),
      end: Number(BigInt(`0x${m[2]}`)),
      perms: m[3] as string,
      offset: Number(BigInt(`0x${m[4]}`)),
      dev: makedev(Number.parseInt(m[5] as string, 16), Number.parseInt(m[6] as string, 16)),
      inode: Number(m[7]),
      path: m[8] ?? "",
    };
    if (e.end <= e.start || e.start % 4096 !== 0 || e.end % 4096 !== 0) {
      throw new ReplayInputError(file, i + 1, "range is empty or not page aligned", raw);
    }
    const prev = out[out.length - 1];
    if (prev !== undefined && e.start < prev.end) {
      throw new ReplayInputError(file, i + 1, "overlaps or precedes the line before", raw);
    }
    out.push(e);
  }
  if (out.length === 0) throw new ReplayInputError(file, 1, "empty maps file");
  return out;
}

function hex(n: number): string {
  return n.toString(16);
}

/** One entry as /proc/PID/maps prints it (path column padded as show_map_vma() does). */
export function formatMapsEntry(e: MapsEntry): string {
  const head = `${hex(e.start).padStart(8, "0")}-${hex(e.end).padStart(8, "0")} ${e.perms} ${hex(e.offset).padStart(8, "0")} ${devText(e.dev)} ${e.inode} `;
  return e.path === "" ? head : `${head.padEnd(73)}${e.path}`;
}

/** The first difference between the model's layout and the kernel's, or null. */
export interface LayoutDiff {
  /** index in both lists where they first differ */
  index: number;
  /** the kernel's entry there (null: the model has more entries) */
  expected: MapsEntry | null;
  /** the model's entry there (null: the model has fewer entries) */
  actual: MapsEntry | null;
  /** which fields differ: range, perms, offset, path */
  fields: string[];
}

/** What a layout comparison looks at: the range, permissions, offset and backing path. */
export const COMPARED_FIELDS = ["range", "perms", "offset", "path"] as const;

/**
 * Compares two layouts entry by entry: ranges, permissions, offset (of file mappings) and
 * the backing path. dev and inode are not compared: the model's come from the same maps
 * files or from fstat, never from the kernel's inode allocator.
 */
export function compareLayouts(
  expected: readonly MapsEntry[],
  actual: readonly MapsEntry[],
): LayoutDiff | null {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i] ?? null;
    const a = actual[i] ?? null;
    if (e === null || a === null) return { index: i, expected: e, actual: a, fields: ["range"] };
    const fields: string[] = [];
    if (e.start !== a.start || e.end !== a.end) fields.push("range");
    if (e.perms !== a.perms) fields.push("perms");
    if (e.offset !== a.offset) fields.push("offset");
    if (e.path !== a.path) fields.push("path");
    if (fields.length > 0) return { index: i, expected: e, actual: a, fields };
  }
  return null;
}
