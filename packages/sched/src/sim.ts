/**
 * The simulation environment: a virtual clock in nanoseconds and an event heap, SimPy-style
 * (simpy/core.py Environment), driving generator tasks. Deterministic: the same seed and the
 * same inputs give the same event order, bit for bit.
 *
 *   heap (time, priority, seq) ──pop──> resume task: gen.next(value) ──yield──> dispatch:
 *        ^                                                                cpu(ns)   -> push(now+ns, NORMAL)
 *        |                                                                sleep(ns) -> push(now+ns, NORMAL)
 *        └───────── wake(task, v) / kill() / task start: push(now, URGENT) <── block(mode): no event
 *
 * A woken task runs at the current time after the waker yields (the waker keeps running until
 * its next yield): wake() only pushes an URGENT event. Events tied on (time, priority) run FIFO
 * by seq, or in a seeded random order with shuffleTies.
 *
 * Cancelled events are not removed from the heap: every task carries an epoch, each heap entry
 * the epoch it was pushed with, and an entry whose epoch is no longer the task's is stale and
 * skipped when it reaches the top. _liveTaskEvents counts the entries that are not stale.
 */
import { running } from "./current.js";
import { EINTR } from "./errno.js";
import { EventHeap, NORMAL, PRIORITY_SCALE, URGENT } from "./event-heap.js";
import { type HungTaskReport, HungTaskWatchdog } from "./hung-task.js";
import {
  I_BLOCK,
  I_CPU,
  type Instruction,
  isInstruction,
  W_INTERRUPTIBLE,
  W_KILLABLE,
  W_NONE,
  W_SLEEP,
} from "./instruction.js";
import { createPrng, type Prng, Sfc32 } from "./prng.js";
import { Task, type TaskBody } from "./task.js";
import type { TraceEvent } from "./trace.js";

export interface SimOptions {
  /** PRNG seed, default 1. */
  seed?: number;
  /** CPUs; default Infinity (every task has a CPU). */
  cpus?: number;
  /** sysctl_hung_task_timeout_secs in ns; default 120e9; 0 = watchdog off. */
  hungTaskTimeoutNs?: number;
  /** sysctl_hung_task_check_interval_secs in ns; default (and 0) = the timeout. */
  hungTaskCheckIntervalNs?: number;
  /** sysctl_hung_task_warnings; default 10; -1 = unlimited. */
  hungTaskWarnings?: number;
  /**
   * Default true: a task is reported once per blocking episode (the mmlab contract). false:
   * v4.19 behaviour, reported again at every check while it stays blocked.
   */
  hungTaskReportOncePerEpisode?: boolean;
  /** Default false: ties at (time, priority) run FIFO. true: broken by a seeded PRNG. */
  shuffleTies?: boolean;
}

export interface SpawnOptions {
  /** Default: the next free pid from 1000 up. */
  pid?: number;
  /** A daemon (a kthread looping forever) does not keep run() going. */
  daemon?: boolean;
  /** Start this many ns from now (default 0). */
  delayNs?: number;
}

/** Thrown by step() when there is no event to process (simpy.core.EmptySchedule). */
export class EmptySchedule extends Error {
  constructor() {
    super("@mmlab/sched: step() with an empty event queue");
    this.name = "EmptySchedule";
  }
}

const RANDOM_TIE_SCALE = 2 ** 20;
const SEQ_LOW_MASK = 0xfffff;

function checkOption(name: string, value: number, min: number, integer: boolean): void {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`@mmlab/sched: Sim option ${name} must be a number, got ${String(value)}`);
  }
  if (value < min || (integer && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY)) {
    throw new RangeError(
      `@mmlab/sched: Sim option ${name} must be ${integer ? "an integer " : ""}>= ${min}, got ${value}`,
    );
  }
}

