/**
 * The user-space ABI of the system calls mm-core models, with Linux's values
 * (include/uapi/asm-generic/mman-common.h, mman.h, x86 mman.h — v4.19).
 */

export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;

export const MLOCK_ONFAULT = 0x01;
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;

/** Signals a page fault can end in (asm-generic/signal.h). */
export const SIGBUS = 7;
export const SIGSEGV = 11;
/** si_code values for SIGSEGV (uapi/asm-generic/siginfo.h). */
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
