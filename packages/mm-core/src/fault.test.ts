import { VM_GROWSDOWN, vmFlagsHas } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { EFAULT } from "./errno.js";
import {
  doPageFault,
  FAULT_SIGBUS,
  FAULT_SIGSEGV_ACCERR,
  FAULT_SIGSEGV_MAPERR,
  getUserPages,
} from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMmap } from "./mmap.js";
import { allocMm, layout, MiB, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const P = PAGE_SIZE;
const A0 = 0x600000000;

describe.each(["rb", "maple"] as const)("page faults, %s tree", (tree) => {
  it("a write fault maps a private anonymous page and counts it", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, RW, ANON));
    expect(runChecked(sim, mm, () => doPageFault(mm, A0 + P + 123, { write: true }))).toBe(0);
    expect(mm.pt.rss.anon).toBe(1);
    expect(mm.pt.followPage(A0 + P)).toBeGreaterThanOrEqual(0);
    expect(mm.vmas()[0]?.anonVma).not.toBeNull();
  });

  it("a read fault maps the shared zero page, which counts in no rss", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, RW, ANON));
    expect(runChecked(sim, mm, () => doPageFault(mm, A0, {}))).toBe(0);
    expect(mm.pt.followPage(A0)).toBe(mm.phys.zeroPfn);
    expect(mm.pt.rss.anon).toBe(0);
    // The write that follows replaces it with a private page (do_wp_page).
    expect(runChecked(sim, mm, () => doPageFault(mm, A0, { write: true }))).toBe(0);
    expect(mm.pt.followPage(A0)).not.toBe(mm.phys.zeroPfn);
    expect(mm.pt.rss.anon).toBe(1);
  });

  it("a fault where no VMA is gets SIGSEGV/SEGV_MAPERR and installs nothing", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, RW, ANON));
    expect(runChecked(sim, mm, () => doPageFault(mm, A0 + 8 * P, { write: true }))).toBe(
      FAULT_SIGSEGV_MAPERR,
    );
    expect(runChecked(sim, mm, () => doPageFault(mm, A0 - P, { write: true }))).toBe(
      FAULT_SIGSEGV_MAPERR,
    );
    expect(mm.pt.rss.anon).toBe(0);
    expect(mm.pt.nrPtes).toBe(0);
  });

  it("a write to a read-only or PROT_NONE mapping gets SIGSEGV/SEGV_ACCERR", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, PROT_READ, ANON));
    runChecked(sim, mm, () => sysMmap(mm, A0 + 8 * P, 4 * P, PROT_NONE, ANON));
    expect(runChecked(sim, mm, () => doPageFault(mm, A0, { write: true }))).toBe(
      FAULT_SIGSEGV_ACCERR,
    );
    expect(runChecked(sim, mm, () => doPageFault(mm, A0 + 8 * P, {}))).toBe(FAULT_SIGSEGV_ACCERR);
    expect(runChecked(sim, mm, () => doPageFault(mm, A0, { exec: true }))).toBe(
      FAULT_SIGSEGV_ACCERR,
    );
    expect(mm.pt.rss.anon).toBe(0);
  });

  it.each(["classic", "perVmaLock"] as const)(
    "an instruction fetch from a readable non-exec page maps it, then faults on its NX entry (x86 access_error, %s)",
    (munmap) => {
      const { sim, mm } = allocMm({ tree, munmap });
      runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, PROT_READ, ANON));
      runChecked(sim, mm, () => sysMmap(mm, A0 + 8 * P, 4 * P, PROT_READ | PROT_EXEC, ANON));
      runChecked(sim, mm, () => sysMmap(mm, A0 + 16 * P, 4 * P, PROT_NONE, ANON));
      runChecked(sim, mm, () => sysMmap(mm, A0 + 24 * P, 4 * P, RW, ANON));
      const fetch = (addr: number) =>
        runChecked(sim, mm, () => doPageFault(mm, addr, { exec: true }));
      // Not present: checked like a read, so the zero page is mapped; the restarted fetch
      // hits NX (X86_PF_PROT) and is an access error.
      expect(fetch(A0)).toBe(FAULT_SIGSEGV_ACCERR);
      expect(mm.pt.followPage(A0)).toBe(mm.phys.zeroPfn);
      expect(mm.pt.nrPtes).toBe(1);
      // Present now: a protection fault, nothing more is mapped.
      expect(fetch(A0)).toBe(FAULT_SIGSEGV_ACCERR);
      expect(mm.pt.nrPtes).toBe(1);
      // VM_EXEC: an ordinary read-type fault.
      expect(fetch(A0 + 8 * P)).toBe(0);
      expect(mm.pt.followPage(A0 + 8 * P)).toBe(mm.phys.zeroPfn);
      // PROT_NONE: none of VM_READ | VM_EXEC | VM_WRITE, refused before anything is mapped.
      expect(fetch(A0 + 16 * P)).toBe(FAULT_SIGSEGV_ACCERR);
      expect(mm.pt.followPage(A0 + 16 * P)).toBe(-1);
      // A written private page is NX too.
      expect(runChecked(sim, mm, () => doPageFault(mm, A0 + 24 * P, { write: true }))).toBe(0);
      expect(fetch(A0 + 24 * P)).toBe(FAULT_SIGSEGV_ACCERR);
      expect(mm.pt.rss.anon).toBe(1);
    },
  );

  it("a VM_GROWSDOWN VMA expands down to a fault below it, keeping stack_guard_gap", () => {
    const { sim, mm } = allocMm({ tree });
    // A guard page below: the data mapping sits 1 MiB + 16 pages under the stack.
    const stack = A0 + 4 * MiB;
    runChecked(sim, mm, () => sysMmap(mm, stack, 16 * P, RW, ANON | MAP_GROWSDOWN));
    runChecked(sim, mm, () => sysMmap(mm, stack - 1 * MiB - 16 * P, 8 * P, RW, ANON));
    expect(vmFlagsHas(mm.vmas()[1]?.vmFlags ?? 0, VM_GROWSDOWN)).toBe(true);
    // Grow by 8 pages: fine, the gap to the data mapping stays >= 1 MiB.
    expect(runChecked(sim, mm, () => doPageFault(mm, stack - 8 * P, { write: true }))).toBe(0);
    expect(mm.vmas()[1]?.vmStart).toBe(stack - 8 * P);
    expect(mm.stackVm).toBe(24);
    // Growing to 8 pages above the data mapping would leave less than the guard gap: SIGSEGV.
    expect(runChecked(sim, mm, () => doPageFault(mm, stack - 1 * MiB, { write: true }))).toBe(
      FAULT_SIGSEGV_MAPERR,
    );
    expect(mm.vmas()[1]?.vmStart).toBe(stack - 8 * P);
    expect(layout(mm)).toHaveLength(2);
  });

  it("4.19 refuses a stack access far below the stack pointer", () => {
    const { sim, mm } = allocMm({ tree });
    const stack = A0 + 4 * MiB;
    runChecked(sim, mm, () => sysMmap(mm, stack, 16 * P, RW, ANON | MAP_GROWSDOWN));
    const sp = stack + 8 * P;
    expect(runChecked(sim, mm, () => doPageFault(mm, sp - 65536 - 512, { write: true, sp }))).toBe(
      FAULT_SIGSEGV_MAPERR,
    );
    expect(runChecked(sim, mm, () => doPageFault(mm, sp - 65536, { write: true, sp }))).toBe(0);
  });

  it("anonymous shared memory faults in shmem pages", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED));
    expect(runChecked(sim, mm, () => doPageFault(mm, A0, { write: true }))).not.toBe(FAULT_SIGBUS);
  });

  it("get_user_pages returns -EFAULT where a fault would get SIGSEGV", () => {
    const { sim, mm } = allocMm({ tree });
    runChecked(sim, mm, () => sysMmap(mm, A0, 4 * P, PROT_READ, ANON));
    const gup = (addr: number, n: number, write: boolean) =>
      runChecked(sim, mm, function* () {
        yield* mm.mmapSem.downRead();
        const r = yield* getUserPages(mm, addr, n, write);
        mm.mmapSem.upRead();
        return r;
      });
    expect(gup(A0 + 8 * P, 1, false)).toBe(-EFAULT); // no VMA
    expect(gup(A0, 1, true)).toBe(-EFAULT); // read-only
    expect(gup(A0 + 2 * P, 4, false)).toBe(2); // runs off the end: the pages it got
    expect(gup(A0, 4, false)).toBe(4);
  });

  it.each([false, true])(
    "get_user_pages below a stack grows it (find_extend_vma), populating it when VM_LOCKED (locked %s)",
    (locked) => {
      const { sim, mm } = allocMm({ tree });
      const stack = A0 + 4 * MiB;
      const flags = ANON | MAP_GROWSDOWN | (locked ? MAP_LOCKED : 0);
      runChecked(sim, mm, () => sysMmap(mm, stack, 4 * P, RW, flags));
      const anonBefore = mm.pt.rss.anon;
      const got = runChecked(sim, mm, function* () {
        yield* mm.mmapSem.downRead();
        const r = yield* getUserPages(mm, stack - 6 * P, 1, true);
        mm.mmapSem.upRead();
        return r;
      });
      expect(got).toBe(1);
      expect(mm.vmas()[0]?.vmStart).toBe(stack - 6 * P);
      // MAP_LOCKED populated the 4 original pages; growing a locked stack faults in all 6
      // new pages, an unlocked one only the page GUP asked for.
      expect(mm.pt.rss.anon - anonBefore).toBe(locked ? 6 : 1);
      expect(mm.lockedVm).toBe(locked ? 10 : 0);
      for (let k = 1; k <= 6; k++) {
        expect(mm.pt.followPage(stack - k * P) >= 0).toBe(locked || k === 6);
      }
    },
  );
});
