import type { Instruction } from "@mmlab/sched";
import {
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_SEQ_READ,
} from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { EACCES, EAGAIN, EINVAL, ENOMEM } from "./errno.js";
import { doPageFault } from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import {
  MADV_COLD,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  sysMadvise,
} from "./madvise.js";
import { sysMlock } from "./mlock.js";
import { sysMmap } from "./mmap.js";
import { parseProcPidMaps } from "./task-mmu.js";
import { allocMm, FREE, layout, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const A = 0x500000000;
const ANON_FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

function setup(opts: Parameters<typeof allocMm>[0] = {}) {
  const { sim, mm } = allocMm(opts);
  const run = <R>(body: () => Generator<Instruction, R, unknown>): R => runChecked(sim, mm, body);
  return { sim, mm, run };
}

describe("madvise(MADV_DONTNEED / MADV_FREE)", () => {
  it("zaps the pages and keeps the VMA; the next touch faults a fresh page", () => {
    const { mm, run } = setup();
    // A:  0   1   2   3   4   5   6   7
    //     [== populated, 8 pages ======)
    //         [DONTNEED)                pages 1..3 go, the VMA stays whole
    run(() => sysMmap(mm, A, 8 * P, RW, ANON_FIXED | MAP_POPULATE));
    expect(mm.pt.rss.anon).toBe(8);
    const tablesBefore = mm.pt.tablePages;
    expect(run(() => sysMadvise(mm, A + P, 3 * P, MADV_DONTNEED))).toBe(0);
    expect(layout(mm)).toEqual(["500000000-500008000"]);
    expect(mm.pt.rss.anon).toBe(5);
    expect(mm.pt.followPage(A + P)).toBe(-1);
    expect(mm.pt.followPage(A)).toBeGreaterThanOrEqual(0);
    expect(mm.pt.tablePages).toBe(tablesBefore); // zap_page_range frees no page tables
    expect(run(() => doPageFault(mm, A + P))).toBe(0); // read: the zero page
    expect(mm.pt.followPage(A + P)).toBe(mm.phys.zeroPfn);
    // MADV_FREE is the same for private anonymous memory here (no lazy freeing).
    expect(run(() => sysMadvise(mm, A + 4 * P, 1, MADV_FREE))).toBe(0);
    expect(mm.pt.rss.anon).toBe(4);
  });

  it("runs under the mmap_sem read lock", () => {
    const { mm, run } = setup({ cost: { ...FREE, lockOp: 1 } });
    run(() => sysMmap(mm, A, 2 * P, RW, ANON_FIXED | MAP_POPULATE));
    run(() => sysMadvise(mm, A, 2 * P, MADV_DONTNEED));
    run(() => sysMadvise(mm, A, 2 * P, MADV_DONTFORK));
    const modes = mm.mmapSem.history.slice(-2).map((r) => r.mode);
    expect(modes).toEqual(["read", "write"]);
  });

  it("refuses VM_LOCKED and VM_PFNMAP with -EINVAL, stopping there", () => {
    const { mm, run } = setup({ rlimits: { memlock: 1 << 30 } });
    // A:  0   1   2   3
    //     [ rw )[mlocked)
    run(() => sysMmap(mm, A, 4 * P, RW, ANON_FIXED | MAP_POPULATE));
    expect(run(() => sysMlock(mm, A + 2 * P, 2 * P))).toBe(0);
    expect(run(() => sysMadvise(mm, A, 4 * P, MADV_DONTNEED))).toBe(-EINVAL);
    expect(mm.pt.rss.anon).toBe(2); // the first VMA was zapped before the locked one refused
    expect(run(() => sysMadvise(mm, A, 4 * P, MADV_DONTNEED_LOCKED))).toBe(-EINVAL); // 5.18+
    const { mm: m5, run: run5 } = setup({ generation: "v6.18", rlimits: { memlock: 1 << 30 } });
    run5(() => sysMmap(m5, A, 2 * P, RW, ANON_FIXED | MAP_POPULATE));
    expect(run5(() => sysMlock(m5, A, 2 * P))).toBe(0);
    expect(run5(() => sysMadvise(m5, A, 2 * P, MADV_DONTNEED_LOCKED))).toBe(0);
    expect(m5.pt.rss.anon).toBe(0);
    const { mm: m2, run: run2 } = setup({ generation: "v6.18" });
    m2.loadLayout(
      parseProcPidMaps(
        "7ffff7fc2000-7ffff7fc6000 r--p 00000000 00:00 0                          [vvar]\n",
      ),
    );
    expect(run2(() => sysMadvise(m2, 0x7ffff7fc2000, P, MADV_DONTNEED))).toBe(-EINVAL);
    expect(run2(() => sysMadvise(m2, 0x7ffff7fc2000, P, MADV_DODUMP))).toBe(-EINVAL);
  });

  it("returns -ENOMEM for a hole after advising the rest", () => {
    const { mm, run } = setup();
    // A:  0   1   2   3   4   5
    //     [ rw  )       [ rw  )       DONTNEED over [0, 6): both zapped, hole -> -ENOMEM
    run(() => sysMmap(mm, A, 2 * P, RW, ANON_FIXED | MAP_POPULATE));
    run(() => sysMmap(mm, A + 4 * P, 2 * P, RW, ANON_FIXED | MAP_POPULATE));
    expect(run(() => sysMadvise(mm, A, 6 * P, MADV_DONTNEED))).toBe(-ENOMEM);
    expect(mm.pt.rss.anon).toBe(0);
    // A range that starts in a hole or runs past the last VMA: -ENOMEM too.
    expect(run(() => sysMadvise(mm, A - 2 * P, P, MADV_DONTNEED))).toBe(-ENOMEM);
    expect(run(() => sysMadvise(mm, A + 5 * P, 4 * P, MADV_WILLNEED))).toBe(-ENOMEM);
  });

  it("validates its arguments before taking the lock", () => {
    const { mm, run } = setup();
    run(() => sysMmap(mm, A, 2 * P, RW, ANON_FIXED));
    expect(run(() => sysMadvise(mm, A, P, 12345))).toBe(-EINVAL);
    expect(run(() => sysMadvise(mm, A, P, 5))).toBe(-EINVAL); // an unused number
    expect(run(() => sysMadvise(mm, A + 1, P, MADV_DONTNEED))).toBe(-EINVAL);
    expect(run(() => sysMadvise(mm, A, 0, MADV_DONTNEED))).toBe(0);
    expect(run(() => sysMadvise(mm, A, P, MADV_COLD))).toBe(-EINVAL); // 5.4+, not in 4.19
    const { mm: m6, run: run6 } = setup({ generation: "v6.18" });
    run6(() => sysMmap(m6, A, 2 * P, RW, ANON_FIXED));
    expect(run6(() => sysMadvise(m6, A, P, MADV_COLD))).toBe(0);
    expect(mm.mmapSem.history.length).toBe(1); // only the mmap took mmap_sem
  });

  it("MADV_FREE of a file mapping is -EINVAL; MADV_REMOVE needs a shared writable one", () => {
    const { mm, run } = setup();
    mm.installFile(3, { path: "/f", ino: 1, size: 8 * P, readable: true, writable: true });
    const priv = run(() => sysMmap(mm, 0, 2 * P, RW, MAP_PRIVATE, 3, 0));
    expect(run(() => sysMadvise(mm, priv, P, MADV_FREE))).toBe(-EINVAL);
    expect(run(() => sysMadvise(mm, priv, P, MADV_DONTNEED))).toBe(0);
    expect(run(() => sysMadvise(mm, priv, P, MADV_REMOVE))).toBe(-EACCES);
    const shared = run(() => sysMmap(mm, 0, 2 * P, RW, MAP_SHARED | MAP_POPULATE, 3, 0));
    expect(mm.pt.rss.file).toBe(2);
    expect(run(() => sysMadvise(mm, shared, 2 * P, MADV_REMOVE))).toBe(0);
    expect(mm.pt.rss.file).toBe(0);
    run(() => sysMmap(mm, A, P, RW, ANON_FIXED));
    expect(run(() => sysMadvise(mm, A, P, MADV_REMOVE))).toBe(-EINVAL);
  });
});

describe("madvise VMA advice", () => {
  it("splits at the range edges and merges back when the flags return", () => {
    const { mm, run } = setup();
    // A:  0   1   2   3   4   5   6   7
    //     [========= rw, one VMA ======)
    //         [DONTFORK)                 -> three VMAs
    //         [ DOFORK )                 -> one again (vma_merge case 6)
    run(() => sysMmap(mm, A, 8 * P, RW, ANON_FIXED));
    expect(run(() => sysMadvise(mm, A + P, 2 * P, MADV_DONTFORK))).toBe(0);
    expect(layout(mm)).toEqual([
      "500000000-500001000",
      "500001000-500003000",
      "500003000-500008000",
    ]);
    expect((mm.vmas()[1]?.vmFlags ?? 0) & VM_DONTCOPY).toBe(VM_DONTCOPY);
    expect(run(() => sysMadvise(mm, A + P, 2 * P, MADV_DOFORK))).toBe(0);
    expect(layout(mm)).toEqual(["500000000-500008000"]);
    // Advice that changes nothing splits nothing.
    expect(run(() => sysMadvise(mm, A + P, P, MADV_NORMAL))).toBe(0);
    expect(mm.mapCount).toBe(1);
  });

  it("sets the read-ahead, THP and fork bits the kernel sets", () => {
    const { mm, run } = setup();
    run(() => sysMmap(mm, A, 8 * P, RW, ANON_FIXED));
    const flags = (i: number) => mm.vmas()[i]?.vmFlags ?? 0;
    run(() => sysMadvise(mm, A, P, MADV_SEQUENTIAL));
    expect(flags(0) & (VM_SEQ_READ | VM_RAND_READ)).toBe(VM_SEQ_READ);
    run(() => sysMadvise(mm, A, P, MADV_RANDOM));
    expect(flags(0) & (VM_SEQ_READ | VM_RAND_READ)).toBe(VM_RAND_READ);
    run(() => sysMadvise(mm, A + P, P, MADV_HUGEPAGE));
    expect(flags(1) & (VM_HUGEPAGE | VM_NOHUGEPAGE)).toBe(VM_HUGEPAGE);
    run(() => sysMadvise(mm, A + P, P, MADV_NOHUGEPAGE));
    expect(flags(1) & (VM_HUGEPAGE | VM_NOHUGEPAGE)).toBe(VM_NOHUGEPAGE);
    expect(layout(mm)).toEqual([
      "500000000-500001000",
      "500001000-500002000",
      "500002000-500008000",
    ]);
    // WIPEONFORK is for private anonymous memory only.
    mm.installFile(3, { path: "/f", ino: 1, size: P, readable: true, writable: false });
    const f = run(() => sysMmap(mm, 0, P, PROT_READ, MAP_PRIVATE, 3, 0));
    expect(run(() => sysMadvise(mm, f, P, MADV_WIPEONFORK))).toBe(-EINVAL);
    expect(run(() => sysMadvise(mm, A + 7 * P, P, MADV_WIPEONFORK))).toBe(0);
  });

  it("turns a split beyond max_map_count into -EAGAIN", () => {
    const { mm, run } = setup({ maxMapCount: 1 });
    run(() => sysMmap(mm, A, 4 * P, RW, ANON_FIXED));
    expect(run(() => sysMadvise(mm, A + P, P, MADV_HUGEPAGE))).toBe(-EAGAIN);
    expect(mm.mapCount).toBe(1);
  });

  it("matches 6.18's recorded split for MADV_HUGEPAGE, DONTFORK, WILLNEED and NOHUGEPAGE", () => {
    const { mm, run } = setup({ generation: "v6.18" });
    // From probe2.strace: a 2 MiB mapping at 0x7ffff7000000, then
    //   madvise(0x7ffff7000000, 8192, MADV_HUGEPAGE); madvise(0x7ffff7004000, 4096, MADV_DONTFORK)
    //   madvise(0x7ffff7000000, 4096, MADV_WILLNEED)
    const M2 = 2 * 1024 * 1024;
    const base = 0x7ffff7000000;
    run(() => sysMmap(mm, base, M2, RW, ANON_FIXED));
    expect(run(() => sysMadvise(mm, base, 2 * P, MADV_HUGEPAGE))).toBe(0);
    expect(run(() => sysMadvise(mm, base + 4 * P, P, MADV_DONTFORK))).toBe(0);
    expect(run(() => sysMadvise(mm, base, P, MADV_WILLNEED))).toBe(0);
    expect(layout(mm)).toEqual([
      "7ffff7000000-7ffff7002000",
      "7ffff7002000-7ffff7004000",
      "7ffff7004000-7ffff7005000",
      "7ffff7005000-7ffff7200000",
    ]);
  });
});
