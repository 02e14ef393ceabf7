export { AsyncRwSemaphore, type AsyncRwsemOptions } from "./async-rwsem.js";
export { EINTR } from "./errno.js";
export { RwSemaphore } from "./rwsem.js";
export {
  MAX_READERS_WAKEUP,
  RWSEM_ACTIVE_BIAS,
  RWSEM_ACTIVE_WRITE_BIAS,
  RWSEM_FLAG_HANDOFF,
  RWSEM_FLAG_WAITERS,
  RWSEM_READER_BIAS,
  RWSEM_WAIT_TIMEOUT_NS,
  RWSEM_WAITING_BIAS,
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  RWSEM_WRITER_LOCKED,
  type RwsemConfig,
  RwsemCore,
  RwsemWaiter,
  type RwsemWakeTarget,
  rwsemConfig,
  WAITER_ABORTED,
  WAITER_GRANTED,
  WAITER_QUEUED,
} from "./rwsem-core.js";
export { distributionOf, SAMPLE_LIMIT, statsFromHistory } from "./rwsem-stats.js";
export type {
  AcquisitionRecord,
  Distribution,
  RwsemGeneration,
  RwsemOptions,
  RwsemStats,
} from "./types.js";
