/**
 * DOC: RwSemaphore — struct rw_semaphore for @mmlab/sched tasks (kernel/locking/rwsem.c and
 * rwsem-xadd.c, see rwsem-core.ts for the state machine).
 *
 *   yield* sem.downRead()      fast path, or queue and block("uninterruptible",
 *                              "rwsem_down_read_failed") until rwsem_mark_wake grants us
 *   yield* sem.downWrite()     fast path, or queue, then: block; on every wake retry
 *                              rwsem_try_write_lock (a woken writer can lose to a stealer)
 *   *Killable()                block("killable"); task.kill() makes the task give up with
 *                              -EINTR unless the lock was granted first
 *
 * Owner tracking replaces lockdep: releasing what you do not hold, or taking the lock again
 * while holding it for write (or taking it for write while holding it for read), throws an
 * Error naming the task and the lock. Every acquisition is kept in `history`; the events of
 * the contract (lock-wait/acquire/release/downgrade/abort) go through sim.emit.
 */
import { block, current, type Instruction, type Sim, type Task } from "@mmlab/sched";
import { EINTR } from "./errno.js";
import {
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  RwsemCore,
  RwsemWaiter,
  type RwsemWakeTarget,
  rwsemConfig,
  WAITER_QUEUED,
} from "./rwsem-core.js";
import { statsFromHistory } from "./rwsem-stats.js";
import type { AcquisitionRecord, RwsemGeneration, RwsemOptions, RwsemStats } from "./types.js";

type Mode = "read" | "write";

function who(task: Task): string {
  return `${task.comm}:${task.pid}`;
}

/** struct rw_semaphore bound to one Sim; the owner is current(). */
export class RwSemaphore implements RwsemWakeTarget<Task> {
  readonly sim: Sim;
  readonly name: string;
  readonly generation: RwsemGeneration;
  private readonly core: RwsemCore<Task>;
  private readonly _history: AcquisitionRecord[];
  /** open read holds (including downgraded write holds), in order of acquiring */
  private readonly readHolds: AcquisitionRecord[];
  private writeHold: AcquisitionRecord | null;
  private _owner: Task | null;
  private readonly wchanRead: string;
  private readonly wchanWrite: string;

  constructor(sim: Sim, opts?: RwsemOptions) {
    const config = rwsemConfig(opts);
    this.sim = sim;
    this.name = config.name;
    this.generation = config.generation;
    this.core = new RwsemCore<Task>(this, config);
    this._history = [];
    this.readHolds = [];
    this.writeHold = null;
    this._owner = null;
    const v418 = config.generation === "v4.18";
    this.wchanRead = v418 ? "rwsem_down_read_failed" : "rwsem_down_read_slowpath";
    this.wchanWrite = v418 ? "rwsem_down_write_failed" : "rwsem_down_write_slowpath";
  }

  // ---------------------------------------------------------------- introspection

  /** The writer holding the lock, or null (sem->owner when not reader owned). */
  get owner(): Task | null {
    return this._owner;
  }
  /** Active readers. */
  get readers(): number {
    return this.core.readers;
  }
  get isWriteLocked(): boolean {
    return this.core.writeLocked;
  }
  /** The kernel's sem->count for this generation (see rwsem-core.ts). */
  get count(): number {
    return this.core.count;
  }
  /** v5.3 RWSEM_FLAG_HANDOFF is set. */
  get handoff(): boolean {
    return this.core.handoff;
  }
  /** Every acquisition, in order of acquiring. */
  get history(): ReadonlyArray<AcquisitionRecord> {
    return this._history;
  }
  /** The wait list, head first. */
  waiters(): ReadonlyArray<{ task: Task; type: Mode }> {
    return this.core.waiterList().map((w) => ({
      task: w.data,
      type: w.type === RWSEM_WAITING_FOR_READ ? "read" : "write",
    }));
  }
  /** Tasks holding a read lock (a task appears once per hold). */
  readerTasks(): ReadonlyArray<{ pid: number; comm: string }> {
    return this.readHolds.map((r) => ({ pid: r.pid, comm: r.comm }));
  }
  /** Exact wait/hold distributions (ns) from the history. */
  stats(): RwsemStats {
    return statsFromHistory(this._history);
  }
  /** Check the core's invariants (quiescent: also that no waiter is stranded). */
  validate(quiescent = false): void {
    this.core.validate(quiescent);
    if (this.readHolds.length !== this.core.readers) {
      throw new Error(
        `@mmlab/rwsem: ${this.name}: ${this.readHolds.length} read holds but count says ${this.core.readers}`,
      );
    }
    if ((this._owner !== null) !== this.core.writeLocked) {
      throw new Error(`@mmlab/rwsem: ${this.name}: owner does not match the write lock`);
    }
  }

