/**
 * Helpers for mm-core tests, in the manner of tools/testing/vma: one helper per setup step.
 * Not exported from the package.
 */
import { PhysMem } from "@mmlab/page-table";
import { type Instruction, Sim, type SimOptions, type Task } from "@mmlab/sched";
import type { CostModel } from "./cost-model.js";
import { type MmOptions, MmStruct } from "./mm-struct.js";
import { validateMm } from "./validate.js";

/** A cost model where everything is free except what a test sets. */
export const FREE: CostModel = Object.freeze({
  name: "free",
  source: "tests",
  syscall: 0,
  lockOp: 0,
  vmaLookup: 0,
  vmaSplit: 0,
  vmaSpecialCheck: 0,
  vmaDetach: 0,
  vmaFree: 0,
  vmaInsert: 0,
  munlockPage: 0,
  mlockPage: 0,
  pteZap: 0,
  pmdStep: 0,
  pageFree: 0,
  tlbFlush: 0,
  pgtableFree: 0,
  anonFault: 0,
  populatePage: 0,
  pteProtect: 0,
  cmdlineRead: 0,
});

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Helper function to create a sim and an mm with a small private frame allocator. */
export function allocMm(opts: MmOptions & { sim?: SimOptions; physBytes?: number } = {}): {
  sim: Sim;
  mm: MmStruct;
} {
  const sim = new Sim(opts.sim ?? { hungTaskTimeoutNs: 0 });
  const phys = opts.phys ?? new PhysMem({ bytes: opts.physBytes ?? 256 * MiB });
  const mm = new MmStruct(sim, { cost: FREE, ...opts, phys });
  return { sim, mm };
}

/** Helper function to run one operation as a task to completion and return its result. */
export function runOp<R>(
  sim: Sim,
  body: () => Generator<Instruction, R, unknown>,
  comm = "test",
): R {
  const task: Task<R> = sim.spawn(comm, body);
  sim.run();
  if (task.state !== "dead") throw new Error(`${comm} did not finish (state ${task.state})`);
  return task.result as R;
}

/** Helper function to run an operation and check every mm invariant afterwards. */
export function runChecked<R>(
  sim: Sim,
  mm: MmStruct,
  body: () => Generator<Instruction, R, unknown>,
): R {
  const r = runOp(sim, body);
  validateMm(mm, { ownsPhys: true });
  return r;
}

/** [vmStart, vmEnd) of every VMA, in hex, for compact expectations. */
export function layout(mm: MmStruct): string[] {
  return mm.vmas().map((v) => `${v.vmStart.toString(16)}-${v.vmEnd.toString(16)}`);
}
