/**
 * What a task yields. An Instruction is an immutable request to the scheduler; the value the
 * `yield` evaluates to is what the scheduler resumes the task with. Because instructions are
 * immutable they may be hoisted and reused (`const tick = cpu(1000); for (;;) yield tick;`).
 */

/** @internal Instruction kinds. */
export const I_CPU = 0;
export const I_SLEEP = 1;
export const I_BLOCK = 2;

/**
 * @internal Wait kinds kept on a blocked task, as the kernel's task state bits:
 * UNINTERRUPTIBLE = TASK_UNINTERRUPTIBLE, KILLABLE = TASK_KILLABLE (UNINTERRUPTIBLE|WAKEKILL),
 * INTERRUPTIBLE = TASK_INTERRUPTIBLE, IDLE = TASK_IDLE (UNINTERRUPTIBLE|NOLOAD: shows as D but
 * the hung-task watchdog skips it, used by join()), SLEEP = an interruptible hrtimer sleep.
 */
export const W_NONE = 0;
export const W_UNINTERRUPTIBLE = 1;
export const W_KILLABLE = 2;
export const W_INTERRUPTIBLE = 3;
export const W_IDLE = 4;
export const W_SLEEP = 5;

export type WaitMode = "uninterruptible" | "killable" | "interruptible";

/** Marks instructions of every copy of this package (see current.ts), so another copy's Sim runs them. */
const BRAND = Symbol.for("@mmlab/sched.instruction");

export class Instruction {
  /** @internal I_CPU / I_SLEEP / I_BLOCK */
  readonly kind: number;
  /** @internal ns for cpu/sleep, 0 for block */
  readonly ns: number;
  /** @internal W_* for block, W_NONE otherwise */
  readonly wait: number;
  /** @internal wait channel for block */
  readonly waitChan: string;

  /** @internal use cpu(), sleep(), block() */
  constructor(kind: number, ns: number, wait: number, waitChan: string) {
    this.kind = kind;
    this.ns = ns;
    this.wait = wait;
    this.waitChan = waitChan;
  }
}
Object.defineProperty(Instruction.prototype, BRAND, { value: true });

/** @internal An Instruction of this copy or of another copy of @mmlab/sched in the program. */
export function isInstruction(x: unknown): x is Instruction {
  return (
    x instanceof Instruction ||
    (typeof x === "object" && x !== null && (x as { [BRAND]?: unknown })[BRAND] === true)
  );
}

function checkNs(fn: string, ns: number): void {
  if (typeof ns !== "number") {
    throw new TypeError(`@mmlab/sched: ${fn}(ns) needs a number of nanoseconds, got ${typeof ns}`);
  }
  if (!(ns >= 0) || ns === Number.POSITIVE_INFINITY) {
    throw new RangeError(`@mmlab/sched: ${fn}(ns) needs a finite ns >= 0, got ${ns}`);
  }
}

/**
 * Spend `ns` of CPU time (TASK_RUNNING). With `new Sim({ cpus: N })` the task first waits FIFO
 * for a CPU (state "runnable"), then holds it for `ns`. The yield evaluates to 0.
 */
export function cpu(ns: number): Instruction {
  checkNs("cpu", ns);
  return new Instruction(I_CPU, ns, W_NONE, "");
}

/**
 * Interruptible sleep (state "sleeping", 'S', wait channel "do_nanosleep"). The yield evaluates
 * to 0 when the time is up, or -EINTR early if the task is killed. Not ended by sim.wake(): like
 * do_nanosleep(), a spurious wake-up goes back to sleep.
 */
export function sleep(ns: number): Instruction {
  checkNs("sleep", ns);
  return new Instruction(I_SLEEP, ns, W_NONE, "do_nanosleep");
}

const BLOCK_U = new Instruction(I_BLOCK, 0, W_UNINTERRUPTIBLE, "");
const BLOCK_K = new Instruction(I_BLOCK, 0, W_KILLABLE, "");
const BLOCK_I = new Instruction(I_BLOCK, 0, W_INTERRUPTIBLE, "");
/** @internal join()'s wait: TASK_IDLE, as a parent sleeping in wait4() is not a hung task. */
export const BLOCK_IDLE_DO_WAIT = new Instruction(I_BLOCK, 0, W_IDLE, "do_wait");

/**
 * set_current_state(mode) + schedule(): the task stops until `sim.wake(task, value)`, and the
 * yield evaluates to that value. "uninterruptible" and "killable" show as state D,
 * "interruptible" as S. task.kill() wakes killable and interruptible blocks with -EINTR (at
 * once if a fatal signal is already pending). `waitChan` (e.g. "rwsem_down_read_failed") is
 * kept on the task while it is blocked, for reports.
 */
export function block(mode: WaitMode, waitChan?: string): Instruction {
  if (waitChan !== undefined && typeof waitChan !== "string") {
    throw new TypeError(`@mmlab/sched: block(mode, waitChan) needs a string waitChan`);
  }
  const chan = waitChan ?? "";
  switch (mode) {
    case "uninterruptible":
      return chan === "" ? BLOCK_U : new Instruction(I_BLOCK, 0, W_UNINTERRUPTIBLE, chan);
    case "killable":
      return chan === "" ? BLOCK_K : new Instruction(I_BLOCK, 0, W_KILLABLE, chan);
    case "interruptible":
      return chan === "" ? BLOCK_I : new Instruction(I_BLOCK, 0, W_INTERRUPTIBLE, chan);
    default:
      throw new TypeError(
        `@mmlab/sched: block(mode) needs "uninterruptible", "killable" or "interruptible", got ${String(mode)}`,
      );
  }
}
