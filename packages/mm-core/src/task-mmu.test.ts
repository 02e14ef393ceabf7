import { readFileSync } from "node:fs";
import { Sim } from "@mmlab/sched";
import { VM_GROWSDOWN, VM_MAYSHARE, VM_MAYWRITE, VM_PFNMAP, VM_SHARED } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import { doPageFault, FAULT_SIGSEGV_MAPERR } from "./fault.js";
import { makedev } from "./file.js";
import { sysMmap } from "./mmap.js";
import { Process } from "./process.js";
import { mapsEntries, parseProcPidMaps, procPidMaps } from "./task-mmu.js";
import { allocMm, runChecked } from "./test-utils.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./uapi.js";
import { validateMm } from "./validate.js";

/** `setarch -R cat /proc/self/maps` on the 6.18 development machine. */
const CAT_MAPS = readFileSync(new URL("../fixtures/cat-6.18-maps.txt", import.meta.url), "utf8");

describe("/proc/PID/maps", () => {
  it("parses the kernel's text and prints it back byte for byte from a loaded layout", () => {
    const entries = parseProcPidMaps(CAT_MAPS);
    expect(entries).toHaveLength(CAT_MAPS.trim().split("\n").length);
    expect(entries[0]).toEqual({
      start: 0x555555554000,
      end: 0x555555556000,
      perms: "r--p",
      offset: 0,
      dev: makedev(0xfe, 0),
      inode: 260131,
      path: "/usr/bin/cat",
    });
    const { mm } = allocMm({ generation: "v6.8", mmapMinAddr: 4096 });
    mm.loadLayout(entries);
    validateMm(mm, { ownsPhys: true });
    expect(procPidMaps(mm)).toBe(CAT_MAPS);
    expect(mm.rss).toBe(0); // nothing populated
    expect(mm.gateVma?.path).toBe("[vsyscall]");
    expect(mm.mapCount).toBe(entries.length - 1); // the gate VMA is not in the tree
  });

  it("reconstructs the flags exec gave: stack, heap, special mappings, read-only shared", () => {
    const { mm } = allocMm({ generation: "v6.8" });
    mm.loadLayout(parseProcPidMaps(CAT_MAPS));
    const at = (addr: number) => {
      const v = mm.tree.findVma(addr);
      if (v === null) throw new Error("no vma");
      return v;
    };
    expect(at(0x7ffffffde000).vmFlags & VM_GROWSDOWN).toBe(VM_GROWSDOWN);
    expect(mm.startBrk).toBe(0x555555560000);
    expect(mm.brk).toBe(0x555555581000);
    expect(at(0x7ffff7fc2000).vmFlags & VM_PFNMAP).toBe(VM_PFNMAP);
    expect(at(0x7ffff7fc8000).vmOps?.name).toBe("[vdso]");
    const cache = at(0x7ffff7fb8000); // r--s gconv-modules.cache, from an O_RDONLY fd
    expect(cache.vmFlags & (VM_MAYSHARE | VM_SHARED | VM_MAYWRITE)).toBe(VM_MAYSHARE);
    // The binary's five mappings share one struct file; libc's are another.
    expect(at(0x555555554000).vmFile).toBe(at(0x55555555f000).vmFile);
    expect(at(0x7ffff7dd5000).vmFile).not.toBe(at(0x555555554000).vmFile);
    expect(mm.stackVm).toBe(0x21);
    // r-x: cat's text, libc's text, the vdso, ld.so's text
    expect(mm.execVm).toBe((0x5000 + 0x156000 + 0x2000 + 0x26000) / 4096);
  });

  it("pads names to column 73 and leaves a trailing space on anonymous lines", () => {
    const { sim, mm } = allocMm();
    //      0x7ffff7ffe000     0x7ffff7fff000 = mmap_base
    //      |== anon rw-p ====|
    const addr = runChecked(sim, mm, () =>
      sysMmap(mm, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS),
    );
    expect(procPidMaps(mm)).toBe(`${addr.toString(16)}-7ffff7fff000 rw-p 00000000 00:00 0 \n`);
    mm.startBrk = addr;
    mm.brk = addr;
    const line = procPidMaps(mm);
    expect(line).toBe(`7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0${" ".repeat(25)} [heap]\n`);
    expect(line.indexOf("[heap]")).toBe(73);
    expect(mapsEntries(mm)[0]?.path).toBe("[heap]");
  });

  it("names the line of a malformed snapshot and loads nothing from a bad layout", () => {
    expect(() =>
      parseProcPidMaps("555555554000-555555556000 r--p 00000000 fe:00 1 /x\nbogus\n"),
    ).toThrow(/maps line 2/);
    const { mm } = allocMm();
    const entries = parseProcPidMaps(CAT_MAPS);
    const swapped = [entries[1], entries[0], ...entries.slice(2)].filter((e) => e !== undefined);
    expect(() => mm.loadLayout(swapped)).toThrow(/entry 1: overlaps/);
    expect(mm.mapCount).toBe(0);
    validateMm(mm, { ownsPhys: true });
  });
});

describe("starting layouts", () => {
  it("Process takes a layout instead of the synthetic exec stack", () => {
    const sim = new Sim({ hungTaskTimeoutNs: 0 });
    const proc = new Process(sim, {
      comm: "cat",
      generation: "v6.18",
      mmapMinAddr: 4096,
      layout: parseProcPidMaps(CAT_MAPS),
      layoutOptions: { startStack: 0x7fffffffe000 },
    });
    validateMm(proc.mm);
    expect(proc.mm.startStack).toBe(0x7fffffffe000);
    expect(procPidMaps(proc.mm)).toBe(CAT_MAPS);
    expect(proc.mm.cmdline).toBe(""); // no argument area without a synthetic stack
  });

  it("loads under v4.19 too, where a bss right below start_brk is still [heap]", () => {
    const { mm } = allocMm();
    // 4.19's show_map_vma(): vm_start <= brk && vm_end >= start_brk
    mm.loadLayout(
      parseProcPidMaps(
        [
          "555555554000-555555555000 r--p 00000000 fe:00 7                          /bin/x",
          "555555555000-555555556000 rw-p 00000000 00:00 0 ",
          "",
        ].join("\n"),
      ),
    );
    expect(mm.startBrk).toBe(0x555555556000); // the end of the executable and its bss
    expect(mapsEntries(mm)[1]?.path).toBe("[heap]");
    const { mm: m6 } = allocMm({ generation: "v6.18" });
    m6.loadLayout(parseProcPidMaps(procPidMaps(mm).replace("[heap]", "")));
    expect(mapsEntries(m6)[1]?.path).toBe("");
    validateMm(m6, { ownsPhys: true });
  });

  it("grows the loaded stack on a fault below it; v4.19 alone refuses far below %sp", () => {
    for (const [generation, want] of [
      ["v4.19", FAULT_SIGSEGV_MAPERR],
      ["v6.18", 0],
    ] as const) {
      const { sim, mm } = allocMm({ generation });
      mm.loadLayout(parseProcPidMaps(CAT_MAPS));
      const below = 0x7ffffffde000 - 16 * 4096;
      const r = runChecked(sim, mm, () =>
        doPageFault(mm, below, { write: true, sp: 0x7fffffffe000 }),
      );
      expect([generation, r]).toEqual([generation, want]);
    }
  });
});
