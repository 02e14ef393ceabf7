/** The errno values this package returns; Linux values, shared with @mmlab/sched. */
export { EINTR, errnoName } from "@mmlab/sched";
