/**
 * DOC: AsyncRwSemaphore — the rw_semaphore for plain async code (no sched needed).
 *
 * Same RwsemCore as the sim front end, so identical arrival sequences give identical grant
 * orders. The mapping of kernel actions to promises:
 *
 *   kernel                                   here
 *   fast path succeeds                       a shared, already resolved promise (no allocation)
 *   task queued, sleeps (TASK_(UN)KILLABLE)  a pending promise
 *   rwsem_mark_wake grants a reader          its promise resolves
 *   wake_up_process(writer), which then      a microtask runs rwsem_try_write_lock for it; a
 *     retries rwsem_try_write_lock           writer arriving in between may steal the lock
 *   fatal signal in a killable wait          AbortSignal: the waiter leaves the queue with the
 *                                            kernel's exit rules, the promise rejects
 *
 * There are no tasks, so misuse detection is limited to what the counts show (upRead with no
 * readers, upWrite / downgradeWrite while not write locked). Read holds carry no identity,
 * so for hold times each upRead() ends the oldest outstanding read hold.
 */
import {
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  type RwsemConfig,
  RwsemCore,
  RwsemWaiter,
  type RwsemWakeTarget,
  rwsemConfig,
  WAITER_QUEUED,
} from "./rwsem-core.js";
import { HoldStartQueue, SampleSeries } from "./rwsem-stats.js";
import type { RwsemOptions, RwsemStats } from "./types.js";

const RESOLVED: Promise<void> = Promise.resolve();
const zeroClock = (): number => 0;

/** What an async waiter carries through the core. */
class AsyncWait {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | null;
  onAbort: (() => void) | null;
  /** writer: a retry microtask is queued */
  retryQueued: boolean;
  retry: (() => void) | null;
  requestedAt: number;

  constructor(signal: AbortSignal | null, requestedAt: number) {
    this.resolve = noop;
    this.reject = noop;
    this.signal = signal;
    this.onAbort = null;
    this.retryQueued = false;
    this.retry = null;
    this.requestedAt = requestedAt;
  }
}

function noop(): void {}

/** Options of AsyncRwSemaphore. */
export type AsyncRwsemOptions = RwsemOptions & {
  /** time source for the statistics (any unit; the caller injects a clock); default () => 0 */
  clock?: () => number;
};

/** struct rw_semaphore for async code: `await sem.downRead({ signal })`. */
export class AsyncRwSemaphore implements RwsemWakeTarget<AsyncWait> {
  readonly name: string;
  private readonly core: RwsemCore<AsyncWait>;
  private readonly clock: () => number;
  private readonly sharedWait: SampleSeries;
  private readonly sharedHold: SampleSeries;
  private readonly exclWait: SampleSeries;
  private readonly exclHold: SampleSeries;
  private readonly readStarts: HoldStartQueue;
  private writeStart: number;

  constructor(opts?: AsyncRwsemOptions) {
    const config: RwsemConfig = rwsemConfig(opts);
    const clock = opts?.clock ?? zeroClock;
    if (typeof clock !== "function") throw new TypeError("@mmlab/rwsem: clock must be a function");
    this.name = config.name;
    this.core = new RwsemCore<AsyncWait>(this, config);
    this.clock = clock;
    this.sharedWait = new SampleSeries();
    this.sharedHold = new SampleSeries();
    this.exclWait = new SampleSeries();
    this.exclHold = new SampleSeries();
    this.readStarts = new HoldStartQueue();
    this.writeStart = 0;
  }

  /** Active readers. */
  get readers(): number {
    return this.core.readers;
  }
  get isWriteLocked(): boolean {
    return this.core.writeLocked;
  }
  /** Queued waiters. */
  get waiting(): number {
    return this.core.nrWaiters;
  }
  /** The kernel's sem->count for this generation (see rwsem-core.ts). */
  get count(): number {
    return this.core.count;
  }

  /** kernel/locking/rwsem.c: down_read() / down_read_killable() — v4.19 */
  downRead(opts?: { signal?: AbortSignal }): Promise<void> {
    if (this.core.downReadFast()) {
      const now = this.clock();
      this.sharedWait.add(0);
      this.readStarts.push(now);
      return RESOLVED;
    }
    return this.downSlow(RWSEM_WAITING_FOR_READ, opts?.signal ?? null);
  }

  /** kernel/locking/rwsem.c: down_write() / down_write_killable() — v4.19 */
  downWrite(opts?: { signal?: AbortSignal }): Promise<void> {
    if (this.core.downWriteFast()) {
      this.exclWait.add(0);
      this.writeStart = this.clock();
      return RESOLVED;
    }
    return this.downSlow(RWSEM_WAITING_FOR_WRITE, opts?.signal ?? null);
  }

  /** kernel/locking/rwsem.c: down_read_trylock() — v4.19 */
  downReadTrylock(): boolean {
    if (!this.core.downReadTrylock()) return false;
    this.sharedWait.add(0);
    this.readStarts.push(this.clock());
    return true;
  }

  /** kernel/locking/rwsem.c: down_write_trylock() — v4.19 */
  downWriteTrylock(): boolean {
    if (!this.core.downWriteTrylock()) return false;
    this.exclWait.add(0);
    this.writeStart = this.clock();
    return true;
  }

