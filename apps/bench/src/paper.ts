/**
 * The patch series' published figures (Yang Shi, linux-mm 2018), on a 32-core Xeon
 * E5-2680 @ 2.70 GHz with 384 GB running v4.18:
 * - RFC v1 cover (2018-03-21): pristine SyS_munmap() of 80 / 160 / 320 GB took
 *   5.01 / 9.13 / 17.92 s, every page mapped.
 * - RFC v7 2/4 commit text (2018-08-10; the ftrace first posted with v6): with the patch,
 *   mmap_sem is held exclusively for about 8 us (ftrace of vm_munmap_zap_rlock(): entry at
 *   594.380138, unmap_region() entered at 594.380146) when unmapping 80 GB. Only 80 GB was
 *   traced; the exclusive part (lookup, split, detach) does not walk pages, so the same
 *   figure is shown for every size, marked as such.
 * - The same ftrace: unmap_region() of 80 GB took 2,485,684 us (funcgraph "!2485684 us").
 *
 * The e5-2680-v4.18 profile is CALIBRATED to two of these: its per-page costs are chosen so
 * that 320 GB takes 17.92 s, and its exclusive part sums to 8 us. Those rows agree by
 * construction; the 80 and 160 GB points and the ftrace's unmap_region() are independent.
 */
import { GiB } from "./params.js";

export const PAPER_CLASSIC_MUNMAP_NS: ReadonlyMap<number, number> = new Map([
  [80 * GiB, 5.01e9],
  [160 * GiB, 9.13e9],
  [320 * GiB, 17.92e9],
]);
export const PAPER_ZAP_RLOCK_EXCLUSIVE_NS = 8e3;
export const PAPER_ZAP_RLOCK_TRACED_SIZE = 80 * GiB;
/** RFC v7 2/4 ftrace: unmap_region() of 80 GB under the patch, 2,485,684 us. */
export const FTRACE_UNMAP_REGION_NS = 2_485_684e3;
export const FTRACE_UNMAP_REGION_SIZE = 80 * GiB;
/** The profile calibrated to the classic 320 GB figure and the 8 us exclusive hold. */
export const CALIBRATED_PROFILE = "e5-2680-v4.18";
export const CALIBRATION_SIZE = 320 * GiB;

/** Is this row's published figure one the profile was calibrated to (agreement by construction)? */
export function isCalibrationTarget(profile: string, strategy: string, sizeBytes: number): boolean {
  if (profile !== CALIBRATED_PROFILE) return false;
  if (strategy === "classic") return sizeBytes === CALIBRATION_SIZE;
  return strategy === "zapRlock";
}

/** The published figure for a sweep row, if the series has one. */
export function paperFigure(
  strategy: string,
  sizeBytes: number,
): { munmapNs?: number; exclusiveHoldNs?: number } | undefined {
  if (strategy === "classic") {
    const ns = PAPER_CLASSIC_MUNMAP_NS.get(sizeBytes);
    return ns === undefined ? undefined : { munmapNs: ns };
  }
  if (strategy === "zapRlock") return { exclusiveHoldNs: PAPER_ZAP_RLOCK_EXCLUSIVE_NS };
  return undefined;
}