export class Sim {
  /** Seeded PRNG for scenarios. */
  readonly random: Prng;
  private _now: number;
  private readonly _heap: EventHeap<Task>;
  private _seq: number;
  private readonly _tiePrng: Sfc32 | null;
  private readonly _cpus: number;
  private _freeCpus: number;
  private readonly _cpuQueue: Task[];
  private _cpuQueueHead: number;
  private readonly _tasks: Task[];
  private readonly _livePids: Set<number>;
  private _nextPid: number;
  private _liveNonDaemon: number;
  private _liveTaskEvents: number;
  private _listeners: ((ev: TraceEvent) => void)[];
  private _tracing: boolean;
  private readonly _watchdog: HungTaskWatchdog | null;
  private _inRun: boolean;

  constructor(opts: SimOptions = {}) {
    const seed = opts.seed ?? 1;
    const cpus = opts.cpus ?? Number.POSITIVE_INFINITY;
    const timeout = opts.hungTaskTimeoutNs ?? 120e9;
    const interval = opts.hungTaskCheckIntervalNs ?? 0;
    const warnings = opts.hungTaskWarnings ?? 10;
    checkOption("cpus", cpus, 1, true);
    checkOption("hungTaskTimeoutNs", timeout, 0, false);
    checkOption("hungTaskCheckIntervalNs", interval, 0, false);
    checkOption("hungTaskWarnings", warnings, -1, true);
    if (!Number.isFinite(timeout) || !Number.isFinite(interval)) {
      throw new RangeError("@mmlab/sched: hung-task timeout and interval must be finite (0 = off)");
    }
    this.random = createPrng(seed);
    this._now = 0;
    this._heap = new EventHeap<Task>(256);
    this._seq = 0;
    this._tiePrng = opts.shuffleTies === true ? new Sfc32((seed ^ 0x5bd1e995) >>> 0) : null;
    this._cpus = cpus;
    this._freeCpus = cpus;
    this._cpuQueue = [];
    this._cpuQueueHead = 0;
    this._tasks = [];
    this._livePids = new Set();
    this._nextPid = 1000;
    this._liveNonDaemon = 0;
    this._liveTaskEvents = 0;
    this._listeners = [];
    this._tracing = false;
    this._inRun = false;
    this._watchdog =
      timeout === 0
        ? null
        : new HungTaskWatchdog(
            timeout,
            interval,
            warnings,
            opts.hungTaskReportOncePerEpisode ?? true,
          );
    // khungtaskd: hung_last_checked = jiffies at boot; first check one interval later.
    if (this._watchdog !== null) this._pushWatchdog(this._watchdog.intervalNs);
  }

  /** The virtual clock, ns. */
  get now(): number {
    return this._now;
  }
  /** All spawned tasks, in spawn order. */
  get tasks(): readonly Task[] {
    return this._tasks;
  }
  /** True iff someone subscribed: guard event construction with it. */
  get tracing(): boolean {
    return this._tracing;
  }
  /** Every hung-task report so far. */
  get hungTaskReports(): readonly HungTaskReport[] {
    return this._watchdog === null ? [] : this._watchdog.reports;
  }
  /** CPUs configured (Infinity by default). */
  get cpus(): number {
    return this._cpus;
  }

  // ---------------------------------------------------------------- tasks

  /** kernel/fork.c: _do_fork() — v4.19, in spirit: a new task, first run at now + delayNs. */
  spawn<R>(comm: string, body: TaskBody<R>, opts: SpawnOptions = {}): Task<R> {
    if (typeof comm !== "string") {
      throw new TypeError(`@mmlab/sched: spawn(comm) needs a string comm, got ${typeof comm}`);
    }
    if (typeof body !== "function") {
      throw new TypeError(`@mmlab/sched: spawn("${comm}", body) needs a generator function`);
    }
    const delay = opts.delayNs ?? 0;
    if (typeof delay !== "number" || !(delay >= 0) || delay === Number.POSITIVE_INFINITY) {
      throw new RangeError(`@mmlab/sched: spawn("${comm}") delayNs must be finite >= 0`);
    }
    let pid: number;
    if (opts.pid !== undefined) {
      pid = opts.pid;
      if (!Number.isSafeInteger(pid) || pid < 1) {
        throw new RangeError(`@mmlab/sched: spawn("${comm}") pid must be an integer >= 1`);
      }
      if (this._livePids.has(pid)) {
        throw new RangeError(`@mmlab/sched: spawn("${comm}") pid ${pid} is in use by a live task`);
      }
    } else {
      while (this._livePids.has(this._nextPid)) this._nextPid++;
      pid = this._nextPid++;
    }
    const daemon = opts.daemon === true;
    const task = new Task<R>(this, pid, comm, body, daemon);
    this._tasks.push(task as Task);
    this._livePids.add(pid);
    if (!daemon) this._liveNonDaemon++;
    this._push(task as Task, this._now + delay, URGENT);
    return task;
  }