  /** kernel/locking/rwsem.c: up_read() — v4.19 */
  upRead(): void {
    if (this.core.readers === 0) {
      throw new Error(`@mmlab/rwsem: upRead() on ${this.name} which has no active readers`);
    }
    const now = this.clock();
    this.sharedHold.add(now - this.readStarts.shift());
    this.core.upRead(now);
  }

  /** kernel/locking/rwsem.c: up_write() — v4.19 */
  upWrite(): void {
    if (!this.core.writeLocked) {
      throw new Error(`@mmlab/rwsem: upWrite() on ${this.name} which is not write locked`);
    }
    const now = this.clock();
    this.exclHold.add(now - this.writeStart);
    this.core.upWrite(now);
  }

  /** kernel/locking/rwsem.c: downgrade_write() — v4.19 */
  downgradeWrite(): void {
    if (!this.core.writeLocked) {
      throw new Error(`@mmlab/rwsem: downgradeWrite() on ${this.name} which is not write locked`);
    }
    const now = this.clock();
    this.exclHold.add(now - this.writeStart);
    this.readStarts.push(now);
    this.core.downgradeWrite(now);
  }

  /** Take a read lock, run fn, release (also when fn throws). */
  async read<T>(fn: () => T | Promise<T>, opts?: { signal?: AbortSignal }): Promise<T> {
    await this.downRead(opts);
    try {
      return await fn();
    } finally {
      this.upRead();
    }
  }

  /** Take the write lock, run fn, release (also when fn throws). */
  async write<T>(fn: () => T | Promise<T>, opts?: { signal?: AbortSignal }): Promise<T> {
    await this.downWrite(opts);
    try {
      return await fn();
    } finally {
      this.upWrite();
    }
  }

  /** Wait and hold distributions (units of the clock). */
  stats(): RwsemStats {
    return {
      shared: { wait: this.sharedWait.summary(), hold: this.sharedHold.summary() },
      exclusive: { wait: this.exclWait.summary(), hold: this.exclHold.summary() },
    };
  }

  /** Queue order, head first. */
  waiters(): ReadonlyArray<{ type: "read" | "write" }> {
    return this.core
      .waiterList()
      .map((w) => ({ type: w.type === RWSEM_WAITING_FOR_READ ? "read" : "write" }));
  }

  /** Check the core's invariants (see rwsem-core.ts); throws Error on a broken one. */
  validate(quiescent = false): void {
    this.core.validate(quiescent);
  }

  // ---------------------------------------------------------------- slow path

  private downSlow(type: 0 | 1, signal: AbortSignal | null): Promise<void> {
    const now = this.clock();
    // A killable task with a fatal signal pending gives up before sleeping.
    if (signal?.aborted) return Promise.reject(signal.reason);
    const data = new AsyncWait(signal, now);
    const w = new RwsemWaiter<AsyncWait>(type, data);
    const promise = new Promise<void>((resolve, reject) => {
      data.resolve = resolve;
      data.reject = reject;
    });
    if (signal !== null) {
      const onAbort = (): void => this.abort(w);
      data.onAbort = onAbort;
      signal.addEventListener("abort", onAbort, { once: true });
    }
    if (type === RWSEM_WAITING_FOR_READ) {
      this.core.rwsemDownReadSlowpath(w, now); // a grant arrives through rwsemGrant()
    } else if (this.core.rwsemDownWriteSlowpath(w, now)) {
      this.writerAcquired(w, now);
    }
    return promise;
  }

  /** RwsemWakeTarget: a queued reader was granted. */
  rwsemGrant(w: RwsemWaiter<AsyncWait>): void {
    const now = this.clock();
    const data = w.data;
    this.sharedWait.add(now - data.requestedAt);
    this.readStarts.push(now);
    this.detach(data);
    data.resolve();
  }

  /** RwsemWakeTarget: wake_up_process(writer) — it retries in a microtask. */
  rwsemWakeWriter(w: RwsemWaiter<AsyncWait>): void {
    const data = w.data;
    if (data.retryQueued) return;
    data.retryQueued = true;
    if (data.retry === null) data.retry = () => this.retryWriter(w);
    queueMicrotask(data.retry);
  }

  private retryWriter(w: RwsemWaiter<AsyncWait>): void {
    w.data.retryQueued = false;
    if (w.state !== WAITER_QUEUED) return;
    const now = this.clock();
    if (this.core.writerRetry(w, now)) this.writerAcquired(w, now);
  }

  private writerAcquired(w: RwsemWaiter<AsyncWait>, now: number): void {
    const data = w.data;
    this.exclWait.add(now - data.requestedAt);
    this.writeStart = now;
    this.detach(data);
    data.resolve();
  }

  private abort(w: RwsemWaiter<AsyncWait>): void {
    if (w.state !== WAITER_QUEUED) return; // granted in time: the caller holds the lock
    const data = w.data;
    data.onAbort = null;
    // Reject first (the aborting task exits before the waiters it wakes run), then leave
    // the queue with the kernel's exit rules.
    data.reject(data.signal?.reason);
    this.core.rwsemAbortWaiter(w, this.clock());
  }

  private detach(data: AsyncWait): void {
    if (data.signal !== null && data.onAbort !== null) {
      data.signal.removeEventListener("abort", data.onAbort);
      data.onAbort = null;
    }
  }
}
