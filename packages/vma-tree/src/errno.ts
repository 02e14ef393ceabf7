/**
 * Linux errno values (include/uapi/asm-generic/errno-base.h). Kernel-level operations in this
 * package return 0 / a value, or a NEGATIVE errno built from these positive constants.
 * vma-tree has no mmlab dependencies, so it keeps its own copy of the few it needs.
 */
export const ENOMEM = 12;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;

const NAMES: Readonly<Record<number, string>> = {
  [ENOMEM]: "ENOMEM",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [EINVAL]: "EINVAL",
};

/** errnoName(-12) === "ENOMEM" (the sign is ignored); unknown values give "E<n>". */
export function errnoName(err: number): string {
  const n = Math.abs(err);
  return NAMES[n] ?? `E${n}`;
}
