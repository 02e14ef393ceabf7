/**
 * Linux errno values (include/uapi/asm-generic/errno-base.h), positive constants.
 * Kernel-level operations of this package return 0 / a value, or `-EXXX`.
 * page-table depends on no other mmlab package, so it keeps its own copy.
 */
export const ENOENT = 2;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EEXIST = 17;
export const EINVAL = 22;

const NAMES: Readonly<Record<number, string>> = {
  [ENOENT]: "ENOENT",
  [ENOMEM]: "ENOMEM",
  [EFAULT]: "EFAULT",
  [EEXIST]: "EEXIST",
  [EINVAL]: "EINVAL",
};

/** errnoName(-12) === "ENOMEM" (the sign is ignored); unknown values print as "E<n>". */
export function errnoName(err: number): string {
  const n = Math.abs(err);
  return NAMES[n] ?? `E${n}`;
}
