export { charge, type Op } from "./charge.js";
export {
  ALIOS_V4_9_320G,
  COST_PROFILES,
  type CostModel,
  costProfile,
  E5_2680_V4_18,
  E5_2680_V4_18_V6RUN,
  perPageUnmapNs,
  zapCostNs,
} from "./cost-model.js";
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
export { uprobeRegister, vmaHasUprobes } from "./hooks.js";
export * from "./layout.js";
export { applyVmaLockFlags, canDoMlock, mlockFixup, sysMlock, sysMunlock } from "./mlock.js";
export { type MmOptions, MmStruct, type UserfaultfdHooks } from "./mm-struct.js";
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
} from "./mmap.js";
export { mprotectFixup, sysMprotect } from "./mprotect.js";
export {
  detachVmasToBeUnmapped,
  munlockRange,
  munmapLookupVma,
  munmapRangeOk,
  removeVmaList,
  unmapRegion,
  vmStatAccount,
} from "./munmap.js";
export {
  CLASSIC,
  doMunmap,
  type MunmapStrategy,
  munmapStrategies,
  munmapStrategy,
  registerMunmapStrategy,
  sysMunmap,
  vmMunmap,
  vmMunmapZapRlock,
  ZAP_RLOCK,
} from "./munmap-strategy.js";
export { mmPopulate } from "./populate.js";
export { Process, type ProcessOptions, procPidCmdlineRead, VM_STACK_FLAGS } from "./process.js";
export * from "./uapi.js";
export { MmInvariantError, validateMm } from "./validate.js";
