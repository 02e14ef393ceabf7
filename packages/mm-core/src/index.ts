export { anonVmaDescendsFrom, anonVmaFork, anonVmaParent, anonVmaRoot } from "./anon-vma.js";
export { checkDataRlimit, doBrkFlags, sysBrk } from "./brk.js";
export { charge, type Op } from "./charge.js";
export {
  ALIOS_V4_9_320G,
  COST_PROFILES,
  type CostModel,
  costProfile,
  E5_2680_V4_18,
  E5_2680_V4_18_V6RUN,
  perPageUnmapNs,
  registerCostProfile,
  zapCostNs,
} from "./cost-model.js";
export { COST_FIELDS, costModelFromJson, costModelToJson } from "./cost-profile-json.js";
export { doWpPage, wpPageCopy } from "./cow.js";
export {
  EBADF,
  ENODEV,
  EOPNOTSUPP,
  ETXTBSY,
  errnoName,
} from "./errno.js";
export { exitMmap, mmExited, mmExiting } from "./exit.js";
export {
  type ExploreFailure,
  type ExploreOptions,
  type ExploreResult,
  type ExploreScenario,
  explore,
  exploreScenario,
  exploreScenarios,
  formatExploreResult,
  type ReplaySpec,
  registerExploreScenario,
  replay,
  replayCommand,
  runSchedule,
  type ScenarioContext,
  type ScheduleOutcome,
  STACK_EXPANSION_SCENARIO,
  type ViolationKind,
} from "./explore.js";
export {
  accessError,
  doPageFault,
  expandDownwards,
  expandStack,
  FAULT_OOM,
  FAULT_SIGBUS,
  FAULT_SIGSEGV_ACCERR,
  FAULT_SIGSEGV_MAPERR,
  type FaultAccess,
  type FaultResult,
  type FaultSignal,
  findExtendVma,
  getUserPages,
  handleMmFault,
} from "./fault.js";
export {
  FdTable,
  type FileInode,
  FileRegistry,
  isRegularFile,
  type MappedFile,
  major,
  makedev,
  minor,
  NR_OPEN,
  type OpenFile,
} from "./file.js";
export {
  copyPageRange,
  dupMm,
  dupMmap,
  type ForkStats,
  forkStats,
  isCowMapping,
  sysFork,
} from "./fork.js";
export { uprobeRegister, vmaHasUprobes } from "./hooks.js";
export * from "./layout.js";
export { type LoadLayoutOptions, loadLayout } from "./load-layout.js";
export {
  MADV_COLD,
  MADV_COLLAPSE,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  sysMadvise,
  zapPageRange,
} from "./madvise.js";
export { applyVmaLockFlags, canDoMlock, mlockFixup, sysMlock, sysMunlock } from "./mlock.js";
export { sysMlockall, sysMunlockall } from "./mlockall.js";
export {
  type KernelGeneration,
  type MmOptions,
  MmStruct,
  type UserfaultfdHooks,
} from "./mm-struct.js";
export {
  accountableMapping,
  archGetUnmappedArea,
  archGetUnmappedAreaTopdown,
  calcVmFlagBits,
  calcVmProtBits,
  countVmaPagesRange,
  doMmap,
  getUnmappedArea,
  isErrValue,
  type MmapResult,
  mayExpandVm,
  mmapRegion,
  securityVmEnoughMemoryMm,
  sysMmap,
  thpGetUnmappedArea,
} from "./mmap.js";
export { mprotectFixup, sysMprotect } from "./mprotect.js";
export {
  copyVma,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  movePageTables,
  moveVma,
  sysMremap,
  vmaExpandable,
  vmaToResize,
} from "./mremap.js";
export {
  detachVmasToBeUnmapped,
  doMunmap,
  munlockRange,
  munmapLookupVma,
  munmapRangeOk,
  removeVmaList,
  unmapRegion,
  vmStatAccount,
} from "./munmap.js";
export {
  clearUserHighpage,
  copyUserHighpage,
  enablePageContents,
  type PageContents,
  pageContentsOf,
} from "./page-contents.js";
export { mmPopulate, populateVmaPageRange } from "./populate.js";
export {
  ELF_BRK_START,
  Process,
  type ProcessOptions,
  procPidCmdlineRead,
  VM_STACK_FLAGS,
} from "./process.js";
export { FORK_FAULT_SCENARIO } from "./scenarios/fork-fault.js";
export { CLASSIC, vmMunmap } from "./strategies/classic.js";
export { munmapStrategies, munmapStrategy, registerMunmapStrategy } from "./strategies/registry.js";
export type { DoMunmapFn, MunmapStrategy } from "./strategies/strategy.js";
export { __doMunmap, __vmMunmap, V4_20 } from "./strategies/v4-20.js";
export { __doMunmapV5_8, V5_8 } from "./strategies/v5-8.js";
export { doVmiMunmap, PER_VMA_LOCK } from "./strategies/v6-4.js";
export { V6_4_Y } from "./strategies/v6-4-y.js";
export { vmMunmapZapRlock, ZAP_RLOCK } from "./strategies/zap-rlock.js";
export { sysMunmap } from "./sys-munmap.js";
export {
  formatMapsEntry,
  type MapsEntry,
  MapsSyntaxError,
  mapsEntries,
  mapsEntryOf,
  parseProcPidMaps,
  procPidMaps,
} from "./task-mmu.js";
export {
  flushTlbMm,
  flushTlbPage,
  flushTlbRange,
  onTlbFlush,
  type TlbFlushListener,
} from "./tlb-flush.js";
export * from "./uapi.js";
export { MmInvariantError, validateMm } from "./validate.js";
export { validateMms } from "./validate-mms.js";
export {
  lockVmaUnderRcu,
  mmapWriteDowngrade,
  mmapWriteUnlock,
  mmHasVmaReaders,
  mmLockSeq,
  VmaLock,
  type VmaLockStats,
  vmaEndRead,
  vmaEndWriteAll,
  vmaIsWriteLocked,
  vmaLockOf,
  vmaLockStats,
  vmaMarkDetached,
  vmaStartRead,
  vmaStartWrite,
} from "./vma-lock.js";
