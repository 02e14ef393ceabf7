import { describe, expect, it } from "vitest";
import { EBADF } from "./errno.js";
import { FileRegistry, major, makedev, minor } from "./file.js";
import { allocMm } from "./test-utils.js";

const LIBC = { path: "/usr/lib/libc.so.6", ino: 339380, dev: makedev(0xfe, 0), size: 2 << 20 };

describe("fd table", () => {
  it("installs a new open file description per open, shared by dup, one inode per (dev, ino)", () => {
    const { mm } = allocMm();
    const a = mm.installFile(3, { ...LIBC, readable: true, writable: false });
    const b = mm.installFile(4, { ...LIBC, readable: true, writable: false });
    expect(mm.fileOf(3)).toBe(a);
    expect(b).not.toBe(a); // two open()s: two struct files (they never merge)
    expect(b.inode).toBe(a.inode); // one inode
    expect(mm.dupFd(3, 5)).toBe(0);
    expect(mm.fileOf(5)).toBe(a); // dup(): the same struct file
    expect(mm.closeFd(3)).toBe(0);
    expect(mm.fileOf(3)).toBeNull();
    expect(mm.fileOf(5)).toBe(a);
    expect(mm.closeFd(3)).toBe(-EBADF);
    expect(mm.dupFd(3, 6)).toBe(-EBADF);
    expect(mm.fdTable.fdsInUse()).toEqual([4, 5]);
  });

  it("shares inodes between processes through one registry and rejects bad input", () => {
    const files = new FileRegistry();
    const { mm: m1 } = allocMm({ files });
    const { mm: m2 } = allocMm({ files });
    const f1 = m1.installFile(3, { ...LIBC, readable: true, writable: false });
    const f2 = m2.installFile(3, { ...LIBC, readable: true, writable: false });
    expect(f1.inode).toBe(f2.inode);
    expect(files.size).toBe(1);
    expect(() => m1.installFile(-1, { ...LIBC, readable: true, writable: false })).toThrow(
      RangeError,
    );
    expect(() => m1.installFile(7, { ...LIBC, ino: 1.5, readable: true, writable: false })).toThrow(
      /ino/,
    );
    expect(m1.fileOf(7)).toBeNull();
  });

  it("encodes st_dev as glibc does", () => {
    expect(makedev(0xfe, 0)).toBe(0xfe00);
    expect(makedev(8, 1)).toBe(0x801);
    const big = makedev(0x1234, 0x56789);
    expect(major(big)).toBe(0x1234);
    expect(minor(big)).toBe(0x56789);
  });
});
