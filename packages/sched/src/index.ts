export { current } from "./current.js";
export {
  EACCES,
  EAGAIN,
  EBUSY,
  EEXIST,
  EFAULT,
  EINTR,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOSPC,
  EOVERFLOW,
  EPERM,
  ESRCH,
  errnoName,
} from "./errno.js";
export { NORMAL, URGENT } from "./event-heap.js";
export type { HungTaskReport } from "./hung-task.js";
export { block, cpu, Instruction, sleep, type WaitMode } from "./instruction.js";
export { createPrng, type Prng } from "./prng.js";
export { Rcu, type RcuOptions } from "./rcu.js";
export { EmptySchedule, Sim, type SimOptions, type SpawnOptions } from "./sim.js";
export { Task, type TaskBody, type TaskState } from "./task.js";
export { type TraceEvent, TraceRecorder, traced } from "./trace.js";
export { WaitQueue } from "./wait-queue.js";
