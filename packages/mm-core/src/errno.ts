/** Linux errno values, shared with @mmlab/sched so every package speaks the same numbers. */
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
  errnoName,
} from "@mmlab/sched";
