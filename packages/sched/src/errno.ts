/**
 * Linux errno values (include/uapi/asm-generic/errno-base.h and errno.h), as positive constants.
 * Kernel-level functions in mmlab return 0, a value, or a NEGATIVE errno (`return -EINTR`).
 */
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const EOVERFLOW = 75;

const NAMES: ReadonlyMap<number, string> = new Map([
  [EPERM, "EPERM"],
  [ENOENT, "ENOENT"],
  [ESRCH, "ESRCH"],
  [EINTR, "EINTR"],
  [EAGAIN, "EAGAIN"],
  [ENOMEM, "ENOMEM"],
  [EACCES, "EACCES"],
  [EFAULT, "EFAULT"],
  [EBUSY, "EBUSY"],
  [EEXIST, "EEXIST"],
  [EINVAL, "EINVAL"],
  [ENOSPC, "ENOSPC"],
  [EOVERFLOW, "EOVERFLOW"],
]);

/** The symbolic name of an errno, sign ignored: `errnoName(-4) === "EINTR"`; unknown: `"E?123"`. */
export function errnoName(err: number): string {
  const e = Math.abs(err);
  return NAMES.get(e) ?? `E?${e}`;
}