  // ---------------------------------------------------------------- read side

  /** kernel/locking/rwsem.c: down_read() — v4.19 (TASK_UNINTERRUPTIBLE) */
  *downRead(): Generator<Instruction, void, unknown> {
    yield* this.__downRead(false, "downRead");
  }

  /** kernel/locking/rwsem.c: down_read_killable() — v4.19; returns 0 or -EINTR */
  downReadKillable(): Generator<Instruction, number, unknown> {
    return this.__downRead(true, "downReadKillable");
  }

  /** kernel/locking/rwsem.c: down_read_trylock() — v4.19 */
  downReadTrylock(): boolean {
    const task = current();
    if (!this.core.downReadTrylock()) return false;
    this.recordAcquire(task, "read", this.sim.now);
    return true;
  }

  /** kernel/locking/rwsem.c: up_read() — v4.19 */
  upRead(): void {
    const task = current();
    const i = this.findReadHold(task);
    if (i < 0) {
      throw new Error(
        `@mmlab/rwsem: upRead() by task ${who(task)} which does not hold ${this.name}`,
      );
    }
    const rec = this.readHolds[i] as AcquisitionRecord;
    this.readHolds.splice(i, 1);
    const now = this.sim.now;
    rec.releasedAt = now;
    if (this.sim.tracing) {
      const since = Number.isNaN(rec.downgradedAt) ? rec.acquiredAt : rec.downgradedAt;
      this.sim.emit({
        type: "lock-release",
        time: now,
        pid: task.pid,
        lock: this.name,
        mode: "read",
        holdNs: now - since,
      });
    }
    this.core.upRead(now);
  }

  /** kernel/locking/rwsem-xadd.c: rwsem_down_read_failed{,_killable}() — v4.19 */
  private *__downRead(killable: boolean, fn: string): Generator<Instruction, number, unknown> {
    const task = current();
    if (this._owner === task) {
      throw new Error(
        `@mmlab/rwsem: ${fn}() by task ${who(task)} which holds ${this.name} for write (recursive locking deadlock)`,
      );
    }
    const now = this.sim.now;
    if (this.core.downReadFast()) {
      this.recordAcquire(task, "read", now);
      return 0;
    }
    const w = new RwsemWaiter<Task>(RWSEM_WAITING_FOR_READ, task);
    this.emitWait(task, "read", now);
    this.core.rwsemDownReadSlowpath(w, now); // a grant comes through rwsemGrant()
    while (w.state === WAITER_QUEUED) {
      if (killable && task.fatalSignalPending) {
        this.abort(w, "read");
        return -EINTR;
      }
      yield block(killable ? "killable" : "uninterruptible", this.wchanRead);
    }
    return 0;
  }

  // ---------------------------------------------------------------- write side

  /** kernel/locking/rwsem.c: down_write() — v4.19 (TASK_UNINTERRUPTIBLE) */
  *downWrite(): Generator<Instruction, void, unknown> {
    yield* this.__downWrite(false, "downWrite");
  }

  /** kernel/locking/rwsem.c: down_write_killable() — v4.19; returns 0 or -EINTR */
  downWriteKillable(): Generator<Instruction, number, unknown> {
    return this.__downWrite(true, "downWriteKillable");
  }

  /** kernel/locking/rwsem.c: down_write_trylock() — v4.19 */
  downWriteTrylock(): boolean {
    const task = current();
    if (!this.core.downWriteTrylock()) return false;
    this.recordAcquire(task, "write", this.sim.now);
    return true;
  }

  /** kernel/locking/rwsem.c: up_write() — v4.19 */
  upWrite(): void {
    const task = current();
    const rec = this.writeHold;
    if (this._owner !== task || rec === null) {
      const held = this._owner === null ? "no writer" : `owner ${who(this._owner)}`;
      throw new Error(
        `@mmlab/rwsem: upWrite() by task ${who(task)} which does not own ${this.name} (${held})`,
      );
    }
    const now = this.sim.now;
    rec.releasedAt = now;
    this.writeHold = null;
    this._owner = null;
    if (this.sim.tracing) {
      this.sim.emit({
        type: "lock-release",
        time: now,
        pid: task.pid,
        lock: this.name,
        mode: "write",
        holdNs: now - rec.acquiredAt,
      });
    }
    this.core.upWrite(now);
  }

