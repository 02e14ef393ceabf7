/**
 * RCU for sim tasks (kernel/rcu/tree.c, tree_plugin.h — CONFIG_PREEMPT_RCU, v6.1), reduced to
 * the rule that decides who may still read what:
 *
 *   rcu_read_lock() / rcu_read_unlock()  per task, nesting (t->rcu_read_lock_nesting)
 *   call_rcu(cb)                         cb runs after the end of a grace period that began
 *                                        after the call
 *   grace period                         begins with a snapshot of the tasks inside a
 *                                        read-side section (the holdouts, rcu_preempt_blocked_
 *                                        readers) and ends once each has left its section and
 *                                        at least gracePeriodNs of virtual time has passed
 *
 *   call_rcu ─> next batch ─(no GP running)─> GP n: holdouts = readers now ─(all left)─> run
 *                                                                                       batch n
 * A task that holds no rcu_read_lock() does not delay a grace period, whatever else it holds
 * (a sleeping lock, the mmap_lock): that is the whole point of StackRot (CVE-2023-3269).
 * The grace-period kthread (`rcu_preempt`, a daemon task spawned at the first call_rcu) ends
 * grace periods and runs the callbacks in its own context, so `current()` inside a callback
 * is that kthread. Not modelled: CPUs and their quiescent states (with CONFIG_PREEMPT_RCU only
 * the readers' sections hold a grace period back), expedited grace periods, SRCU, callback
 * batching limits.
 */
import { current } from "./current.js";
import { block, type Instruction, sleep } from "./instruction.js";
import type { Sim } from "./sim.js";
import type { Task } from "./task.js";

export interface RcuOptions {
  /** The shortest grace period, ns of virtual time (default 0: as soon as the holdouts left). */
  gracePeriodNs?: number;
  /** Name of the grace-period kthread (default "rcu_preempt"). */
  kthreadName?: string;
  /**
   * Its pid (default 15, about where a booted x86 kernel has rcu_preempt, far from the 1000+
   * that tasks get by default); if that pid is taken, the next free one.
   */
  kthreadPid?: number;
}

/** One queued callback and the label it is traced with. */
interface RcuCallback {
  fn: () => void;
  label: string;
}

const GP_IDLE = block("interruptible", "rcu_gp_kthread");

/** struct rcu_state for one Sim: read-side sections, grace periods, callbacks. */
export class Rcu {
  readonly sim: Sim;
  readonly gracePeriodNs: number;
  private readonly _kthreadName: string;
  private readonly _kthreadPid: number;
  private readonly _nesting: Map<Task, number>;
  /** Callbacks waiting for the next grace period to begin. */
  private _next: RcuCallback[];
  /** Callbacks of the grace period in progress. */
  private _current: RcuCallback[];
  private _gpRunning: boolean;
  private _gpStart: number;
  private _holdouts: Set<Task>;
  private _completed: number;
  private _kthread: Task | null;

  constructor(sim: Sim, opts: RcuOptions = {}) {
    const gp = opts.gracePeriodNs ?? 0;
    if (typeof gp !== "number" || !(gp >= 0) || !Number.isFinite(gp)) {
      throw new RangeError(`@mmlab/sched: Rcu gracePeriodNs must be a finite ns >= 0, got ${gp}`);
    }
    this.sim = sim;
    this.gracePeriodNs = gp;
    this._kthreadName = opts.kthreadName ?? "rcu_preempt";
    this._kthreadPid = opts.kthreadPid ?? 15;
    this._nesting = new Map();
    this._next = [];
    this._current = [];
    this._gpRunning = false;
    this._gpStart = 0;
    this._holdouts = new Set();
    this._completed = 0;
    this._kthread = null;
  }

  /** Grace periods completed so far. */
  get completed(): number {
    return this._completed;
  }

  /** Callbacks not run yet. */
  get pending(): number {
    return this._next.length + this._current.length;
  }

  /** True while a grace period is in progress. */
  get gracePeriodInProgress(): boolean {
    return this._gpRunning;
  }

  /** The tasks the grace period in progress still waits for, in the order they entered. */
  holdouts(): Task[] {
    return [...this._holdouts];
  }

  /** include/linux/rcupdate.h: rcu_read_lock() — v6.1, for the current task (nests). */
  readLock(): void {
    const t = current();
    this._nesting.set(t, (this._nesting.get(t) ?? 0) + 1);
  }

  /**
   * include/linux/rcupdate.h: rcu_read_unlock() — v6.1 (rcu_read_unlock_special() when the
   * outermost section of a holdout ends: the grace period may end now).
   */
  readUnlock(): void {
    const t = current();
    const n = this._nesting.get(t) ?? 0;
    if (n === 0) {
      throw new Error(
        `@mmlab/sched: rcu_read_unlock() by ${t.comm}:${t.pid} without rcu_read_lock()`,
      );
    }
    if (n > 1) {
      this._nesting.set(t, n - 1);
      return;
    }
    this._nesting.delete(t);
    if (this._holdouts.delete(t) && this._holdouts.size === 0) this._kick();
  }

