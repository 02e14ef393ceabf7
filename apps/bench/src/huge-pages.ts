/**
 * Transparent huge pages for the simulation's large arrays (host side, not the model).
 *
 * The 320 GB run writes about 880 MiB of typed arrays (PhysMem's per-frame arrays, the page
 * tables' slabs). In 4 KiB pages that is ~230,000 first-touch faults and as many TLB misses
 * later; in 2 MiB pages, a few thousand. Most kernels (Debian's included) give huge pages
 * only to memory a process marks with madvise(MADV_HUGEPAGE) ("madvise" in
 * /sys/kernel/mm/transparent_hugepage/enabled), and Node cannot call madvise; but glibc
 * (2.35+) does it for its own large allocations when started with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1, and that is where V8 puts ArrayBuffers. The tunable
 * is read once at startup, so the CLI runs itself again with it set, once.
 *
 * Nothing the simulation computes depends on it. Only the commands that build large address
 * spaces in this process do it (the default run, history, sweep, hung-task), not long-lived
 * ones (a queue worker must get its signals itself). Skipped when THP is "always" (not
 * needed) or "never" (useless), off Linux, when GLIBC_TUNABLES is already set, or with
 * MMLAB_BENCH_THP=0.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TUNABLE = "glibc.malloc.hugetlb=1";
/** Commands that map hundreds of GB in this process (undefined: the default run). */
const BIG_COMMANDS = new Set([undefined, "history", "sweep", "hung-task"]);

/** The kernel's THP mode ("always", "madvise", "never"), or null if unknown. */
function thpMode(): string | null {
  try {
    const s = readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8");
    return /\[(\w+)\]/.exec(s)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Runs this CLI again with huge pages asked of glibc and returns its exit code, or null when
 * the current process should just go on (not needed, not possible, or the child could not
 * start).
 */
export function rerunWithHugePages(): number | null {
  const env = process.env;
  if (process.platform !== "linux" || env.MMLAB_BENCH_THP === "0") return null;
  const first = process.argv[2];
  if (!BIG_COMMANDS.has(first === undefined || first.startsWith("-") ? undefined : first)) {
    return null;
  }
  if (env.GLIBC_TUNABLES !== undefined || thpMode() !== "madvise") return null;
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...env, GLIBC_TUNABLES: TUNABLE },
  });
  if (r.error !== undefined) return null;
  if (r.signal !== null) process.kill(process.pid, r.signal);
  return r.status ?? 1;
}
