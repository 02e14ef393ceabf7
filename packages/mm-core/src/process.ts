/**
 * A process: a pid, a comm, its mm and the argument area that /proc/PID/cmdline reads;
 * its threads are sim tasks sharing the mm (CLONE_VM). The initial stack is laid out as
 * exec's setup_arg_pages() leaves it without randomisation (fs/exec.c — v4.19): a
 * VM_GROWSDOWN VMA of 132 KiB ending at STACK_TOP = TASK_SIZE, with argv in its top page.
 */
import type { Instruction, Sim, Task } from "@mmlab/sched";
import {
  VM_ACCOUNT,
  VM_GROWSDOWN,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_READ,
  VM_WRITE,
  Vma,
  vmFlagsOf,
} from "@mmlab/vma-tree";
import { charge, type Op } from "./charge.js";
import { getUserPages } from "./fault.js";
import { DEFAULT_MAP_WINDOW, PAGE_SIZE } from "./layout.js";
import type { LoadLayoutOptions } from "./load-layout.js";
import { type MmOptions, MmStruct } from "./mm-struct.js";
import { vmStatAccount } from "./munmap.js";
import type { MapsEntry } from "./task-mmu.js";

/** VM_STACK_FLAGS on x86_64: VM_GROWSDOWN | VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT. */
export const VM_STACK_FLAGS = vmFlagsOf(
  VM_GROWSDOWN,
  VM_READ,
  VM_WRITE,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_MAYEXEC,
  VM_ACCOUNT,
);
/**
 * The initial program break: fs/binfmt_elf.c load_elf_binary() maps a PIE at ELF_ET_DYN_BASE
 * (2/3 of TASK_SIZE, page aligned: 0x555555554000) when randomisation is off, and sets
 * start_brk = brk = the end of its bss. A small program (five pages of text, data and bss)
 * ends at 0x555555559000, where `setarch -R` shows a small program's [heap].
 */
export const ELF_BRK_START = 0x555555559000;
/** fs/exec.c: setup_arg_pages() grows the initial stack to 128 KiB + the argument page(s). */
const INITIAL_STACK = 132 * 1024;

export interface ProcessOptions extends MmOptions {
  pid?: number;
  comm: string;
  /** argv joined by NUL bytes, as /proc/PID/cmdline shows it; default: comm. */
  argv?: readonly string[];
  /**
   * A starting layout (parsed /proc/PID/maps lines) instead of the synthetic exec stack and
   * ELF_BRK_START: see MmStruct.loadLayout(). The argument area is not modelled then.
   */
  layout?: readonly MapsEntry[];
  layoutOptions?: LoadLayoutOptions;
}

export class Process {
  readonly sim: Sim;
  readonly pid: number;
  readonly comm: string;
  readonly mm: MmStruct;
  readonly threads: Task[] = [];
  private nextTid: number;

  constructor(sim: Sim, opts: ProcessOptions) {
    this.sim = sim;
    this.comm = opts.comm;
    this.pid = opts.pid ?? 1000 + sim.tasks.length;
    this.nextTid = this.pid;
    this.mm = new MmStruct(sim, opts);
    if (opts.layout !== undefined) {
      this.mm.loadLayout(opts.layout, opts.layoutOptions);
      return;
    }
    setupStack(this.mm, opts.argv ?? [opts.comm]);
    this.mm.startBrk = ELF_BRK_START;
    this.mm.brk = ELF_BRK_START;
  }

  /** Starts a thread of this process running `body` (clone(CLONE_VM)). Its tid follows the pid. */
  spawnThread<R>(comm: string, body: () => Generator<Instruction, R, unknown>): Task<R> {
    const task = this.sim.spawn(comm, body, { pid: this.nextTid++ });
    this.threads.push(task);
    return task;
  }
}

/** Lays out the initial stack VMA with the argument strings in its top page. */
function setupStack(mm: MmStruct, argv: readonly string[]): void {
  const stackTop = DEFAULT_MAP_WINDOW; // STACK_TOP = TASK_SIZE_LOW
  const start = stackTop - INITIAL_STACK;
  const vma = new Vma({
    vmStart: start,
    vmEnd: stackTop,
    vmFlags: VM_STACK_FLAGS,
    vmPgoff: start / PAGE_SIZE,
  });
  vma.anonVma = mm.newAnonVma();
  mm.tree.insert(vma);
  vmStatAccount(mm, vma.vmFlags, INITIAL_STACK / PAGE_SIZE);
  mm.committedVm += INITIAL_STACK / PAGE_SIZE;
  mm.cmdline = `${argv.join("\0")}\0`;
  // argv and envp strings sit at the very top, above the pointers and auxv.
  mm.argEnd = stackTop - 64;
  mm.argStart = mm.argEnd - mm.cmdline.length;
  mm.startStack = Math.floor(mm.argStart / 8) * 8 - 4096; // the initial %sp, below argv and auxv
  for (
    let page = Math.floor(mm.argStart / PAGE_SIZE) * PAGE_SIZE;
    page < stackTop;
    page += PAGE_SIZE
  ) {
    mm.pt.pteAlloc(page);
    mm.pt.mapAnonPage(page, true);
  }
}

/**
 * fs/proc/base.c: proc_pid_cmdline_read() — v4.19: the argument bounds are read under
 * mm->arg_lock (a spinlock since 4.18), then access_remote_vm() takes mmap_sem for read
 * (uninterruptibly: the D state of the hung-task report) and copies the pages with GUP.
 * Returns the text read, or "" when the pages could not be reached.
 */
export function* procPidCmdlineRead(proc: Process): Op<string> {
  const mm = proc.mm;
  yield* charge(mm.cost.syscall);
  if (mm.argEnd === 0) return "";
  const start = mm.argStart;
  const end = mm.argEnd;
  // __access_remote_vm()
  const first = Math.floor(start / PAGE_SIZE);
  const pages = Math.floor((end - 1) / PAGE_SIZE) - first + 1;
  yield* mm.mmapSem.downRead();
  let got: number;
  try {
    yield* charge(mm.cost.lockOp);
    got = yield* getUserPages(mm, start, pages, false);
    yield* charge(mm.cost.cmdlineRead);
  } finally {
    mm.mmapSem.upRead();
  }
  yield* charge(mm.cost.lockOp);
  return got === pages ? mm.cmdline : "";
}
