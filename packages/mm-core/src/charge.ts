import { cpu, type Instruction } from "@mmlab/sched";

/** A sim generator that returns T: every mm operation is one. */
export type Op<T> = Generator<Instruction, T, unknown>;

/** Spend `ns` of virtual CPU time (nothing when the model says an operation is free). */
export function* charge(ns: number): Op<void> {
  if (ns > 0) yield cpu(ns);
}
