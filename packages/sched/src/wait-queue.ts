/**
 * A FIFO wait queue (include/linux/wait.h, kernel/sched/wait.c — v4.19) of exclusive waiters:
 *
 *   head ─> [task A] [task B] [task C] <─ tail        wakeOne(): A; wakeAll(): A, B, C in order
 *
 * `const v = yield* wq.wait("killable")` queues the current task at the tail and blocks it with
 * waitChan = the queue's name; it returns the value given to wakeOne/wakeAll, or -EINTR if the
 * task was killed (then it has removed itself, like finish_wait()). A task with a fatal signal
 * pending does not wait killably at all (prepare_to_wait_event() sees the signal).
 *
 * Invariant (validate()): every queued task is alive, belongs to this queue's Sim and records
 * this queue as the one it waits on.
 */
import { current } from "./current.js";
import { EINTR } from "./errno.js";
import { block, type Instruction, type WaitMode } from "./instruction.js";
import type { Sim } from "./sim.js";
import type { Task } from "./task.js";

export class WaitQueue {
  readonly sim: Sim;
  readonly name: string;
  private readonly _waiters: (Task | null)[];
  private _head: number;
  private readonly _blockU: Instruction;
  private readonly _blockK: Instruction;
  private readonly _blockI: Instruction;

  constructor(sim: Sim, name: string) {
    if (typeof name !== "string") {
      throw new TypeError("@mmlab/sched: new WaitQueue(sim, name) needs a string name");
    }
    this.sim = sim;
    this.name = name;
    this._waiters = [];
    this._head = 0;
    this._blockU = block("uninterruptible", name);
    this._blockK = block("killable", name);
    this._blockI = block("interruptible", name);
  }

  /** Tasks waiting. */
  get length(): number {
    return this._waiters.length - this._head;
  }

  /** Queued tasks, head first. */
  waiters(): Task[] {
    const out: Task[] = [];
    for (let i = this._head; i < this._waiters.length; i++) {
      const t = this._waiters[i];
      if (t) out.push(t);
    }
    return out;
  }

  /**
   * kernel/sched/wait.c: prepare_to_wait_exclusive() + schedule() + finish_wait() — v4.19.
   * Resolves to the wake-up value, or -EINTR when killed (killable/interruptible only).
   */
  *wait(mode: WaitMode = "uninterruptible"): Generator<Instruction, unknown, unknown> {
    const task = current();
    if (task.sim !== this.sim) {
      throw new TypeError(
        `@mmlab/sched: task ${task.comm}:${task.pid} waits on a WaitQueue of another Sim`,
      );
    }
    const ins =
      mode === "uninterruptible"
        ? this._blockU
        : mode === "killable"
          ? this._blockK
          : mode === "interruptible"
            ? this._blockI
            : block(mode, this.name); // throws the TypeError for a bad mode
    if (mode !== "uninterruptible" && task.fatalSignalPending) return -EINTR;
    this._waiters.push(task);
    task._waitQueue = this;
    const value = yield ins;
    if (task._waitQueue === this) {
      // Woken by a signal, not by us: still queued.
      task._waitQueue = null;
      this._remove(task);
    }
    return value;
  }

  /** kernel/sched/wait.c: __wake_up(wq, mode, 1) — v4.19. Wakes the head waiter; false if none. */
  wakeOne(value?: unknown): boolean {
    const q = this._waiters;
    while (this._head < q.length) {
      const t = q[this._head] as Task | null;
      q[this._head] = null;
      this._head++;
      if (t === null) continue;
      t._waitQueue = null;
      // A waiter already woken by a signal is skipped, as try_to_wake_up() returning 0 is.
      if (t.state !== "dead" && this.sim.wake(t, value)) {
        this._compact();
        return true;
      }
    }
    this._compact();
    return false;
  }

  /** kernel/sched/wait.c: __wake_up(wq, mode, 0) — v4.19. Wakes every waiter; returns how many. */
  wakeAll(value?: unknown): number {
    let n = 0;
    while (this.wakeOne(value)) n++;
    return n;
  }

  private _remove(task: Task): void {
    const q = this._waiters;
    for (let i = this._head; i < q.length; i++) {
      if (q[i] === task) {
        q.splice(i, 1);
        break;
      }
    }
    this._compact();
  }

  private _compact(): void {
    const q = this._waiters;
    if (this._head === q.length) {
      q.length = 0;
      this._head = 0;
    } else if (this._head > 64 && this._head * 2 > q.length) {
      q.splice(0, this._head);
      this._head = 0;
    }
  }

  /** Throws an Error describing the first broken invariant. */
  validate(): void {
    for (let i = this._head; i < this._waiters.length; i++) {
      const t = this._waiters[i];
      if (!t) throw new Error(`@mmlab/sched: WaitQueue ${this.name}: hole at ${i}`);
      if (t.state === "dead") throw new Error(`@mmlab/sched: WaitQueue ${this.name}: dead ${t}`);
      if (t._waitQueue !== this) {
        throw new Error(`@mmlab/sched: WaitQueue ${this.name}: ${t} does not point back`);
      }
    }
  }
}
