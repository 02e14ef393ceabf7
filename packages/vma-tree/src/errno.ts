/**
 * Linux errno values (include/uapi/asm-generic/errno-base.h). Kernel-level operations in this
 * package return 0 / a value, or a NEGATIVE errno built from these positive constants.
 * vma-tree has no mmlab dependencies, so it keeps its own copy of the few it needs.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;

const NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM",
  [ENOENT]: "ENOENT",
  [EINTR]: "EINTR",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EFAULT]: "EFAULT",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [EINVAL]: "EINVAL",
};

/** errnoName(-12) === "ENOMEM" (the sign is ignored); unknown values give "E<n>". */
export function errnoName(err: number): string {
  const n = Math.abs(err);
  return NAMES[n] ?? `E${n}`;
}
