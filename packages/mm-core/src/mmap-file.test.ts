import type { Instruction } from "@mmlab/sched";
import {
  VM_ACCOUNT,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_SHARED,
  VM_WRITE,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import {
  EACCES,
  EAGAIN,
  EBADF,
  EEXIST,
  EINVAL,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from "./errno.js";
import { doPageFault, FAULT_SIGBUS, FAULT_SIGSEGV_ACCERR } from "./fault.js";
import type { OpenFile } from "./file.js";
import { PAGE_SIZE } from "./layout.js";
import { MADV_MERGEABLE, sysMadvise } from "./madvise.js";
import { mlockPosixErrorReturn, sysMlock } from "./mlock.js";
import type { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { sysMunmap } from "./sys-munmap.js";
import { procPidMaps } from "./task-mmu.js";
import { allocMm, layout, MiB, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_SYNC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMm } from "./validate.js";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const BASE = 0x7ffff7fff000;
const A = 0x500000000;
const DATA: OpenFile = {
  path: "/srv/data.bin",
  ino: 4242,
  dev: 0xfe00,
  size: 16 * P,
  readable: true,
  writable: true,
};

function setup(opts: Parameters<typeof allocMm>[0] = {}) {
  const { sim, mm } = allocMm(opts);
  mm.installFile(3, DATA); // O_RDWR
  mm.installFile(4, { ...DATA, writable: false }); // O_RDONLY, a second open()
  mm.installFile(5, { ...DATA, readable: false }); // O_WRONLY
  const run = <R>(body: () => Generator<Instruction, R, unknown>): R => runChecked(sim, mm, body);
  return { sim, mm, run };
}

const flagsAt = (mm: MmStruct, addr: number): number => mm.tree.findVma(addr)?.vmFlags ?? -1;

describe("file-backed mmap", () => {
  it("fails with the kernel's errno and changes nothing", () => {
    const { mm, run } = setup();
    const cases: Array<[string, number, number, number, number, number]> = [
      // name, prot, flags, fd, off, errno
      ["bad fd", PROT_READ, MAP_PRIVATE, 9, 0, -EBADF],
      ["negative fd", PROT_READ, MAP_PRIVATE, -1, 0, -EBADF],
      ["unaligned offset (before the fd)", PROT_READ, MAP_PRIVATE, 9, 100, -EINVAL],
      ["PROT_WRITE|MAP_SHARED, O_RDONLY", RW, MAP_SHARED, 4, 0, -EACCES],
      ["MAP_PRIVATE of an O_WRONLY fd", PROT_READ, MAP_PRIVATE, 5, 0, -EACCES],
      ["MAP_SHARED of an O_WRONLY fd", PROT_READ, MAP_SHARED, 5, 0, -EACCES],
      ["no map type", PROT_READ, 0, 3, 0, -EINVAL],
      ["MAP_GROWSDOWN file", PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, 3, 0, -EINVAL],
      [
        "MAP_SHARED_VALIDATE + unknown",
        PROT_READ,
        MAP_SHARED_VALIDATE | 0x800000,
        3,
        0,
        -EOPNOTSUPP,
      ],
      ["offset past MAX_LFS_FILESIZE", PROT_READ, MAP_PRIVATE, 3, 2 ** 63 - P, -EOVERFLOW],
    ];
    for (const [name, prot, flags, fd, off, errno] of cases) {
      expect([name, run(() => sysMmap(mm, 0, 4 * P, prot, flags, fd, off))]).toEqual([name, errno]);
      expect(mm.mapCount).toBe(0);
    }
    // MAP_SHARED (not _VALIDATE) ignores unknown flags; MAP_SYNC is ext4's supported flag.
    expect(run(() => sysMmap(mm, 0, P, PROT_READ, MAP_SHARED | 0x800000, 3, 0))).toBe(BASE - P);
    expect(run(() => sysMmap(mm, 0, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, 3, 0))).toBe(
      BASE - 2 * P,
    );
  });

  it("sets vm_pgoff from the offset and merges only the same struct file at contiguous pgoff", () => {
    const { mm, run } = setup();
    expect(mm.dupFd(3, 6)).toBe(0);
    // pages of A:   0   1   2   3   4   5
    //               [fd3 off 0]           one private mapping, pgoff 0
    //                       [fd6 off 2]   dup of fd3, pgoff 2: contiguous -> merges
    //                               [fd4] second open(), pgoff 4: another struct file
    expect(run(() => sysMmap(mm, A, 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 3, 0))).toBe(A);
    expect(
      run(() => sysMmap(mm, A + 2 * P, 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 6, 2 * P)),
    ).toBe(A + 2 * P);
    expect(
      run(() => sysMmap(mm, A + 4 * P, 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 4, 4 * P)),
    ).toBe(A + 4 * P);
    expect(layout(mm)).toEqual(["500000000-500004000", "500004000-500006000"]);
    expect(mm.vmas().map((v) => v.vmPgoff)).toEqual([0, 4]);
    //               [fd3 off 8] at page 6: same file as page 4's? no: fd4's file; and fd3's
    //               pgoff would have to be 4 to follow [0, 4): no merge either way
    run(() => sysMmap(mm, A + 6 * P, P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 3, 8 * P));
    expect(mm.mapCount).toBe(3);
    expect(procPidMaps(mm)).toBe(
      [
        `${"500000000-500004000 r--p 00000000 fe:00 4242".padEnd(72)} /srv/data.bin`,
        `${"500004000-500006000 r--p 00004000 fe:00 4242".padEnd(72)} /srv/data.bin`,
        `${"500006000-500007000 r--p 00008000 fe:00 4242".padEnd(72)} /srv/data.bin`,
        "",
      ].join("\n"),
    );
    // The fd may be closed: the mapping keeps its file.
    expect(mm.closeFd(3)).toBe(0);
    expect(mm.vmas()[0]?.vmFile?.path).toBe("/srv/data.bin");
  });

  it("applies VM_SHARED / VM_MAYSHARE / VM_MAYWRITE and mprotect's -EACCES to shared mappings", () => {
    const { mm, run } = setup();
    const ro = run(() => sysMmap(mm, 0, 2 * P, PROT_READ, MAP_SHARED, 4, 0));
    const rw = run(() => sysMmap(mm, 0, 2 * P, PROT_READ, MAP_SHARED, 3, 0));
    // A read-only fd: r--s in /proc/PID/maps, but neither VM_SHARED nor VM_MAYWRITE.
    expect(flagsAt(mm, ro) & (VM_SHARED | VM_MAYSHARE | VM_MAYWRITE)).toBe(VM_MAYSHARE);
    expect(flagsAt(mm, rw) & (VM_SHARED | VM_MAYSHARE | VM_MAYWRITE)).toBe(
      VM_SHARED | VM_MAYSHARE | VM_MAYWRITE,
    );
    expect(run(() => sysMprotect(mm, ro, P, RW))).toBe(-EACCES);
    expect(flagsAt(mm, ro) & VM_WRITE).toBe(0);
    expect(run(() => sysMprotect(mm, rw, P, RW))).toBe(0);
    // Shared mappings are never charged to the overcommit accounting.
    expect(mm.committedVm).toBe(0);
    expect(
      procPidMaps(mm)
        .split("\n")
        .map((l) => l.slice(0, 30)),
    ).toEqual([
      `${(rw).toString(16)}-${(rw + P).toString(16)} rw-s`,
      `${(rw + P).toString(16)}-${(rw + 2 * P).toString(16)} r--s`,
      `${ro.toString(16)}-${(ro + 2 * P).toString(16)} r--s`,
      "",
    ]);
  });

  it("charges private writable file mappings and mprotect(PROT_WRITE) of read-only ones", () => {
    const { mm, run } = setup();
    const a = run(() => sysMmap(mm, 0, 2 * P, RW, MAP_PRIVATE, 4, 0)); // O_RDONLY is fine: COW
    expect(vmFlagsHas(flagsAt(mm, a), VM_ACCOUNT)).toBe(true);
    const b = run(() => sysMmap(mm, 0, 2 * P, PROT_READ, MAP_PRIVATE, 4, 0));
    expect(vmFlagsHas(flagsAt(mm, b), VM_ACCOUNT)).toBe(false);
    expect(run(() => sysMprotect(mm, b, 2 * P, RW))).toBe(0);
    expect(vmFlagsHas(flagsAt(mm, b), VM_ACCOUNT)).toBe(true);
    expect(mm.committedVm).toBe(4);
  });

  it("faults file pages in as MM_FILEPAGES, copies on a private write, SIGBUS beyond EOF", () => {
    const { mm, run } = setup();
    // 16-page file mapped with 20 pages: pages 16..19 lie beyond EOF.
    const priv = run(() => sysMmap(mm, 0, 20 * P, RW, MAP_PRIVATE, 3, 0));
    const shared = run(() => sysMmap(mm, 0, 4 * P, RW, MAP_SHARED, 3, 0));
    expect(run(() => doPageFault(mm, priv))).toBe(0); // read: the file page
    expect(mm.pt.rss).toMatchObject({ file: 1, anon: 0 });
    expect(run(() => doPageFault(mm, priv, { write: true }))).toBe(0); // wp_page_copy
    expect(mm.pt.rss).toMatchObject({ file: 0, anon: 1 });
    expect(run(() => doPageFault(mm, priv + P, { write: true }))).toBe(0); // do_cow_fault
    expect(mm.pt.rss).toMatchObject({ file: 0, anon: 2 });
    expect(run(() => doPageFault(mm, priv + 16 * P))).toBe(FAULT_SIGBUS);
    expect(run(() => doPageFault(mm, shared))).toBe(0);
    expect(run(() => doPageFault(mm, shared, { write: true }))).toBe(0); // wp_page_shared
    expect(run(() => doPageFault(mm, shared + P, { write: true }))).toBe(0);
    expect(mm.pt.rss).toMatchObject({ file: 2, anon: 2 });
    expect(run(() => sysMunmap(mm, shared, 4 * P))).toBe(0);
    expect(run(() => sysMunmap(mm, priv, 20 * P))).toBe(0);
    expect(mm.pt.rss).toMatchObject({ file: 0, anon: 0 });
  });

  it("populates file mappings through the fault path (MAP_POPULATE stops at EOF)", () => {
    const { mm, run } = setup();
    run(() => sysMmap(mm, 0, 20 * P, PROT_READ, MAP_PRIVATE | MAP_POPULATE, 3, 0));
    expect(mm.pt.rss).toMatchObject({ file: 16, anon: 0 });
    run(() => sysMmap(mm, 0, 2 * P, RW, MAP_PRIVATE | MAP_POPULATE, 3, 0));
    expect(mm.pt.rss).toMatchObject({ file: 16, anon: 2 }); // FOLL_WRITE: COW copies
  });

  it("PROT_NONE guard regions refuse access and keep neighbours apart; MAP_FIXED_NOREPLACE", () => {
    const { mm, run } = setup();
    // A:  0       1       2       3       4
    //     [ rw ---------------------------)    anonymous, 4 pages
    //             [NONE]                        mprotect guard page
    run(() => sysMmap(mm, A, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
    expect(run(() => sysMprotect(mm, A + P, P, PROT_NONE))).toBe(0);
    expect(layout(mm)).toEqual([
      "500000000-500001000",
      "500001000-500002000",
      "500002000-500004000",
    ]);
    expect(run(() => doPageFault(mm, A + P))).toBe(FAULT_SIGSEGV_ACCERR);
    expect(run(() => doPageFault(mm, A + P, { write: true }))).toBe(FAULT_SIGSEGV_ACCERR);
    expect(procPidMaps(mm).split("\n")[1]).toBe("500001000-500002000 ---p 00000000 00:00 0 ");
    // MAP_FIXED_NOREPLACE: -EEXIST on any overlap, a fit right after the range.
    expect(
      run(() =>
        sysMmap(mm, A + 3 * P, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE),
      ),
    ).toBe(-EEXIST);
    expect(
      run(() => sysMmap(mm, A + 4 * P, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)),
    ).toBe(A + 4 * P);
    expect(layout(mm)).toEqual([
      "500000000-500001000",
      "500001000-500002000",
      "500002000-500005000",
    ]);
    // Restoring the guard merges the three back into one VMA.
    expect(run(() => sysMprotect(mm, A + P, P, RW))).toBe(0);
    expect(layout(mm)).toEqual(["500000000-500005000"]);
  });
});

describe("kernel generations", () => {
  it("v6.8 / v6.18 align anonymous mappings to 2 MiB as thp_get_unmapped_area() does", () => {
    const place = (generation: "v4.19" | "v6.8" | "v6.18", lens: number[], hint = 0) => {
      const { mm, run } = setup({ generation });
      // A small mapping first, so that mmap_base is no longer 2 MiB aligned below.
      run(() => sysMmap(mm, 0, 5 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
      return lens.map((len) => run(() => sysMmap(mm, hint, len, RW, MAP_PRIVATE | MAP_ANONYMOUS)));
    };
    // top = BASE - 5 pages = 0x7ffff7ffa000
    //   v4.19: right below, page aligned
    expect(place("v4.19", [2 * MiB, 3 * MiB])).toEqual([0x7ffff7dfa000, 0x7ffff7afa000]);
    //   v6.18: the 2 MiB one goes to 0x7ffff7c00000 (search 4 MiB, align up), 3 MiB not aligned
    expect(place("v6.18", [2 * MiB, 3 * MiB])).toEqual([0x7ffff7c00000, 0x7ffff7900000]);
    //   v6.8: any anonymous mapping of 2 MiB or more is aligned
    expect(place("v6.8", [2 * MiB, 3 * MiB])).toEqual([0x7ffff7c00000, 0x7ffff7800000]);
  });

  it("a free hint is kept; v6.8 pads it, v6.18 skips the alignment for hinted calls", () => {
    const hint = 0x600000000 + 0x3000;
    for (const generation of ["v6.8", "v6.18"] as const) {
      const { mm, run } = setup({ generation });
      expect(run(() => sysMmap(mm, hint, 2 * MiB, RW, MAP_PRIVATE | MAP_ANONYMOUS))).toBe(hint);
    }
    // v6.8: the hint must fit len + 2 MiB; a mapping 3 MiB above leaves only 3 MiB free.
    const { mm, run } = setup({ generation: "v6.8" });
    run(() => sysMmap(mm, hint + 3 * MiB, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
    expect(run(() => sysMmap(mm, hint, 2 * MiB, RW, MAP_PRIVATE | MAP_ANONYMOUS))).toBe(
      0x7ffff7c00000,
    );
    const { mm: m2, run: run2 } = setup({ generation: "v6.18" });
    run2(() => sysMmap(m2, hint + 3 * MiB, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
    expect(run2(() => sysMmap(m2, hint, 2 * MiB, RW, MAP_PRIVATE | MAP_ANONYMOUS))).toBe(hint);
  });

  it("aligns regular-file mappings under v6.x (offset-congruent), never under v4.19", () => {
    for (const [generation, want] of [
      ["v4.19", BASE - 5 * P - 5 * MiB],
      ["v6.18", 0x7ffff7a01000],
    ] as const) {
      const { mm, run } = setup({ generation });
      mm.installFile(7, { ...DATA, size: 8 * MiB });
      run(() => sysMmap(mm, 0, 5 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
      // 5 MiB at file offset 4 KiB: placed so that address ≡ offset (mod 2 MiB)
      expect(run(() => sysMmap(mm, 0, 5 * MiB, PROT_READ, MAP_PRIVATE, 7, P))).toBe(want);
    }
  });

  it("v6.x: MAP_STACK gives VM_NOHUGEPAGE, MAP_DENYWRITE nothing; the maple tree by default", () => {
    const { mm, run } = setup({ generation: "v6.18" });
    expect(mm.tree.constructor.name).toMatch(/Maple/);
    const a = run(() => sysMmap(mm, 0, 8 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK));
    expect(vmFlagsHas(flagsAt(mm, a), VM_NOHUGEPAGE)).toBe(true);
    // Not merged with the plain anonymous mapping placed right below it.
    run(() => sysMmap(mm, 0, 8 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    expect(mm.mapCount).toBe(2);
    const { mm: old, run: runOld } = setup();
    expect(old.tree.constructor.name).toMatch(/Rb/);
    runOld(() => sysMmap(old, 0, 8 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK));
    runOld(() => sysMmap(old, 0, 8 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS));
    expect(old.mapCount).toBe(1);
  });

  it("mmap_min_addr: configurable, the hint floor, and 6.x's top-down floor", () => {
    const { mm, run } = setup({ mmapMinAddr: 4096 });
    expect(mm.mmapMinAddr).toBe(4096);
    expect(run(() => sysMmap(mm, 0x2000, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED))).toBe(
      0x2000,
    );
    const { mm: deb, run: runDeb } = setup();
    expect(deb.mmapMinAddr).toBe(65536);
    expect(runDeb(() => sysMmap(deb, 0x2000, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED))).toBe(
      -EPERM,
    );
    // A hint below the floor moves up to it (round_hint_to_min).
    expect(runDeb(() => sysMmap(deb, 0x2000, P, RW, MAP_PRIVATE | MAP_ANONYMOUS))).toBe(0x10000);
    expect(() => setup({ generation: "v5.0" as "v6.8" })).toThrow(/generation/);
  });

  it("v6.x drops VM_ACCOUNT of a never-faulted anonymous VMA made read-only (merges follow)", () => {
    for (const [generation, vmas] of [
      ["v4.19", 2],
      ["v6.18", 1],
    ] as const) {
      const { mm, run } = setup({ generation });
      // [ PROT_NONE reservation ][ rw -> mprotect(PROT_NONE) ]
      run(() => sysMmap(mm, A, 4 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
      run(() => sysMmap(mm, A + 4 * P, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED));
      expect(run(() => sysMprotect(mm, A + 4 * P, 4 * P, PROT_NONE))).toBe(0);
      expect([generation, mm.mapCount]).toEqual([generation, vmas]);
      expect(mm.committedVm).toBe(generation === "v4.19" ? 4 : 0);
      validateMm(mm, { ownsPhys: true });
    }
  });

  it("v4.19 finds the gap under mmap_min_addr and fails -EPERM; 6.x searches above it", () => {
    // 0x1000      0x10000                                      mmap_base
    // |-- gap --|============ PROT_NONE reservation ============|---- free ---->
    for (const [generation, want] of [
      ["v4.19", -EPERM],
      ["v6.18", BASE], // top-down finds nothing above the floor: bottom-up from TASK_SIZE/3
    ] as const) {
      const { mm, run } = setup({ generation });
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      expect(run(() => sysMmap(mm, 0x10000, BASE - 0x10000, PROT_NONE, flags))).toBe(0x10000);
      expect([
        generation,
        run(() => sysMmap(mm, 0, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS)),
      ]).toEqual([generation, want]);
    }
    expect(-ENOMEM).toBeLessThan(0);
  });
});

describe("populate of mappings that are not private writable (populate_vma_page_range)", () => {
  it("read-only private anonymous memory is populated with the zero page, shared with shmem pages", () => {
    const { mm, run } = setup();
    run(() =>
      sysMmap(mm, A, 16 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE),
    );
    expect(mm.pt.rss.anon).toBe(0);
    expect(mm.pt.followPage(A + 5 * P)).toBe(mm.phys.zeroPfn);
    run(() =>
      sysMmap(mm, A + 32 * P, 16 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE),
    );
    expect(mm.pt.rss.shmem).toBe(16);
    expect(mm.pt.rss.anon).toBe(0);
  });

  it("mlock of a file mapping running past EOF fails with -ENOMEM (the POSIX errno for -EFAULT)", () => {
    const { mm, run } = setup({ capIpcLock: true });
    // DATA is 16 pages long; map 32 of it: the pages past EOF cannot be faulted in.
    run(() => sysMmap(mm, A, 32 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 3, 0));
    expect(run(() => sysMlock(mm, A, 32 * P))).toBe(-ENOMEM);
    expect(mlockPosixErrorReturn(-ENOMEM)).toBe(-EAGAIN);
    expect(mlockPosixErrorReturn(-EPERM)).toBe(-EPERM);
  });

  it("MADV_MERGEABLE leaves a read-only shared file mapping (VM_MAYSHARE) alone: no split", () => {
    const { mm, run } = setup();
    // fd 4 is O_RDONLY: MAP_SHARED gives r--s, VM_MAYSHARE without VM_SHARED.
    run(() => sysMmap(mm, A, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, 4, 0));
    expect(run(() => sysMadvise(mm, A, 2 * P, MADV_MERGEABLE))).toBe(0);
    expect(mm.mapCount).toBe(1);
  });
});
