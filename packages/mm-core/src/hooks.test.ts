import { sleep } from "@mmlab/sched";
import { VM_MAYREAD, VM_PFNMAP, VM_READ, Vma, vmFlagsOf } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { EINTR, ENOMEM } from "./errno.js";
import { uprobeRegister } from "./hooks.js";
import { PAGE_SIZE } from "./layout.js";
import { sysMmap } from "./mmap.js";
import { sysMremap } from "./mremap.js";
import { sysMunmap } from "./sys-munmap.js";
import { allocMm, runChecked } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMm } from "./validate.js";

const P = PAGE_SIZE;
const A0 = 0x600000000;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** Helper function to link a read-only file mapping (file mmap is not modelled yet). */
function allocFileVma(mm: ReturnType<typeof allocMm>["mm"], file: { path: string; ino: number }) {
  const vma = new Vma({
    vmStart: A0,
    vmEnd: A0 + 4 * P,
    vmFlags: vmFlagsOf(VM_READ, VM_MAYREAD),
    vmPgoff: 0,
    vmFile: file,
  });
  mm.tree.insert(vma);
  mm.totalVm += 4;
  return vma;
}

describe("uprobes and userfaultfd hooks of munmap", () => {
  it("zapRlock falls back to the classic path for a file mapping with a uprobe in the range", () => {
    const { sim, mm } = allocMm({ munmap: "zapRlock" });
    const file = { path: "/usr/bin/bench", ino: 42 };
    allocFileVma(mm, file);
    uprobeRegister(mm, file, 2 * P + 16);
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0, 4 * P))).toBe(0);
    const last = mm.mmapSem.history.at(-1);
    expect(last?.mode).toBe("write");
    expect(Number.isNaN(last?.downgradedAt)).toBe(true);
  });

  it("a uprobe outside the unmapped part does not prevent the downgrade", () => {
    const { sim, mm } = allocMm({ munmap: "zapRlock" });
    const file = { path: "/usr/bin/bench", ino: 42 };
    allocFileVma(mm, file);
    uprobeRegister(mm, file, 3 * P);
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0, 2 * P))).toBe(0);
    expect(Number.isNaN(mm.mmapSem.history.at(-1)?.downgradedAt)).toBe(false);
  });

  it.each(["classic", "zapRlock"] as const)(
    "%s: userfaultfd prep sees each VMA with a context; a failing prep changes nothing but the splits",
    (strategy) => {
      const { sim, mm } = allocMm({ munmap: strategy });
      runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
      const ctx = {};
      const vma = mm.vmas()[0];
      if (vma === undefined) throw new Error("no vma");
      vma.vmUserfaultfdCtx = ctx;
      const events: string[] = [];
      let fail = true;
      mm.userfaultfd = {
        unmapPrep: (v, s, e) => {
          events.push(`prep ${(s - A0) / P}-${(e - A0) / P} ctx=${v.vmUserfaultfdCtx === ctx}`);
          return fail ? -ENOMEM : 0;
        },
        unmapComplete: (s, e) => events.push(`complete ${(s - A0) / P}-${(e - A0) / P}`),
      };
      expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 2 * P, 2 * P))).toBe(-ENOMEM);
      expect(mm.pt.rss.anon).toBe(8); // nothing zapped
      fail = false;
      expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 2 * P, 2 * P))).toBe(0);
      expect(events).toEqual(["prep 2-4 ctx=true", "prep 2-4 ctx=true", "complete 2-4"]);
      expect(mm.pt.rss.anon).toBe(6);
    },
  );

  it("zapRlock prepares userfaultfd once when a special mapping sends it down the classic path", () => {
    const { sim, mm } = allocMm({ munmap: "zapRlock" });
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
    const vma = mm.vmas()[0];
    if (vma === undefined) throw new Error("no vma");
    vma.vmFlags = (vma.vmFlags | VM_PFNMAP) >>> 0; // what remap_pfn_range() marks
    vma.vmUserfaultfdCtx = {};
    const events: string[] = [];
    mm.userfaultfd = {
      unmapPrep: (_v, s, e) => {
        events.push(`prep ${(s - A0) / P}-${(e - A0) / P}`);
        return 0;
      },
      unmapComplete: (s, e) => events.push(`complete ${(s - A0) / P}-${(e - A0) / P}`),
    };
    expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 2 * P, 2 * P))).toBe(0);
    expect(events).toEqual(["prep 2-4", "complete 2-4"]);
    expect(Number.isNaN(mm.mmapSem.history.at(-1)?.downgradedAt)).toBe(true); // the fallback
  });

  for (const strategy of ["classic", "zapRlock", "v4.20", "v5.8", "perVmaLock"]) {
    it(`${strategy}: userfaultfd's completion gets the page-aligned end the prep recorded`, () => {
      const { sim, mm } = allocMm({ munmap: strategy });
      runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
      const vma = mm.vmas()[0];
      if (vma === undefined) throw new Error("no vma");
      vma.vmUserfaultfdCtx = {};
      const events: string[] = [];
      mm.userfaultfd = {
        unmapPrep: (_v, s, e) => {
          events.push(`prep ${s - A0}-${e - A0}`);
          return 0;
        },
        unmapComplete: (s, e) => events.push(`complete ${s - A0}-${e - A0}`),
      };
      // len 2 pages - 100 bytes: do_munmap unmaps [start, start + PAGE_ALIGN(len)).
      expect(runChecked(sim, mm, () => sysMunmap(mm, A0 + 2 * P, 2 * P - 100))).toBe(0);
      expect(events).toEqual([`prep ${2 * P}-${4 * P}`, `complete ${2 * P}-${4 * P}`]);
    });
  }

  it("mremap's shrink completes with the range its do_munmap prepared, not [addr, addr + old_len)", () => {
    const { sim, mm } = allocMm();
    runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
    const vma = mm.vmas()[0];
    if (vma === undefined) throw new Error("no vma");
    vma.vmUserfaultfdCtx = {};
    const events: string[] = [];
    mm.userfaultfd = {
      unmapPrep: () => 0,
      unmapComplete: (s, e) => events.push(`complete ${(s - A0) / P}-${(e - A0) / P}`),
    };
    expect(runChecked(sim, mm, () => sysMremap(mm, A0, 8 * P, 3 * P, 0))).toBe(A0);
    expect(events).toEqual(["complete 3-8"]);
  });

  it.each(["classic", "zapRlock"] as const)(
    "%s: a munmap killed while waiting for mmap_sem returns -EINTR and changes nothing",
    (strategy) => {
      const { sim, mm } = allocMm({ munmap: strategy });
      runChecked(sim, mm, () => sysMmap(mm, A0, 8 * P, RW, ANON | MAP_POPULATE));
      sim.spawn("holder", function* () {
        yield* mm.mmapSem.downRead();
        yield sleep(1_000);
        mm.mmapSem.upRead();
      });
      const munmapper = sim.spawn("munmap", function* () {
        return yield* sysMunmap(mm, A0, 8 * P);
      });
      sim.spawn("killer", function* () {
        yield sleep(500);
        munmapper.kill();
      });
      sim.run();
      expect(munmapper.result).toBe(-EINTR);
      expect(munmapper.endTime).toBe(500);
      expect(mm.mapCount).toBe(1);
      expect(mm.pt.rss.anon).toBe(8);
      expect(mm.mmapSem.history.some((r) => r.comm === "munmap")).toBe(false);
      validateMm(mm, { ownsPhys: true });
    },
  );
});
