/**
 * Trace events: one hook per Sim (sim.subscribe), guarded by sim.tracing so that nobody builds
 * an event object when nobody listens. Exporters (Perfetto, Chrome JSON) belong to the bench;
 * this package ships the in-memory TraceRecorder.
 */
import { current } from "./current.js";
import type { Instruction } from "./instruction.js";
import type { Sim } from "./sim.js";

type Args = Record<string, number | string>;
type LockMode = "read" | "write";

export type TraceEvent =
  | { type: "task-start"; time: number; pid: number; comm: string }
  | { type: "task-exit"; time: number; pid: number; comm: string }
  | { type: "span-begin"; time: number; pid: number; name: string; args?: Args }
  | { type: "span-end"; time: number; pid: number; name: string }
  | { type: "lock-wait"; time: number; pid: number; lock: string; mode: LockMode }
  | {
      type: "lock-acquire";
      time: number;
      pid: number;
      lock: string;
      mode: LockMode;
      waitNs: number;
    }
  | {
      type: "lock-release";
      time: number;
      pid: number;
      lock: string;
      mode: LockMode;
      holdNs: number;
    }
  | { type: "lock-downgrade"; time: number; pid: number; lock: string; holdNs: number }
  | { type: "lock-abort"; time: number; pid: number; lock: string; mode: LockMode; waitNs: number }
  | {
      type: "hung-task";
      time: number;
      pid: number;
      comm: string;
      blockedNs: number;
      message: string;
    }
  | { type: "mark"; time: number; pid: number; name: string; args?: Args };

/** Records every event of a Sim in memory, in emission order, until stop(). */
export class TraceRecorder {
  readonly events: TraceEvent[];
  private readonly unsubscribe: () => void;

  constructor(sim: Sim) {
    const events: TraceEvent[] = [];
    this.events = events;
    this.unsubscribe = sim.subscribe((ev) => {
      events.push(ev);
    });
  }

  /** Unsubscribe; the events recorded so far stay. Idempotent. */
  stop(): void {
    this.unsubscribe();
  }
}

/**
 * `yield* traced("zap_pte_range", body)`: spanBegin(name) before body, spanEnd(name) after it,
 * also when it throws. Must run inside a task.
 */
export function* traced<R>(
  name: string,
  body: Generator<Instruction, R, unknown>,
): Generator<Instruction, R, unknown> {
  const sim = current().sim;
  sim.spanBegin(name);
  try {
    return yield* body;
  } finally {
    sim.spanEnd(name);
  }
}
