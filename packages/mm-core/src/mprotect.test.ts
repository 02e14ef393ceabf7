import {
  VM_ACCOUNT,
  VM_MAYEXEC,
  VM_READ,
  VM_WRITE,
  vmFlagsClear,
  vmFlagsHas,
} from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { EACCES, EINVAL, ENOMEM } from "./errno.js";
import { doPageFault, FAULT_SIGSEGV_ACCERR } from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { allocMm, layout, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const P = PAGE_SIZE;
const A0 = 0x600000000;
const prots = (mm: ReturnType<typeof allocMm>["mm"]) =>
  mm.vmas().map((v) => (v.vmFlags & VM_READ ? "r" : "-") + (v.vmFlags & VM_WRITE ? "w" : "-"));

describe.each(["rb", "maple"] as const)("mprotect, %s tree", (tree) => {
  it("splits the edges of a range and rewrites its present PTEs", () => {
    const { sim, mm } = allocMm({ tree });
    // 01234567
    // AAAAAAAA   rw, populated
    //   ***      PROT_READ
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0 + 2 * P, 3 * P, PROT_READ))).toBe(0);
    expect(layout(mm)).toEqual([
      "600000000-600002000",
      "600002000-600005000",
      "600005000-600008000",
    ]);
    expect(prots(mm)).toEqual(["rw", "r-", "rw"]);
    expect(mm.vmas()[1]?.vmPgoff).toBe(A0 / P + 2);
    expect(mm.pt.pteValue(A0 + 2 * P) & 2n).toBe(0n);
    expect(runChecked(sim, mm, () => doPageFault(mm, A0 + 3 * P, { write: true }))).toBe(
      FAULT_SIGSEGV_ACCERR,
    );
    expect(mm.dataVm).toBe(5); // the read-only part no longer counts as data
  });

  it("merges back when the protection is restored, and writes go through do_wp_page", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
    runChecked(sim, mm, () => sysMprotect(mm, A0 + 2 * P, 3 * P, PROT_READ));
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, 8 * P, RW))).toBe(0);
    expect(layout(mm)).toEqual(["600000000-600008000"]);
    // Private mappings map read-only after mprotect; the next write fault makes the PTE writable.
    expect(mm.pt.pteValue(A0 + 3 * P) & 2n).toBe(0n);
    const pfn = mm.pt.followPage(A0 + 3 * P);
    expect(runChecked(sim, mm, () => doPageFault(mm, A0 + 3 * P, { write: true }))).toBe(0);
    expect(mm.pt.followPage(A0 + 3 * P)).toBe(pfn); // reused, not copied
    expect(mm.pt.pteValue(A0 + 3 * P) & 2n).toBe(2n);
  });

  it("charges VM_ACCOUNT when a read-only private mapping first becomes writable", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, PROT_READ, ANON));
    expect(mm.committedVm).toBe(0);
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, 4 * P, RW))).toBe(0);
    expect(vmFlagsHas(mm.vmas()[0]?.vmFlags ?? 0, VM_ACCOUNT)).toBe(true);
    expect(mm.committedVm).toBe(4);
    // MAP_NORESERVE mappings are never charged.
    runChecked(sim, mm, () => sysMmap(mm, A0 + 8 * P, 4 * P, PROT_READ, ANON | MAP_NORESERVE));
    runChecked(sim, mm, () => sysMprotect(mm, A0 + 8 * P, 4 * P, RW));
    expect(mm.committedVm).toBe(4);
  });

  it("PROT_NONE keeps the pages but denies every access", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 2 * P, RW, ANON | MAP_POPULATE));
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, 2 * P, PROT_NONE))).toBe(0);
    expect(mm.pt.rss.anon).toBe(2);
    expect(mm.pt.pteValue(A0) & 0x101n).toBe(0x100n); // _PAGE_PROTNONE, not _PAGE_PRESENT
    expect(runChecked(sim, mm, () => doPageFault(mm, A0, {}))).toBe(FAULT_SIGSEGV_ACCERR);
  });

  it.each([
    ["an unaligned start", A0 + 1, P, PROT_READ, -EINVAL],
    ["unknown prot bits", A0, P, 0x40, -EINVAL],
    ["PROT_GROWSDOWN on a VMA that does not grow down", A0, P, PROT_READ | PROT_GROWSDOWN, -EINVAL],
    ["a range starting in a hole", A0 - P, 2 * P, PROT_READ, -ENOMEM],
    ["a range running into a hole", A0 + 2 * P, 4 * P, PROT_READ, -ENOMEM],
  ])("fails on %s", (_name, start, len, prot, errno) => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, RW, ANON));
    expect(runChecked(sim, mm, () => sysMprotect(mm, start, len, prot))).toBe(errno);
    if (errno === -EINVAL) expect(prots(mm)).toEqual(["rw"]);
  });

  it("len 0 succeeds without looking; PROT_EXEC on a shared mapping without VM_MAYEXEC is -EACCES", () => {
    const { sim, mm } = allocMm({ tree });
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, 0, PROT_READ))).toBe(0);
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED));
    const vma = mm.vmas()[0];
    if (vma === undefined) throw new Error("no VMA");
    vma.vmFlags = vmFlagsClear(vma.vmFlags, VM_MAYEXEC); // as a noexec mount would
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, 4 * P, PROT_READ | PROT_EXEC))).toBe(
      -EACCES,
    );
  });

  it("PROT_GROWSDOWN extends the change down to the start of a grows-down VMA", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_GROWSDOWN));
    expect(
      runChecked(sim, mm, () => sysMprotect(mm, A0 + 4 * P, 4 * P, PROT_READ | PROT_GROWSDOWN)),
    ).toBe(0);
    expect(prots(mm)).toEqual(["r-"]);
  });

  it("making private memory writable checks RLIMIT_DATA first (-ENOMEM, nothing changes)", () => {
    const { sim, mm } = allocMm({ tree, rlimits: { data: 64 * P } });
    runChecked(sim, mm, () => sysMmap(mm, A0, 128 * P, PROT_READ, ANON));
    expect(mm.dataVm).toBe(0);
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, 128 * P, RW))).toBe(-ENOMEM);
    expect(prots(mm)).toEqual(["r-"]);
    expect(mm.dataVm).toBe(0);
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, 64 * P, RW))).toBe(0);
    expect(mm.dataVm).toBe(64);
  });

  it("PROT_GROWSUP: -ENOMEM where nothing is mapped, -EINVAL on a mapping (x86 has no VM_GROWSUP)", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, RW, ANON));
    expect(
      runChecked(sim, mm, () => sysMprotect(mm, A0 - 16 * P, P, PROT_READ | PROT_GROWSUP)),
    ).toBe(-ENOMEM);
    expect(runChecked(sim, mm, () => sysMprotect(mm, A0, P, PROT_READ | PROT_GROWSUP))).toBe(
      -EINVAL,
    );
  });
});