  /**
   * kernel/sched/core.c: wake_up_process() / try_to_wake_up() — v4.19. If the task is blocked
   * in block() (or join()), it becomes runnable now and its yield returns `value`; otherwise
   * (running, runnable, in sleep()) returns false and does nothing.
   */
  wake(task: Task, value?: unknown): boolean {
    if (!(task instanceof Task) || task._sim !== this) {
      throw new TypeError("@mmlab/sched: wake() needs a task of this Sim");
    }
    if (task._state === "dead") {
      throw new TypeError(`@mmlab/sched: wake() of dead task ${task.comm}:${task.pid}`);
    }
    return this._tryToWakeUp(task, value);
  }

  private _tryToWakeUp(task: Task, value: unknown): boolean {
    const w = task._wait;
    if (w === W_NONE || w === W_SLEEP) return false;
    task._wait = W_NONE;
    task._blockedSince = Number.NaN;
    task._waitChan = "";
    task._state = "runnable";
    task._resumeValue = value;
    this._push(task, this._now, URGENT);
    return true;
  }

  /** @internal kernel/signal.c: signal_wake_up() for SIGKILL — v4.19 (task.kill()). */
  _signalWakeUp(task: Task): void {
    if (task._state === "dead") return;
    task._fatalSignalPending = true;
    const w = task._wait;
    if (w === W_KILLABLE || w === W_INTERRUPTIBLE) {
      this._tryToWakeUp(task, -EINTR);
    } else if (w === W_SLEEP) {
      // hrtimer sleep interrupted: cancel the timer, resume now with -EINTR.
      this._cancel(task);
      task._wait = W_NONE;
      task._blockedSince = Number.NaN;
      task._waitChan = "";
      task._state = "runnable";
      task._resumeValue = -EINTR;
      this._push(task, this._now, URGENT);
    }
  }

  // ---------------------------------------------------------------- event loop

  /**
   * Process events until the queue is empty, or only daemon tasks are left alive, or the next
   * event is later than `until` (then now = until). Without `until` the watchdog's ticks do not
   * keep the run going; with it they do (a deadlocked D task is then reported). Returns now.
   */
  run(opts?: { until?: number }): number {
    const until = opts?.until;
    const bounded = until !== undefined;
    if (bounded && (typeof until !== "number" || Number.isNaN(until) || until < this._now)) {
      throw new RangeError(`@mmlab/sched: run({ until }) needs until >= now (${this._now})`);
    }
    const limit = bounded ? until : Number.POSITIVE_INFINITY;
    this._enter("run");
    try {
      const heap = this._heap;
      for (;;) {
        if (this._liveNonDaemon === 0) break;
        this._skipStale();
        if (heap.size === 0) break;
        if (!bounded && this._liveTaskEvents === 0) break;
        if ((heap.times[0] as number) > limit) {
          this._now = limit;
          break;
        }
        this._processNext();
      }
    } finally {
      this._inRun = false;
    }
    return this._now;
  }

  /** Process exactly one event; throws EmptySchedule if there is none. */
  step(): void {
    this._enter("step");
    try {
      this._skipStale();
      if (this._heap.size === 0) throw new EmptySchedule();
      this._processNext();
    } finally {
      this._inRun = false;
    }
  }

