import { readFileSync } from "node:fs";
import { makedev } from "@mmlab/mm-core";
import { describe, expect, it } from "vitest";
import { compareLayouts, devText, formatMapsEntry, parseMaps } from "./maps.js";
import { ReplayInputError } from "./strace.js";

const CAT = [
  "555555554000-555555556000 r--p 00000000 fe:00 260131                     /usr/bin/cat",
  "7ffff7fb8000-7ffff7fbf000 r--s 00000000 fe:00 338846                     /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
  "7ffff7fc0000-7ffff7fc2000 rw-p 00000000 00:00 0 ",
  "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]",
  "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
].join("\n");

describe("parseMaps", () => {
  it("reads ranges, perms, offset, dev, inode and path", () => {
    const e = parseMaps(CAT);
    expect(e[0]).toEqual({
      start: 0x555555554000,
      end: 0x555555556000,
      perms: "r--p",
      offset: 0,
      dev: makedev(0xfe, 0),
      inode: 260131,
      path: "/usr/bin/cat",
    });
    expect(e[2]?.path).toBe("");
    expect(e[4]).toMatchObject({ start: 0xffffffffff600000, path: "[vsyscall]" });
    expect(devText(makedev(0xfe, 0))).toBe("fe:00");
    expect(devText(makedev(0x103, 0x1ff))).toBe("103:1ff");
  });

  it("prints entries back byte for byte as the kernel does", () => {
    expect(parseMaps(CAT).map(formatMapsEntry).join("\n")).toBe(CAT);
  });

  it("reads every recorded maps file", () => {
    for (const f of [
      "c-mm.start.maps",
      "c-mm.final.maps",
      "node.final.maps",
      "c-fork.1905.final.maps",
    ]) {
      const text = readFileSync(new URL(`../../fixtures/${f}`, import.meta.url), "utf8");
      const e = parseMaps(text, f);
      expect(e.map(formatMapsEntry).join("\n")).toBe(text.trimEnd());
    }
  });

  it("names the line of a malformed, unaligned or overlapping entry", () => {
    const err = (t: string) => {
      try {
        parseMaps(t, "x.maps");
      } catch (e) {
        if (e instanceof ReplayInputError) return e.message;
      }
      return "no error";
    };
    expect(err("555555554000-555555556000 r--p 00000000 fe:00 1 /a\ngarbage")).toBe(
      'x.maps:2: not a /proc/PID/maps line: "garbage"',
    );
    expect(err("555555554000-555555556001 r--p 00000000 fe:00 1 /a")).toMatch(
      /^x\.maps:1: range is empty or not page aligned/,
    );
    expect(err("2000-4000 r--p 00000000 00:00 0\n3000-5000 r--p 00000000 00:00 0")).toMatch(
      /^x\.maps:2: overlaps or precedes the line before/,
    );
    expect(err("")).toBe("x.maps:1: empty maps file");
  });
});

describe("compareLayouts", () => {
  it("finds the first difference by range, perms, offset or path; ignores dev and inode", () => {
    const a = parseMaps(CAT);
    expect(
      compareLayouts(
        a,
        a.map((e) => ({ ...e, inode: 7, dev: 0 })),
      ),
    ).toBeNull();
    const b = a.map((e, i) => (i === 1 ? { ...e, perms: "r--p", offset: 4096 } : e));
    expect(compareLayouts(a, b)).toEqual({
      index: 1,
      expected: a[1],
      actual: b[1],
      fields: ["perms", "offset"],
    });
    expect(compareLayouts(a, a.slice(0, 3))).toEqual({
      index: 3,
      expected: a[3],
      actual: null,
      fields: ["range"],
    });
  });
});