  /** kernel/locking/rwsem.c: downgrade_write() — v4.19 */
  downgradeWrite(): void {
    const task = current();
    const rec = this.writeHold;
    if (this._owner !== task || rec === null) {
      const held = this.findReadHold(task) >= 0 ? "holds it only for read" : "does not own it";
      throw new Error(
        `@mmlab/rwsem: downgradeWrite() of ${this.name} by task ${who(task)} which ${held}`,
      );
    }
    const now = this.sim.now;
    rec.downgradedAt = now;
    this.writeHold = null;
    this._owner = null;
    this.readHolds.push(rec);
    if (this.sim.tracing) {
      this.sim.emit({
        type: "lock-downgrade",
        time: now,
        pid: task.pid,
        lock: this.name,
        holdNs: now - rec.acquiredAt,
      });
    }
    this.core.downgradeWrite(now);
  }

  /** kernel/locking/rwsem-xadd.c: rwsem_down_write_failed{,_killable}() — v4.19 */
  private *__downWrite(killable: boolean, fn: string): Generator<Instruction, number, unknown> {
    const task = current();
    if (this._owner === task) {
      throw new Error(
        `@mmlab/rwsem: ${fn}() by task ${who(task)} which already holds ${this.name} for write (recursive locking deadlock)`,
      );
    }
    if (this.findReadHold(task) >= 0) {
      throw new Error(
        `@mmlab/rwsem: ${fn}() by task ${who(task)} which holds ${this.name} for read (self deadlock)`,
      );
    }
    const now = this.sim.now;
    if (this.core.downWriteFast()) {
      this.recordAcquire(task, "write", now);
      return 0;
    }
    const w = new RwsemWaiter<Task>(RWSEM_WAITING_FOR_WRITE, task);
    this.emitWait(task, "write", now);
    if (this.core.rwsemDownWriteSlowpath(w, now)) {
      this.recordAcquire(task, "write", now, w.queuedAt);
      return 0;
    }
    for (;;) {
      if (killable && task.fatalSignalPending) {
        this.abort(w, "write");
        return -EINTR;
      }
      yield block(killable ? "killable" : "uninterruptible", this.wchanWrite);
      // Woken (by rwsem_mark_wake or a signal): try first, as the kernel's loop does.
      if (this.core.writerRetry(w, this.sim.now)) {
        this.recordAcquire(task, "write", this.sim.now, w.queuedAt);
        return 0;
      }
    }
  }

  // ---------------------------------------------------------------- core callbacks

  /** RwsemWakeTarget: rwsem_mark_wake granted a queued reader. */
  rwsemGrant(w: RwsemWaiter<Task>): void {
    this.recordAcquire(w.data, "read", this.sim.now, w.queuedAt);
    this.sim.wake(w.data, 0); // false if it is already runnable (killed, or granting itself)
  }

  /** RwsemWakeTarget: wake_up_process() of the writer at the head. */
  rwsemWakeWriter(w: RwsemWaiter<Task>): void {
    this.sim.wake(w.data, 0);
  }

  // ---------------------------------------------------------------- helpers

  private recordAcquire(task: Task, mode: Mode, now: number, requestedAt = now): void {
    const rec: AcquisitionRecord = {
      pid: task.pid,
      comm: task.comm,
      mode,
      requestedAt,
      acquiredAt: now,
      releasedAt: Number.NaN,
      downgradedAt: Number.NaN,
    };
    this._history.push(rec);
    if (mode === "read") {
      this.readHolds.push(rec);
    } else {
      this.writeHold = rec;
      this._owner = task;
    }
    if (this.sim.tracing) {
      this.sim.emit({
        type: "lock-acquire",
        time: now,
        pid: task.pid,
        lock: this.name,
        mode,
        waitNs: now - requestedAt,
      });
    }
  }

  private emitWait(task: Task, mode: Mode, now: number): void {
    if (this.sim.tracing) {
      this.sim.emit({ type: "lock-wait", time: now, pid: task.pid, lock: this.name, mode });
    }
  }

  private abort(w: RwsemWaiter<Task>, mode: Mode): void {
    const now = this.sim.now;
    if (this.sim.tracing) {
      this.sim.emit({
        type: "lock-abort",
        time: now,
        pid: w.data.pid,
        lock: this.name,
        mode,
        waitNs: now - w.queuedAt,
      });
    }
    this.core.rwsemAbortWaiter(w, now);
  }

  private findReadHold(task: Task): number {
    const holds = this.readHolds;
    for (let i = holds.length - 1; i >= 0; i--) {
      if ((holds[i] as AcquisitionRecord).pid === task.pid) return i;
    }
    return -1;
  }
}
