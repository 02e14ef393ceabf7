/**
 * A simulated task (struct task_struct): a generator body plus the scheduler state the kernel
 * keeps on a task. Fields the Sim updates are `_`-prefixed and @internal; users read the getters.
 *
 *   spawn ──> runnable ──(start event)──> running ──yield cpu()──> running (timer) ──> ...
 *                                            │  └─ cpus busy ──> runnable (FIFO) ──> running
 *                                            ├─ yield sleep() ──> sleeping  ──(timer | kill)──> runnable
 *                                            ├─ yield block() ──> uninterruptible | sleeping
 *                                            │                      ──(wake | kill)──> runnable
 *                                            └─ return ──> dead
 *
 * Invariants (Sim.validate()): a task has at most one live event in the heap (_pending); a
 * blocked task (_wait = UNINTERRUPTIBLE/KILLABLE/INTERRUPTIBLE/IDLE) has none; a sleeping task
 * (_wait = SLEEP) and a running or runnable one that is not queued for a CPU has exactly one.
 */
import { running } from "./current.js";
import { BLOCK_IDLE_DO_WAIT, type Instruction, W_NONE } from "./instruction.js";
import type { Sim } from "./sim.js";

export type TaskState = "running" | "runnable" | "sleeping" | "uninterruptible" | "dead";
export type TaskBody<R = unknown> = () => Generator<Instruction, R, unknown>;

export class Task<R = unknown> {
  readonly pid: number;
  readonly comm: string;
  /** A daemon task (a kthread looping forever) does not keep run() going. */
  readonly daemon: boolean;
  /** @internal */ readonly _sim: Sim;
  /** @internal */ _body: TaskBody<R>;
  /** @internal created when the task first runs, so that current() works inside body() */
  _gen: Generator<Instruction, R, unknown> | null;
  /** @internal */ _state: TaskState;
  /** @internal */ _started: boolean;
  /** @internal */ _startTime: number;
  /** @internal */ _endTime: number;
  /** @internal */ _result: R | undefined;
  /** @internal */ _blockedSince: number;
  /** @internal */ _waitChan: string;
  /** @internal nvcsw + nivcsw */ _switchCount: number;
  /** @internal */ _fatalSignalPending: boolean;
  /** @internal W_* of the current wait, W_NONE when not waiting */ _wait: number;
  /** @internal bumped for every scheduled or cancelled event; older heap entries are stale */
  _epoch: number;
  /** @internal has a live event in the heap */ _pending: boolean;
  /** @internal what the next resume sends into the generator */ _resumeValue: unknown;
  /** @internal holds one of Sim({cpus}) CPUs until its cpu() completes */ _onCpu: boolean;
  /** @internal ns asked for while queued for a CPU */ _cpuNs: number;
  /** @internal tasks blocked in join() on this one */ _joiners: Task[];
  /** @internal the WaitQueue this task is queued on, if any */ _waitQueue: object | null;
  /** @internal hung_task.c: t->last_switch_count */ _lastSwitchCount: number;
  /** @internal hung_task.c: t->last_switch_time */ _lastSwitchTime: number;
  /** @internal switch count of the blocking episode last reported hung, -1 if none */
  _hungReportedSwitchCount: number;

  /** @internal use sim.spawn() */
  constructor(sim: Sim, pid: number, comm: string, body: TaskBody<R>, daemon: boolean) {
    this.pid = pid;
    this.comm = comm;
    this.daemon = daemon;
    this._sim = sim;
    this._body = body;
    this._gen = null;
    this._state = "runnable";
    this._started = false;
    this._startTime = Number.NaN;
    this._endTime = Number.NaN;
    this._result = undefined;
    this._blockedSince = Number.NaN;
    this._waitChan = "";
    this._switchCount = 0;
    this._fatalSignalPending = false;
    this._wait = W_NONE;
    this._epoch = 0;
    this._pending = false;
    this._resumeValue = undefined;
    this._onCpu = false;
    this._cpuNs = 0;
    this._joiners = [];
    this._waitQueue = null;
    this._lastSwitchCount = 0;
    this._lastSwitchTime = 0;
    this._hungReportedSwitchCount = -1;
  }

  /** The Sim this task belongs to. */
  get sim(): Sim {
    return this._sim;
  }
  get state(): TaskState {
    return this._state;
  }
  /** Virtual time of the first run; NaN until then. */
  get startTime(): number {
    return this._startTime;
  }
  /** Virtual time of exit; NaN while alive. */
  get endTime(): number {
    return this._endTime;
  }
  /** The body's return value once dead. */
  get result(): R | undefined {
    return this._result;
  }
  /** When the current block() or sleep() began; NaN if not blocked. */
  get blockedSince(): number {
    return this._blockedSince;
  }
  /** The wait channel while blocked (block()'s waitChan, "do_nanosleep", "do_wait"), else "". */
  get waitChan(): string {
    return this._waitChan;
  }
  /** Context switches (nvcsw + nivcsw): one per block/sleep, one per wait for a busy CPU. */
  get switchCount(): number {
    return this._switchCount;
  }
  /** Set by kill(). */
  get fatalSignalPending(): boolean {
    return this._fatalSignalPending;
  }

  /**
   * SIGKILL (kernel/signal.c: signal_wake_up() — v4.19): sets fatalSignalPending and wakes a
   * killable or interruptible block, or a sleep, with -EINTR. Uninterruptible waits are not
   * woken; the body decides how to exit. A no-op on a dead task.
   */
  kill(): void {
    this._sim._signalWakeUp(this);
  }

  /**
   * Wait until this task is dead and return its result (`yield* other.join()`). The waiter
   * shows as "uninterruptible" with waitChan "do_wait" but, like TASK_IDLE, is not a hung task.
   */
  *join(): Generator<Instruction, R, unknown> {
    const me = running.task;
    if (me === null) throw new Error("@mmlab/sched: join() called outside a task");
    if (me === this) throw new Error(`@mmlab/sched: task ${this.comm}:${this.pid} joins itself`);
    if (me._sim !== this._sim) {
      throw new TypeError(`@mmlab/sched: join() of task ${this.comm}:${this.pid} of another Sim`);
    }
    while (this._state !== "dead") {
      this._joiners.push(me);
      yield BLOCK_IDLE_DO_WAIT;
    }
    return this._result as R;
  }

  toString(): string {
    return `${this.comm}:${this.pid}`;
  }
}
