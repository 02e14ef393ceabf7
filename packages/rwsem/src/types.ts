/** Which kernel's rwsem to reproduce (kernel-semantics.md section 5). */
export type RwsemGeneration = "v4.18" | "v5.3";

/** Options shared by both front ends. */
export interface RwsemOptions {
  /** lock name used in events and errors; default "rwsem" (mm-core uses "mmap_sem") */
  name?: string;
  /** default "v4.18" */
  generation?: RwsemGeneration;
  /**
   * A writer may take a free lock ahead of queued waiters (v4.18: the x86 down_write fast
   * path only tests the active part; v5.3: what an optimistic spinner achieves). Default true.
   * false = strict FIFO: writers take the lock only when nobody is queued or at the head.
   */
  writerStealing?: boolean;
  /** v5.3 RWSEM_WAIT_TIMEOUT in ns, default 4e6 */
  waitTimeoutNs?: number;
  /** v5.3 MAX_READERS_WAKEUP, default 256 */
  maxReadersWakeup?: number;
}

/** One acquisition of the lock, from request to release. Times in ns. */
export interface AcquisitionRecord {
  pid: number;
  comm: string;
  mode: "read" | "write";
  /** when down_*() was called */
  requestedAt: number;
  /** when the lock was granted */
  acquiredAt: number;
  /** NaN while held */
  releasedAt: number;
  /** NaN unless a write hold was downgraded; exclusive before, shared after */
  downgradedAt: number;
}

/** Summary of a series of durations (ns). min/max/mean/pXX are NaN when count is 0. */
export interface Distribution {
  count: number;
  total: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Wait and hold distributions, split shared (read) / exclusive (write). */
export interface RwsemStats {
  shared: { wait: Distribution; hold: Distribution };
  exclusive: { wait: Distribution; hold: Distribution };
}
