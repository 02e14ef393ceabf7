/** Linux errno values, shared with @mmlab/sched so every package speaks the same numbers. */
import { errnoName as schedErrnoName } from "@mmlab/sched";

export {
  EACCES,
  EAGAIN,
  EBUSY,
  EEXIST,
  EFAULT,
  EINTR,
  EINVAL,
  ENOMEM,
  ENOSPC,
  EOVERFLOW,
  EPERM,
} from "@mmlab/sched";

/** The errnos of the file-mapping paths that @mmlab/sched does not define (asm-generic/errno-base.h). */
export const EBADF = 9;
export const ENODEV = 19;
export const ETXTBSY = 26;
export const EOPNOTSUPP = 95;

const EXTRA: ReadonlyMap<number, string> = new Map([
  [EBADF, "EBADF"],
  [ENODEV, "ENODEV"],
  [ETXTBSY, "ETXTBSY"],
  [EOPNOTSUPP, "EOPNOTSUPP"],
]);

/** The symbolic name of an errno, sign ignored: `errnoName(-9) === "EBADF"`; unknown: `"E?123"`. */
export function errnoName(err: number): string {
  return EXTRA.get(Math.abs(err)) ?? schedErrnoName(err);
}