  /** Time of the next event, Infinity if none. */
  peek(): number {
    this._skipStale();
    return this._heap.peekTime();
  }

  private _enter(what: string): void {
    if (this._inRun) {
      throw new Error(`@mmlab/sched: ${what}() called while the Sim is running (from a task?)`);
    }
    this._inRun = true;
  }

  private _skipStale(): void {
    const heap = this._heap;
    while (heap.size > 0) {
      const task = heap.payload[0] as Task | null;
      if (task === null || task._epoch === heap.tokens[0]) return;
      heap.pop();
    }
  }

  /** Pop the (non-stale) top event and act on it. */
  private _processNext(): void {
    const heap = this._heap;
    const time = heap.times[0] as number;
    const task = heap.payload[0] as Task | null;
    heap.pop();
    this._now = time;
    if (task === null) {
      this._watchdogTick();
      return;
    }
    task._pending = false;
    this._liveTaskEvents--;
    this._resume(task);
  }

  /** Run a task's body from its last yield up to its next one (kernel: context switch in). */
  private _resume(task: Task): void {
    if (task._onCpu) {
      task._onCpu = false;
      this._releaseCpu();
    }
    if (task._wait !== W_NONE) {
      // only a sleep() ends with its own timer; wake-ups clear the wait when they happen
      task._wait = W_NONE;
      task._blockedSince = Number.NaN;
      task._waitChan = "";
    }
    task._state = "running";
    const value = task._resumeValue;
    task._resumeValue = undefined;
    const prev = running.task;
    running.task = task;
    let r: IteratorResult<Instruction, unknown>;
    try {
      let gen = task._gen;
      if (gen === null) {
        task._started = true;
        task._startTime = this._now;
        if (this._tracing) {
          this.emit({ type: "task-start", time: this._now, pid: task.pid, comm: task.comm });
        }
        gen = task._body();
        if (gen === null || typeof gen !== "object" || typeof gen.next !== "function") {
          throw new TypeError(
            `@mmlab/sched: the body of task ${task.comm}:${task.pid} did not return a generator (use function*)`,
          );
        }
        task._gen = gen;
      }
      r = gen.next(value);
    } catch (err) {
      running.task = prev;
      this._taskFailed(task, err);
    }
    running.task = prev;
    if (r.done === true) {
      this._exit(task, r.value);
    } else {
      this._dispatch(task, r.value);
    }
  }

  /** Act on what the task yielded. */
  private _dispatch(task: Task, ins: unknown): void {
    if (!isInstruction(ins)) {
      this._taskFailed(
        task,
        new TypeError(
          `@mmlab/sched: task ${task.comm}:${task.pid} yielded ${describe(ins)}, which is not an Instruction (yield cpu(ns), sleep(ns), block(mode); yield* for generators)`,
        ),
      );
    }
    const kind = ins.kind;
    if (kind === I_CPU) {
      if (this._freeCpus === Number.POSITIVE_INFINITY) {
        this._push(task, this._now + ins.ns, NORMAL);
      } else if (this._freeCpus > 0) {
        this._freeCpus--;
        task._onCpu = true;
        this._push(task, this._now + ins.ns, NORMAL);
      } else {
        // All CPUs busy: wait FIFO (involuntary context switch).
        task._state = "runnable";
        task._switchCount++;
        task._cpuNs = ins.ns;
        this._cpuQueue.push(task);
      }
      return;
    }
    const w = kind === I_BLOCK ? ins.wait : W_SLEEP;
    if (task._fatalSignalPending && isSignalWakeable(w)) {
      // signal_pending_state(): schedule() returns at once, the wait sees -EINTR.
      task._state = "runnable";
      task._resumeValue = -EINTR;
      this._push(task, this._now, URGENT);
      return;
    }
    task._wait = w;
    task._state = w === W_INTERRUPTIBLE || w === W_SLEEP ? "sleeping" : "uninterruptible";
    task._waitChan = ins.waitChan;
    task._blockedSince = this._now;
    task._switchCount++;
    if (kind !== I_BLOCK) {
      task._resumeValue = 0;
      this._push(task, this._now + ins.ns, NORMAL);
    }
  }

