/**
 * `mmlab-bench history`: the default experiment under the munmap designs Linux went through,
 * side by side (issue 7). The runs are the default run's (runExperiment), one strategy at a
 * time in this process; only the table, the summary and the model line differ.
 *
 *   classic    v4.18 vm_munmap(): the whole munmap under the write lock
 *   zapRlock   the RFC (2018): detach, downgrade_write(), zap under the read lock
 *   v4.20      the merged form (dd2283f2605e): downgrade for every mapping
 *   v5.8       246c320a8cfe: no downgrade next to a VM_GROWSDOWN/VM_GROWSUP VMA
 *   perVmaLock v6.4: faults take the VMA's own lock and never touch mmap_sem
 */
import type { Colors } from "./colors.js";
import { MODEL_V4_18 } from "./context.js";
import { formatNs, formatRatio, group } from "./format.js";
import { RESULT_COLUMNS, renderResultColumns } from "./render-text.js";
import type { BenchResult } from "./types.js";

/** The five strategies, oldest design first. */
export const HISTORY_STRATEGIES = ["classic", "zapRlock", "v4.20", "v5.8", "perVmaLock"] as const;

/** BenchJson.context.model of a history run: the munmap path differs per result. */
export const HISTORY_MODEL = `${MODEL_V4_18}; munmap and fault locking per strategy (results[].kernel)`;

/** "71,485 of 71,489" faults that never touched mmap_sem; "–" without faulters. */
export function lockFreeFaultsText(r: BenchResult): string {
  const free = r.vmaLock?.lockFreeFaults ?? 0;
  const total = free + r.faultWait.count;
  return total === 0 ? "–" : `${group(free)} of ${group(total)}`;
}

/** One row per strategy: the figures the issue asks for, side by side. */
export function renderHistoryTable(results: readonly BenchResult[], c: Colors): string {
  const k = RESULT_COLUMNS;
  const lockFree = { head: "faults w/o mmap_sem", cell: lockFreeFaultsText };
  return renderResultColumns(
    results,
    [
      k.strategy,
      k.munmap,
      k.exclusiveHold,
      k.sharedHold,
      k.psWaitMax,
      k.faultWaitMax,
      lockFree,
      k.hungTasks,
    ],
    c,
  );
}

/** Which kernel each row models (the strategy's own citation). */
export function renderKernels(results: readonly BenchResult[], c: Colors): string {
  const width = Math.max(...results.map((r) => r.strategy.length));
  return [
    c.bold("Kernels"),
    ...results.map((r) => `  ${r.strategy.padEnd(width)}  ${c.dim(r.kernel)}`),
  ].join("\n");
}

/** Each strategy against the first (classic): exclusive hold, waits, lock-free faults. */
export function renderHistorySummary(results: readonly BenchResult[], c: Colors): string {
  const base = results[0];
  if (base === undefined) return "";
  const lines = [c.bold("Summary")];
  for (const r of results) {
    const parts: string[] = [];
    if (r === base) {
      parts.push(`holds mmap_sem exclusively ${formatNs(r.exclusiveHoldNs)}`);
    } else if (r.exclusiveHoldNs < base.exclusiveHoldNs) {
      parts.push(
        `holds mmap_sem exclusively ${c.green(formatRatio(base.exclusiveHoldNs, r.exclusiveHoldNs))} shorter than ${base.strategy} (${formatNs(r.exclusiveHoldNs)})`,
      );
    } else {
      parts.push(
        `holds mmap_sem exclusively as long as ${base.strategy} (${formatNs(r.exclusiveHoldNs)}: no downgrade)`,
      );
    }
    parts.push(
      `ps waited at most ${formatNs(r.psWait.max)} (${r.psWait.count} reads), faults on mmap_sem at most ${formatNs(r.faultWait.max)} (${r.faultWait.count} faults)`,
    );
    lines.push(`  ${r.strategy}: ${parts.join("; ")}`);
    if (r.vmaLock !== undefined) {
      const v = r.vmaLock;
      lines.push(
        `    ${group(v.lockFreeFaults)} faults under their VMA's own lock never touched mmap_sem (${v.aborts} fell back, ${v.retries} retried)`,
      );
      for (const t of v.tasks) {
        lines.push(
          `    ${t.comm}:${t.pid}: ${group(t.lockFreeFaults)} faults without mmap_sem, ${t.mmapSemAcquisitions} mmap_sem acquisition${t.mmapSemAcquisitions === 1 ? "" : "s"}`,
        );
      }
    }
  }
  return lines.join("\n");
}