  /** rcu_read_lock_held() for `task` (default: the current task). */
  readLockHeld(task?: Task): boolean {
    const t = task ?? current();
    return (this._nesting.get(t) ?? 0) > 0;
  }

  /**
   * kernel/rcu/tree.c: call_rcu() — v6.1. `fn` runs in the grace-period kthread after a full
   * grace period that began after this call. `label` names it in trace marks.
   */
  callRcu(fn: () => void, label = ""): void {
    if (typeof fn !== "function") throw new TypeError("@mmlab/sched: callRcu(fn) needs a function");
    this._next.push({ fn, label });
    if (!this._gpRunning) this._startGp();
  }

  /**
   * kernel/rcu/tree.c: synchronize_rcu() — v6.1: wait (uninterruptibly) until a full grace
   * period has passed. Calling it inside a read-side section would never return: it throws.
   */
  *synchronizeRcu(): Generator<Instruction, void, unknown> {
    const me = current();
    if (this.readLockHeld(me)) {
      throw new Error(
        `@mmlab/sched: synchronize_rcu() by ${me.comm}:${me.pid} inside an RCU read-side section`,
      );
    }
    let done = false;
    this.callRcu(() => {
      done = true;
      this.sim.wake(me);
    }, `synchronize_rcu ${me.comm}:${me.pid}`);
    while (!done) yield block("uninterruptible", "synchronize_rcu");
  }

  /** rcu_gp_init(): the batch waiting becomes this grace period's; snapshot the readers. */
  private _startGp(): void {
    this._current = this._next;
    this._next = [];
    this._gpRunning = true;
    this._gpStart = this.sim.now;
    this._holdouts = new Set();
    for (const [t, n] of this._nesting) if (n > 0 && t.state !== "dead") this._holdouts.add(t);
    if (this.sim.tracing) {
      const who = [...this._holdouts].map((t) => `${t.comm}:${t.pid}`).join(", ");
      this.sim.mark(`rcu: grace period begins${who === "" ? "" : ` (waits for ${who})`}`);
    }
    this._ensureKthread();
    this._kick();
  }

  private _kick(): void {
    const k = this._kthread;
    if (k !== null && k.waitChan === "rcu_gp_kthread") this.sim.wake(k);
  }

  private _ensureKthread(): void {
    if (this._kthread !== null) return;
    const self = this;
    const body = function* (): Generator<Instruction, void, unknown> {
      for (;;) yield* self._gpKthreadStep();
    };
    const live = new Set(this.sim.tasks.filter((t) => t.state !== "dead").map((t) => t.pid));
    let pid = this._kthreadPid;
    while (live.has(pid)) pid++;
    this._kthread = this.sim.spawn(this._kthreadName, body, { daemon: true, pid });
  }

  /** One turn of kernel/rcu/tree.c: rcu_gp_kthread(): end the grace period when it may. */
  private *_gpKthreadStep(): Generator<Instruction, void, unknown> {
    if (!this._gpRunning || this._holdouts.size > 0) {
      yield GP_IDLE;
      return;
    }
    const left = this._gpStart + this.gracePeriodNs - this.sim.now;
    if (left > 0) {
      yield sleep(left);
      return;
    }
    // rcu_gp_cleanup() + rcu_do_batch(): the grace period is over.
    const batch = this._current;
    this._current = [];
    this._gpRunning = false;
    this._completed++;
    if (this.sim.tracing) {
      this.sim.mark(`rcu: grace period ${this._completed} ends, ${batch.length} callback(s)`);
    }
    for (const cb of batch) {
      if (cb.label !== "" && this.sim.tracing) this.sim.mark(`rcu: ${cb.label}`);
      cb.fn();
    }
    if (this._next.length > 0) this._startGp();
  }

  /** Throws if the bookkeeping is inconsistent (for tests). */
  validate(): void {
    for (const [t, n] of this._nesting) {
      if (!(n > 0)) throw new Error(`@mmlab/sched: Rcu: ${t} has nesting ${n}`);
    }
    for (const t of this._holdouts) {
      if (!this.readLockHeld(t) && t.state !== "dead") {
        throw new Error(`@mmlab/sched: Rcu: holdout ${t} is not in a read-side section`);
      }
    }
    if (!this._gpRunning && (this._current.length > 0 || this._next.length > 0)) {
      throw new Error("@mmlab/sched: Rcu: callbacks wait but no grace period runs");
    }
  }
}