  private _releaseCpu(): void {
    const q = this._cpuQueue;
    if (this._cpuQueueHead < q.length) {
      // Hand the CPU straight to the longest waiter.
      const next = q[this._cpuQueueHead] as Task;
      this._cpuQueueHead++;
      if (this._cpuQueueHead === q.length) {
        q.length = 0;
        this._cpuQueueHead = 0;
      } else if (this._cpuQueueHead > 1024 && this._cpuQueueHead * 2 > q.length) {
        q.splice(0, this._cpuQueueHead);
        this._cpuQueueHead = 0;
      }
      next._onCpu = true;
      next._state = "running";
      this._push(next, this._now + next._cpuNs, NORMAL);
    } else {
      this._freeCpus++;
    }
  }

  /** kernel/exit.c: do_exit() — v4.19, in spirit: the task is dead, joiners are woken. */
  private _exit(task: Task, result: unknown): void {
    this._markDead(task);
    task._result = result;
    const joiners = task._joiners;
    for (let i = 0; i < joiners.length; i++) {
      const j = joiners[i] as Task;
      if (j._state !== "dead") this._tryToWakeUp(j, result);
    }
    joiners.length = 0;
  }

  private _markDead(task: Task): void {
    task._state = "dead";
    task._endTime = this._now;
    task._wait = W_NONE;
    task._blockedSince = Number.NaN;
    task._waitChan = "";
    this._livePids.delete(task.pid);
    if (!task.daemon) this._liveNonDaemon--;
    if (this._tracing) {
      this.emit({ type: "task-exit", time: this._now, pid: task.pid, comm: task.comm });
    }
  }

  /** The body threw (or misbehaved): the task is dead and run() throws, naming the task. */
  private _taskFailed(task: Task, err: unknown): never {
    this._markDead(task);
    const where = `task ${task.comm}:${task.pid} at ${this._now} ns`;
    if (err instanceof Error) {
      if (!err.message.includes(`task ${task.comm}:${task.pid}`)) {
        err.message = `${err.message} (in ${where})`;
      }
      throw err;
    }
    throw new Error(`@mmlab/sched: ${where} threw ${describe(err)}`, { cause: err });
  }

  private _push(task: Task, time: number, priority: number): void {
    if (task._pending) {
      throw new Error(`@mmlab/sched: internal: task ${task.comm}:${task.pid} already has an event`);
    }
    task._pending = true;
    this._liveTaskEvents++;
    const seq = this._seq++;
    const tie =
      this._tiePrng === null
        ? seq
        : this._tiePrng.nextUint32() * RANDOM_TIE_SCALE + (seq & SEQ_LOW_MASK);
    this._heap.push(time, priority * PRIORITY_SCALE + tie, ++task._epoch, task);
  }

  private _cancel(task: Task): void {
    if (task._pending) {
      task._pending = false;
      task._epoch++;
      this._liveTaskEvents--;
    }
  }

  // ---------------------------------------------------------------- hung-task watchdog

  private _pushWatchdog(time: number): void {
    const seq = this._seq++;
    this._heap.push(time, NORMAL * PRIORITY_SCALE + seq, 0, null);
  }

  /** kernel/hung_task.c: watchdog() — v4.19: one iteration of khungtaskd's loop. */
  private _watchdogTick(): void {
    const wd = this._watchdog as HungTaskWatchdog;
    const found = wd.checkHungUninterruptibleTasks(this._now, this._tasks);
    if (this._tracing) {
      for (let i = 0; i < found.length; i++) {
        const r = found[i] as HungTaskReport;
        this.emit({
          type: "hung-task",
          time: r.time,
          pid: r.pid,
          comm: r.comm,
          blockedNs: r.blockedNs,
          message: r.message,
        });
      }
    }
    this._pushWatchdog(this._now + wd.intervalNs);
  }

