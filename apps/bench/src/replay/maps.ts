/**
 * Reading /proc/PID/maps for a replay (mm-core parses and formats; fs/proc/task_mmu.c show_map_vma()),
 * and the comparison of two layouts that a replay ends with.
 *
 *   start-end                 perms offset   dev   inode  (padded)  path
 *   555555554000-555555556000 r--p 00000000 fe:00 260131            /usr/bin/cat
 *   7ffff7fc0000-7ffff7fc2000 rw-p 00000000 00:00 0
 *   7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                 [stack]
 */
import {
  formatMapsEntry,
  type MapsEntry,
  MapsSyntaxError,
  major,
  minor,
  parseProcPidMaps,
} from "@mmlab/mm-core";
import { ReplayInputError } from "./strace.js";

/** One /proc/PID/maps line: mm-core's MapsEntry (start, end, perms, offset, dev, inode, path). */
export type { MapsEntry };
/** One entry as /proc/PID/maps prints it: mm-core's formatter, the kernel's padding. */
export { formatMapsEntry };

/** "fe:00": the device as /proc/PID/maps prints it. */
export function devText(dev: number): string {
  return `${major(dev).toString(16).padStart(2, "0")}:${minor(dev).toString(16).padStart(2, "0")}`;
}

/**
 * Parses a whole maps file with mm-core's parser; ReplayInputError names the first bad line,
 * and a replay also needs the lines in ascending, non-overlapping order and at least one.
 */
export function parseMaps(text: string, file = "maps"): MapsEntry[] {
  let out: MapsEntry[];
  try {
    out = parseProcPidMaps(text);
  } catch (e) {
    if (e instanceof MapsSyntaxError) throw new ReplayInputError(file, e.line, e.reason, e.text);
    throw e;
  }
  if (out.length === 0) throw new ReplayInputError(file, 1, "empty maps file");
  const lines = text.split("\n");
  for (let i = 1, line = 0; i < out.length; i++) {
    const prev = out[i - 1] as MapsEntry;
    const e = out[i] as MapsEntry;
    if (e.start < prev.end) {
      // find the offending line's number for the message (blank lines are skipped)
      for (let seen = -1; line < lines.length && seen < i; line++) {
        if ((lines[line] as string).trim() !== "") seen++;
      }
      throw new ReplayInputError(
        file,
        line,
        "overlaps or precedes the line before",
        lines[line - 1] ?? "",
      );
    }
  }
  return out;
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
