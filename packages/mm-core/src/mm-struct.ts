/**
 * struct mm_struct (include/linux/mm_types.h — v4.19): one process address space.
 *
 * It owns mmap_sem (an @mmlab/rwsem), the VMA tree (maple or rb), the page table with its
 * frame allocator, the counters of mm/mmap.c (total_vm, locked_vm, data/exec/stack_vm, the
 * rss counters, hiwater marks) and the limits (max_map_count, TASK_SIZE, mmap_base,
 * rlimits). Operations on it live beside it (mmap.ts, munmap.ts, fault.ts, ...), named after
 * their kernel functions, and run as generators inside sim tasks.
 */
import { PageTable, PhysMem, type SlabCache } from "@mmlab/page-table";
import { RwSemaphore, type RwsemGeneration } from "@mmlab/rwsem";
import type { Sim } from "@mmlab/sched";
import { type AnonVma, createVmaTree, type Vma, type VmaTree } from "@mmlab/vma-tree";
import { type CostModel, costProfile, E5_2680_V4_18 } from "./cost-model.js";
import { FdTable, type FileRegistry, type MappedFile, type OpenFile } from "./file.js";
import {
  DEFAULT_MAP_WINDOW,
  DEFAULT_MAX_MAP_COUNT,
  DEFAULT_RLIMITS,
  MMAP_MIN_ADDR,
  mmapBase,
  PAGE_SIZE,
  type Rlimits,
  STACK_GUARD_GAP,
  taskSizeMax,
} from "./layout.js";
import { type LoadLayoutOptions, loadLayout } from "./load-layout.js";
import { munmapStrategy } from "./strategies/registry.js";
import type { MunmapStrategy } from "./strategies/strategy.js";
import type { MapsEntry } from "./task-mmu.js";

/**
 * Which kernel's placement and layout rules apply: "v4.19" (the model's default, every
 * path of the munmap study), "v6.8" (the maple tree, mmap_min_addr as the top-down
 * search's floor, THP alignment of anonymous mappings of 2 MiB or more and of regular
 * files, MAP_STACK → VM_NOHUGEPAGE, no VM_DENYWRITE, no "below %sp" fault check) or
 * "v6.18" (v6.8 with the later THP rule: anonymous mappings aligned only when their length
 * is a multiple of 2 MiB and no hint was given; what a recording on this machine needs).
 * See README "Kernel generations".
 */
export type KernelGeneration = "v4.19" | "v6.8" | "v6.18";

export interface MmOptions {
  /** VMA tree implementation: "maple" (Linux 6.1+) or "rb" (Linux 4.x). Default "rb". */
  tree?: "maple" | "rb";
  /** Page-table levels: 4 (default) or 5 (LA57). */
  levels?: 4 | 5;
  /** A frame allocator to share with other address spaces; default: a new one. */
  phys?: PhysMem;
  /** Physical memory size when no `phys` is given (default: PhysMem's, 384 GiB). */
  physBytes?: number;
  /**
   * Where the page tables keep their entries (a SlabCache of @mmlab/page-table), to reuse
   * across address spaces that live one after another; default: the page table's own.
   */
  slabCache?: SlabCache;
  /** mmap_sem generation: "v4.18" (default) or "v5.3". */
  rwsem?: RwsemGeneration;
  /** Cost model or profile name; default "e5-2680-v4.18". */
  cost?: CostModel | string;
  /** munmap strategy (name or value); default "classic". */
  munmap?: MunmapStrategy | string;
  /** sysctl vm.max_map_count, default 65530. */
  maxMapCount?: number;
  rlimits?: Partial<Rlimits>;
  /** stack_guard_gap in bytes, default 256 pages. */
  stackGuardGap?: number;
  /** CAP_IPC_LOCK: mlock ignores RLIMIT_MEMLOCK. Default false. */
  capIpcLock?: boolean;
  /** Kernel generation for placement and layout rules; default "v4.19". */
  generation?: KernelGeneration;
  /**
   * sysctl vm.mmap_min_addr in bytes, default 65536 (Debian's CONFIG_DEFAULT_MMAP_MIN_ADDR);
   * many distributions (and the 6.18 development machine) use 4096.
   */
  mmapMinAddr?: number;
  /** The inode registry to share between processes; default: a new one per mm. */
  files?: FileRegistry;
}

