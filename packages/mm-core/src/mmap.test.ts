import { VM_ACCOUNT, VM_LOCKED, VM_READ, VM_SHARED, VM_WRITE, vmFlagsHas } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { EEXIST, EINVAL, ENOMEM, EPERM } from "./errno.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMmap } from "./mmap.js";
import { allocMm, layout, MiB, runChecked } from "./test-utils.js";
import {
  MAP_32BIT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** mmap_base without ASLR and with an 8 MiB stack rlimit: 0x7ffff7fff000. */
const BASE = 0x7ffff7fff000;

describe.each(["rb", "maple"] as const)("mmap on the %s tree", (tree) => {
  it("places anonymous mappings top-down from mmap_base and merges neighbours", () => {
    const { sim, mm } = allocMm({ tree });
    expect(mm.mmapBase).toBe(BASE);
    const a = runChecked(sim, mm, () => sysMmap(mm, 0, 1 * MiB, RW, ANON));
    const b = runChecked(sim, mm, () => sysMmap(mm, 0, 2 * MiB, RW, ANON));
    // ... BBBBBBBB AAAA | mmap_base: B lands right below A and the two merge into one VMA.
    expect(a).toBe(BASE - 1 * MiB);
    expect(b).toBe(BASE - 3 * MiB);
    expect(layout(mm)).toEqual([`${(BASE - 3 * MiB).toString(16)}-${BASE.toString(16)}`]);
    const vma = mm.vmas()[0];
    expect(vma?.vmPgoff).toBe((BASE - 3 * MiB) / PAGE_SIZE);
    expect(vmFlagsHas(vma?.vmFlags ?? 0, VM_ACCOUNT)).toBe(true);
    expect(mm.totalVm).toBe((3 * MiB) / PAGE_SIZE);
    expect(mm.dataVm).toBe((3 * MiB) / PAGE_SIZE);
    expect(mm.committedVm).toBe((3 * MiB) / PAGE_SIZE);
  });

  it("keeps mappings with different protections apart", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, 0, 1 * MiB, RW, ANON));
    runChecked(sim, mm, () => sysMmap(mm, 0, 1 * MiB, PROT_READ, ANON));
    expect(mm.mapCount).toBe(2);
    expect(mm.vmas().map((v) => v.vmFlags & (VM_READ | VM_WRITE))).toEqual([
      VM_READ,
      VM_READ | VM_WRITE,
    ]);
  });

  it("honours a free hint and MAP_FIXED, which replaces what it overlaps", () => {
    const { sim, mm } = allocMm({ tree });
    const hint = 0x500000000;
    expect(runChecked(sim, mm, () => sysMmap(mm, hint, 4 * PAGE_SIZE, RW, ANON))).toBe(hint);
    // 0123456
    // AAAA       existing
    //   **       MAP_FIXED, read-only: splits A, takes its middle
    const r = runChecked(sim, mm, () =>
      sysMmap(mm, hint + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED),
    );
    expect(r).toBe(hint + 2 * PAGE_SIZE);
    expect(layout(mm)).toEqual([
      "500000000-500002000",
      "500002000-500003000",
      "500003000-500004000",
    ]);
  });

  it("fails MAP_FIXED_NOREPLACE over an existing mapping with -EEXIST and changes nothing", () => {
    const { sim, mm } = allocMm({ tree });
    const hint = 0x500000000;
    runChecked(sim, mm, () => sysMmap(mm, hint, 4 * PAGE_SIZE, RW, ANON));
    const r = runChecked(sim, mm, () =>
      sysMmap(mm, hint + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED_NOREPLACE),
    );
    expect(r).toBe(-EEXIST);
    expect(layout(mm)).toEqual(["500000000-500004000"]);
  });

  it.each([
    ["len 0", 0, 0, ANON, -EINVAL],
    ["no MAP_PRIVATE or MAP_SHARED", 0, PAGE_SIZE, MAP_ANONYMOUS, -EINVAL],
    ["MAP_FIXED below mmap_min_addr", 0x1000, PAGE_SIZE, ANON | MAP_FIXED, -EPERM],
    ["longer than the address space", 0, 2 ** 48, ANON, -ENOMEM],
  ])("rejects %s", (_name, addr, len, flags, errno) => {
    const { sim, mm } = allocMm({ tree });
    expect(runChecked(sim, mm, () => sysMmap(mm, addr, len, RW, flags))).toBe(errno);
    expect(mm.mapCount).toBe(0);
    expect(mm.totalVm).toBe(0);
  });

  it("fails with -ENOMEM once map_count exceeds max_map_count", () => {
    const { sim, mm } = allocMm({ tree, maxMapCount: 3 });
    // Alternate protections so that nothing merges.
    for (let i = 0; i < 4; i++) {
      const r = runChecked(sim, mm, () => sysMmap(mm, 0, PAGE_SIZE, i % 2 ? PROT_READ : RW, ANON));
      expect(r).toBeGreaterThan(0);
    }
    expect(mm.mapCount).toBe(4); // do_mmap checks map_count > max before linking: one over is allowed
    expect(runChecked(sim, mm, () => sysMmap(mm, 0, PAGE_SIZE, RW, ANON))).toBe(-ENOMEM);
  });

  it("MAP_POPULATE faults every page in; MAP_LOCKED accounts locked_vm", () => {
    const { sim, mm } = allocMm({ tree, capIpcLock: true });
    runChecked(sim, mm, () => sysMmap(mm, 0, 3 * MiB, RW, ANON | MAP_POPULATE));
    expect(mm.pt.rss.anon).toBe((3 * MiB) / PAGE_SIZE);
    runChecked(sim, mm, () => sysMmap(mm, 0, 1 * MiB, PROT_READ, ANON | MAP_LOCKED));
    expect(mm.lockedVm).toBe((1 * MiB) / PAGE_SIZE);
    expect(mm.vmas().some((v) => vmFlagsHas(v.vmFlags, VM_LOCKED))).toBe(true);
  });

  it("anonymous MAP_SHARED is a shmem file with pgoff 0 and no VM_ACCOUNT", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, 0, 1 * MiB, RW, MAP_SHARED | MAP_ANONYMOUS));
    const vma = mm.vmas()[0];
    expect(vma?.vmPgoff).toBe(0);
    expect(vma?.vmFile?.path).toBe("/dev/zero (deleted)");
    expect(vmFlagsHas(vma?.vmFlags ?? 0, VM_SHARED)).toBe(true);
    expect(vmFlagsHas(vma?.vmFlags ?? 0, VM_ACCOUNT)).toBe(false);
  });

  it("falls back to the bottom-up allocator from TASK_UNMAPPED_BASE when top-down finds no room", () => {
    // A huge stack rlimit pushes mmap_base down to TASK_SIZE / 6; a 40 TiB request does not fit
    // below it, so arch_get_unmapped_area() places it at mmap_legacy_base = TASK_SIZE / 3.
    const { sim, mm } = allocMm({ tree, rlimits: { stack: 120 * 2 ** 40 } });
    expect(mm.mmapBase).toBeLessThan(2 ** 47 / 5);
    const len = 40 * 2 ** 40;
    const r = runChecked(sim, mm, () => sysMmap(mm, 0, len, RW, ANON | MAP_NORESERVE));
    expect(r).toBe(mm.mmapLegacyBase);
    expect(mm.mmapLegacyBase).toBe(Math.ceil((2 ** 47 - PAGE_SIZE) / 3 / PAGE_SIZE) * PAGE_SIZE);
  });

  it("refuses a private writable mapping larger than RAM (overcommit guess) unless MAP_NORESERVE", () => {
    const { sim, mm } = allocMm({ tree }); // 256 MiB of RAM
    expect(runChecked(sim, mm, () => sysMmap(mm, 0, 1024 * MiB, RW, ANON))).toBe(-ENOMEM);
    expect(
      runChecked(sim, mm, () => sysMmap(mm, 0, 1024 * MiB, RW, ANON | MAP_NORESERVE)),
    ).toBeGreaterThan(0);
    expect(mm.committedVm).toBe(0);
  });

  it("MAP_32BIT places a mapping in [1 GiB, 2 GiB), and a bottom-up hint is rounded up", () => {
    const { sim, mm } = allocMm({ tree });
    const a = runChecked(sim, mm, () => sysMmap(mm, 0, 4 * PAGE_SIZE, RW, ANON | MAP_32BIT));
    expect(a).toBe(0x40000000);
    // An unaligned hint inside the window: PAGE_ALIGN() rounds it up, and it is free.
    const b = runChecked(sim, mm, () => sysMmap(mm, 0x50000001, PAGE_SIZE, RW, ANON | MAP_32BIT));
    expect(b).toBe(0x50001000);
  });
});