  // ---------------------------------------------------------------- tracing

  /** Add a listener for every TraceEvent; returns its unsubscribe function. */
  subscribe(listener: (ev: TraceEvent) => void): () => void {
    if (typeof listener !== "function") {
      throw new TypeError("@mmlab/sched: subscribe(listener) needs a function");
    }
    this._listeners = this._listeners.concat([listener]);
    this._tracing = true;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const i = this._listeners.indexOf(listener);
      if (i >= 0) this._listeners = this._listeners.filter((_, j) => j !== i);
      this._tracing = this._listeners.length > 0;
    };
  }

  /** Publish an event to every listener (rwsem and mm-core use this). */
  emit(ev: TraceEvent): void {
    const ls = this._listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as (ev: TraceEvent) => void)(ev);
  }

  /** Begin a named span on the current task (pid 0 outside any task). */
  spanBegin(name: string, args?: Record<string, number | string>): void {
    if (!this._tracing) return;
    const pid = this._currentPid();
    this.emit(
      args === undefined
        ? { type: "span-begin", time: this._now, pid, name }
        : { type: "span-begin", time: this._now, pid, name, args },
    );
  }

  /** End a named span on the current task. */
  spanEnd(name: string): void {
    if (!this._tracing) return;
    this.emit({ type: "span-end", time: this._now, pid: this._currentPid(), name });
  }

  /** Emit an instant "mark" event on the current task. */
  mark(name: string, args?: Record<string, number | string>): void {
    if (!this._tracing) return;
    const pid = this._currentPid();
    this.emit(
      args === undefined
        ? { type: "mark", time: this._now, pid, name }
        : { type: "mark", time: this._now, pid, name, args },
    );
  }

  private _currentPid(): number {
    const t = running.task;
    return t !== null && t._sim === this ? t.pid : 0;
  }

  // ---------------------------------------------------------------- checks

  /** Throws an Error describing the first broken invariant of the scheduler state. */
  validate(): void {
    this._heap.validate();
    let pending = 0;
    let live = 0;
    for (const t of this._tasks) {
      if (t._pending) pending++;
      if (t._state !== "dead" && !t.daemon) live++;
      const blocked = t._wait !== W_NONE && t._wait !== W_SLEEP;
      if (blocked && t._pending) {
        throw new Error(`@mmlab/sched: blocked task ${t.comm}:${t.pid} has a pending event`);
      }
      if (t._state === "dead" && (t._pending || t._wait !== W_NONE)) {
        throw new Error(`@mmlab/sched: dead task ${t.comm}:${t.pid} still waits or has an event`);
      }
      if (Number.isNaN(t._blockedSince) !== (t._wait === W_NONE)) {
        throw new Error(
          `@mmlab/sched: task ${t.comm}:${t.pid} blockedSince disagrees with its wait`,
        );
      }
    }
    if (pending !== this._liveTaskEvents) {
      throw new Error(
        `@mmlab/sched: ${this._liveTaskEvents} live events counted, ${pending} found`,
      );
    }
    if (live !== this._liveNonDaemon) {
      throw new Error(`@mmlab/sched: ${this._liveNonDaemon} live tasks counted, ${live} found`);
    }
    const queued = this._cpuQueue.length - this._cpuQueueHead;
    if (queued > 0 && this._freeCpus !== 0) {
      throw new Error(
        `@mmlab/sched: ${queued} tasks wait for a CPU while ${this._freeCpus} are free`,
      );
    }
  }
}

function isSignalWakeable(w: number): boolean {
  return w === W_KILLABLE || w === W_INTERRUPTIBLE || w === W_SLEEP;
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object" && v !== null) {
    if (typeof (v as { next?: unknown }).next === "function") {
      return "a generator (did you mean yield*?)";
    }
    const name: unknown = v.constructor?.name;
    if (typeof name !== "string" || name === "") return "an object";
    return `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
  }
  return String(v);
}
