import { PhysMem } from "@mmlab/page-table";
import { Sim } from "@mmlab/sched";
import { VM_LOCKED, VM_LOCKONFAULT, vmFlagsHas } from "@mmlab/vma-tree";
import { describe, expect, it } from "vitest";
import type { Op } from "./charge.js";
import { EINVAL, ENOMEM, EPERM } from "./errno.js";
import { sysMlockall, sysMunlockall } from "./mlockall.js";
import { sysMmap } from "./mmap.js";
import { Process } from "./process.js";
import { FREE, MiB } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMm } from "./validate.js";

const P = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function setup(capIpcLock = true, memlock = 64 * 1024) {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const proc = new Process(sim, {
    comm: "p",
    cost: FREE,
    capIpcLock,
    rlimits: { memlock },
    phys: new PhysMem({ bytes: 64 * MiB }),
  });
  const mm = proc.mm;
  const run = <T>(op: () => Op<T>): T => {
    const t = sim.spawn("t", op);
    sim.run();
    validateMm(mm, { ownsPhys: true });
    return t.result as T;
  };
  run(() => sysMmap(mm, 0, 16 * P, RW, ANON));
  return { sim, mm, run };
}

describe("mlockall / munlockall (mm/mlock.c v4.19)", () => {
  it("refuses bad flags with -EINVAL, reads flags as a C int, and throws for what no C caller can pass", () => {
    const { mm, run } = setup();
    for (const f of [0, 8, MCL_ONFAULT, -1])
      expect([f, run(() => sysMlockall(mm, f))]).toEqual([f, -EINVAL]);
    expect(mm.defFlags).toBe(0);
    expect(run(() => sysMlockall(mm, 2 ** 32 + MCL_FUTURE))).toBe(0); // the int is MCL_FUTURE
    expect(mm.defFlags).toBe(VM_LOCKED);
    expect(() => run(() => sysMlockall(mm, Number.NaN))).toThrow(RangeError);
  });

  it("MCL_CURRENT locks and populates every VMA; munlockall undoes it", () => {
    const { mm, run } = setup();
    expect(run(() => sysMlockall(mm, MCL_CURRENT))).toBe(0);
    expect(mm.vmas().every((v) => vmFlagsHas(v.vmFlags, VM_LOCKED))).toBe(true);
    expect(mm.lockedVm).toBe(mm.totalVm);
    expect(mm.rss).toBeGreaterThanOrEqual(16);
    expect(run(() => sysMunlockall(mm))).toBe(0);
    expect(mm.vmas().some((v) => vmFlagsHas(v.vmFlags, VM_LOCKED))).toBe(false);
    expect([mm.lockedVm, mm.defFlags]).toEqual([0, 0]);
  });

  it("MCL_FUTURE locks the mappings to come; MCL_ONFAULT marks them lock-on-fault and populates nothing", () => {
    const { mm, run } = setup();
    expect(run(() => sysMlockall(mm, MCL_FUTURE))).toBe(0);
    const before = mm.rss;
    const a = run(() => sysMmap(mm, 0, 8 * P, RW, ANON));
    expect(vmFlagsHas(mm.tree.findVma(a)?.vmFlags ?? 0, VM_LOCKED)).toBe(true);
    expect(mm.rss).toBe(before + 8); // MAP_LOCKED semantics: populated
    const { mm: mm2, run: run2 } = setup();
    const rss2 = mm2.rss;
    expect(run2(() => sysMlockall(mm2, MCL_CURRENT | MCL_ONFAULT))).toBe(0);
    expect(mm2.vmas().every((v) => vmFlagsHas(v.vmFlags, VM_LOCKED | VM_LOCKONFAULT))).toBe(true);
    expect(mm2.rss).toBe(rss2);
  });

  it("without CAP_IPC_LOCK: -ENOMEM over RLIMIT_MEMLOCK for MCL_CURRENT, -EPERM with a zero limit", () => {
    const { mm, run } = setup(false);
    expect(mm.totalVm * P).toBeGreaterThan(mm.rlimits.memlock);
    expect(run(() => sysMlockall(mm, MCL_CURRENT))).toBe(-ENOMEM);
    expect(mm.lockedVm).toBe(0);
    expect(run(() => sysMlockall(mm, MCL_FUTURE))).toBe(0); // no limit check for the future
    const zero = setup(false, 0);
    expect(zero.run(() => sysMlockall(zero.mm, MCL_FUTURE))).toBe(-EPERM);
  });
});
