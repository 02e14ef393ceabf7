/**
 * The hung-task watchdog, khungtaskd (kernel/hung_task.c — v4.19). Internal to the Sim: no Task,
 * and its ticks never keep run() alive by themselves.
 *
 * Every check interval (sysctl_hung_task_check_interval_secs, 0 = the timeout, never more than
 * the timeout) it looks at every task whose state is EXACTLY TASK_UNINTERRUPTIBLE ("use == to
 * skip the TASK_KILLABLE tasks waiting on NFS"; TASK_IDLE is skipped the same way), and:
 *
 *   switch_count == 0                      -> skip (never switched out)
 *   switch_count != last_switch_count      -> remember it and last_switch_time = now; skip
 *   now < last_switch_time + timeout       -> skip
 *   otherwise                              -> hung: "INFO: task comm:pid blocked for more than
 *                                             N seconds.", while hung_task_warnings lasts
 *                                             (decremented if > 0; -1 = unlimited; 0 = silent)
 *
 * last_switch_time is the time of the CHECK that first saw the new switch count, so a task is
 * reported between timeout and timeout + interval after it blocked. v4.19 repeats the report at
 * every check for as long as the task stays blocked (until the warnings run out); the mmlab
 * contract reports once per blocking episode, which is the default here (reportOncePerEpisode).
 */
import { W_UNINTERRUPTIBLE } from "./instruction.js";
import type { Task } from "./task.js";

export interface HungTaskReport {
  time: number;
  pid: number;
  comm: string;
  /** How long the task had been blocked at the report (now - blockedSince). */
  blockedNs: number;
  /** "INFO: task ps:14018 blocked for more than 120 seconds." */
  message: string;
}

export class HungTaskWatchdog {
  /** sysctl_hung_task_timeout_secs, in ns; 0 = off */
  readonly timeoutNs: number;
  /** the effective check interval: min(interval || timeout, timeout) */
  readonly intervalNs: number;
  /** sysctl_hung_task_warnings: reports left; -1 = unlimited */
  warnings: number;
  readonly reportOncePerEpisode: boolean;
  readonly reports: HungTaskReport[];

  constructor(timeoutNs: number, intervalNs: number, warnings: number, once: boolean) {
    this.timeoutNs = timeoutNs;
    this.intervalNs = Math.min(intervalNs === 0 ? timeoutNs : intervalNs, timeoutNs);
    this.warnings = warnings;
    this.reportOncePerEpisode = once;
    this.reports = [];
  }

  /** kernel/hung_task.c: check_hung_uninterruptible_tasks() — v4.19. Returns new reports. */
  checkHungUninterruptibleTasks(now: number, tasks: readonly Task[]): HungTaskReport[] {
    const found: HungTaskReport[] = [];
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i] as Task;
      // use "==": TASK_KILLABLE and TASK_IDLE waits are not TASK_UNINTERRUPTIBLE
      if (t._wait === W_UNINTERRUPTIBLE) {
        const report = this.checkHungTask(t, now);
        if (report !== null) found.push(report);
      }
    }
    return found;
  }

  /** kernel/hung_task.c: check_hung_task() — v4.19. A report, or null. */
  checkHungTask(t: Task, now: number): HungTaskReport | null {
    const switchCount = t._switchCount;
    // A task that never switched out must not be checked.
    if (switchCount === 0) return null;
    if (switchCount !== t._lastSwitchCount) {
      t._lastSwitchCount = switchCount;
      t._lastSwitchTime = now;
      return null;
    }
    // time_is_after_jiffies(last_switch_time + timeout): not yet
    if (t._lastSwitchTime + this.timeoutNs > now) return null;
    if (this.warnings === 0) return null;
    if (this.reportOncePerEpisode && t._hungReportedSwitchCount === switchCount) return null;
    if (this.warnings > 0) this.warnings--;
    t._hungReportedSwitchCount = switchCount;
    const report: HungTaskReport = {
      time: now,
      pid: t.pid,
      comm: t.comm,
      blockedNs: now - t._blockedSince,
      message: `INFO: task ${t.comm}:${t.pid} blocked for more than ${this.timeoutNs / 1e9} seconds.`,
    };
    this.reports.push(report);
    return report;
  }
}
