import type { Task } from "./task.js";

/**
 * Bump when Task, Sim or Instruction internals change in a way an older copy of this package
 * could not drive: two copies with different layouts refuse to share one program.
 */
export const SHARED_LAYOUT = 1;

/** The per-program state every copy of @mmlab/sched shares. */
interface Shared {
  layout: number;
  /** where the first copy was loaded from (its module URL), for the error message */
  where: string;
  /** the task whose body is executing right now (the kernel's `current`) */
  running: { task: Task | null };
}

const KEY = Symbol.for("@mmlab/sched");

/**
 * One program can load @mmlab/sched twice: its ESM and its CJS build (an ESM app with a CJS
 * library), or a copy nested under another package. The running task lives on globalThis under
 * a Symbol.for key, so every copy sees the same `current`; a copy with another internal layout
 * fails here, at load, naming both copies.
 */
function sharedState(where: string): Shared {
  const g = globalThis as { [KEY]?: Shared };
  const found = g[KEY];
  if (found === undefined) {
    const shared: Shared = { layout: SHARED_LAYOUT, where, running: { task: null } };
    Object.defineProperty(g, KEY, { value: shared, enumerable: false });
    return shared;
  }
  if (found.layout !== SHARED_LAYOUT) {
    throw new Error(
      `@mmlab/sched: two incompatible copies in one program: ${found.where} (layout ${found.layout}) and ${where} (layout ${SHARED_LAYOUT}); install one copy of @mmlab/sched (npm ls @mmlab/sched)`,
    );
  }
  return found;
}

/** @internal The task whose body is executing right now, shared by every copy. */
export const running: { task: Task | null } = sharedState(
  // the CJS build has __filename (and no import.meta); the ESM build has import.meta.url
  typeof __filename === "string" ? __filename : String(import.meta.url),
).running;

/** The running task (the kernel's `current`); throws when called outside a task body. */
export function current(): Task {
  const task = running.task;
  if (task === null) {
    throw new Error("@mmlab/sched: current() called outside a task (no task body is executing)");
  }
  return task;
}