let nextAnonVmaId = 1;

export class MmStruct {
  readonly sim: Sim;
  /** mm->mmap_sem. */
  readonly mmapSem: RwSemaphore;
  /** The VMA tree (mm->mm_rb / mm->mm_mt). */
  readonly tree: VmaTree;
  /** The page tables (mm->pgd and below). */
  readonly pt: PageTable;
  readonly phys: PhysMem;
  cost: CostModel;
  /** The munmap(2) path this address space uses unless a call names another. */
  munmapStrategy: MunmapStrategy;

  /** TASK_SIZE of this (64-bit) task. */
  readonly taskSize: number;
  /** mm->mmap_base: where the top-down allocator starts (no ASLR). */
  readonly mmapBase: number;
  /** mm->mmap_legacy_base: TASK_UNMAPPED_BASE for the bottom-up fallback. */
  readonly mmapLegacyBase: number;
  /** sysctl_max_map_count. */
  maxMapCount: number;
  readonly rlimits: Rlimits;
  readonly stackGuardGap: number;
  capIpcLock: boolean;
  readonly generation: KernelGeneration;
  /** sysctl vm.mmap_min_addr. */
  readonly mmapMinAddr: number;
  /** The fd table (current->files; one per mm here, as no CLONE_FILES split is modelled). */
  readonly fdTable: FdTable;

  /** Counters of mm/mmap.c, in pages. */
  totalVm = 0;
  lockedVm = 0;
  dataVm = 0;
  execVm = 0;
  stackVm = 0;
  /** Pages charged to the overcommit accounting by VM_ACCOUNT mappings. */
  committedVm = 0;
  hiwaterRss = 0;
  hiwaterVm = 0;
  /** mm->def_flags (VM_LOCKED after mlockall(MCL_FUTURE)). */
  defFlags = 0;

  /**
   * mm->start_brk and mm->brk: the heap (brk.ts). 0 until exec sets them; Process puts them
   * where a small PIE lands without ASLR (ELF_BRK_START).
   */
  startBrk = 0;
  brk = 0;

  /** mm->start_stack: the VMA holding it is [stack] in /proc/PID/maps. 0 until exec sets it. */
  startStack = 0;
  /** The gate VMA /proc/PID/maps ends with ([vsyscall] on x86_64), or null. */
  gateVma: MapsEntry | null = null;

  /** The argument area /proc/PID/cmdline reads (mm->arg_start / arg_end) and its text. */
  argStart = 0;
  argEnd = 0;
  cmdline = "";

  /** Files with uprobes registered: vma_has_uprobes() answers from here. */
  readonly uprobes = new Map<object, Array<{ offset: number }>>();
  /** userfaultfd contexts registered on this mm, by VMA ctx object. */
  userfaultfd: UserfaultfdHooks | null = null;

