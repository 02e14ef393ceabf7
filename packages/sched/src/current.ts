import type { Task } from "./task.js";

/** @internal The task whose body is executing right now (the kernel's `current`). */
export const running: { task: Task | null } = { task: null };

/** The running task (the kernel's `current`); throws when called outside a task body. */
export function current(): Task {
  const task = running.task;
  if (task === null) {
    throw new Error("@mmlab/sched: current() called outside a task (no task body is executing)");
  }
  return task;
}