  constructor(sim: Sim, opts: MmOptions = {}) {
    this.sim = sim;
    const levels = opts.levels ?? 4;
    if (levels !== 4 && levels !== 5) {
      throw new RangeError(`@mmlab/mm-core: levels must be 4 or 5, got ${String(levels)}`);
    }
    this.cost =
      typeof opts.cost === "string" ? costProfile(opts.cost) : (opts.cost ?? E5_2680_V4_18);
    this.munmapStrategy = munmapStrategy(opts.munmap ?? "classic");
    this.mmapSem = new RwSemaphore(sim, { name: "mmap_sem", generation: opts.rwsem ?? "v4.18" });
    this.stackGuardGap = opts.stackGuardGap ?? STACK_GUARD_GAP;
    const generation = opts.generation ?? "v4.19";
    if (generation !== "v4.19" && generation !== "v6.8" && generation !== "v6.18") {
      throw new RangeError(
        `@mmlab/mm-core: generation must be "v4.19", "v6.8" or "v6.18", got ${String(generation)}`,
      );
    }
    this.generation = generation;
    const minAddr = opts.mmapMinAddr ?? MMAP_MIN_ADDR;
    if (!Number.isSafeInteger(minAddr) || minAddr < 0) {
      throw new RangeError(`@mmlab/mm-core: mmapMinAddr ${minAddr} is not a non-negative integer`);
    }
    // The kernel rounds the sysctl up to a page (mmap_min_addr_handler()).
    this.mmapMinAddr = Math.ceil(minAddr / PAGE_SIZE) * PAGE_SIZE;
    this.fdTable = new FdTable(opts.files);
    const tree = opts.tree ?? (generation === "v4.19" ? "rb" : "maple");
    this.tree = createVmaTree(tree, { stackGuardGap: this.stackGuardGap });
    this.phys =
      opts.phys ?? new PhysMem(opts.physBytes === undefined ? {} : { bytes: opts.physBytes });
    this.pt = new PageTable(
      this.phys,
      opts.slabCache === undefined ? { levels } : { levels, slabCache: opts.slabCache },
    );
    this.taskSize = taskSizeMax(levels);
    this.rlimits = { ...DEFAULT_RLIMITS, ...opts.rlimits };
    this.mmapBase = mmapBase(this.rlimits.stack, DEFAULT_MAP_WINDOW);
    this.mmapLegacyBase = Math.ceil(this.taskSize / 3 / PAGE_SIZE) * PAGE_SIZE;
    this.maxMapCount = opts.maxMapCount ?? DEFAULT_MAX_MAP_COUNT;
    this.capIpcLock = opts.capIpcLock ?? false;
  }

  /** mm->map_count. */
  get mapCount(): number {
    return this.tree.mapCount;
  }

  /** get_mm_rss(): file + anon + shmem pages mapped. */
  get rss(): number {
    const r = this.pt.rss;
    return r.file + r.anon + r.shmem;
  }

  /** anon_vma_prepare()'s allocation: a fresh anon_vma for a VMA's first write fault. */
  newAnonVma(): AnonVma {
    return { id: nextAnonVmaId++, degree: 1 };
  }

  /** update_hiwater_rss() (include/linux/mm.h — v4.19). */
  updateHiwaterRss(): void {
    const rss = this.rss;
    if (this.hiwaterRss < rss) this.hiwaterRss = rss;
  }

  /** update_hiwater_vm() (include/linux/mm.h — v4.19). */
  updateHiwaterVm(): void {
    if (this.hiwaterVm < this.totalVm) this.hiwaterVm = this.totalVm;
  }

  /**
   * An open() that returned `fd`: fd now names a new open file description of `file`.
   * Returns it (the struct file a mapping of this fd points to).
   */
  installFile(fd: number, file: OpenFile): MappedFile {
    return this.fdTable.install(fd, file);
  }

  /** dup2(oldfd, newfd): both name one open file description (mappings of both merge). 0 or -EBADF. */
  dupFd(oldfd: number, newfd: number): number {
    return this.fdTable.dup(oldfd, newfd);
  }

  /** close(fd): 0 or -EBADF. Existing mappings keep the file. */
  closeFd(fd: number): number {
    return this.fdTable.close(fd);
  }

  /** The open file description `fd` names, or null. */
  fileOf(fd: number): MappedFile | null {
    return this.fdTable.get(fd);
  }

  /**
   * Installs a starting layout from parsed /proc/PID/maps lines (see load-layout.ts): VMAs
   * without pages, counters, start_brk / brk / start_stack, the gate VMA. Fresh mm only.
   */
  loadLayout(entries: readonly MapsEntry[], opts?: LoadLayoutOptions): void {
    loadLayout(this, entries, opts);
  }

  /** The VMAs, ascending, as an array (for reports and tests). */
  vmas(): Vma[] {
    return [...this.tree];
  }
}

/** The userfaultfd hooks munmap calls (fs/userfaultfd.c — v4.19), for experiments. */
export interface UserfaultfdHooks {
  /** userfaultfd_unmap_prep(): may fail with a negative errno (-ENOMEM). */
  unmapPrep(vma: Vma, start: number, end: number): number;
  /** userfaultfd_unmap_complete(): runs after mmap_sem is released. */
  unmapComplete(start: number, end: number): void;
}
