// The README's example: pnpm exec tsx packages/page-table/bench/example.ts
import { freePgtables, MmuGather, PageTable, PhysMem, ZapCursor } from "../src/index.js";

const phys = new PhysMem({ bytes: 1 << 30 }); // 1 GiB of RAM
const pt = new PageTable(phys);
const rw = { write: true, exec: false, dirty: true };

// an 8 MiB anonymous mapping at 0x7f0000000000: three 4 KiB pages and one 2 MiB THP
pt.mapAnonPage(0x7f0000000000, true);
pt.populateRange(0x7f0000001000, 0x7f0000003000, rw);
pt.mapHugePmd(0x7f0000200000, rw);
// a neighbouring mapping 8 MiB up, which shares the PMD table
pt.mapAnonPage(0x7f0000800000, true);

console.log(pt.ptdump(0x7f0000000000, 0x7f0000a00000));
console.log(
  "pte:",
  `0x${pt.pteValue(0x7f0000001000).toString(16)}`,
  "pmd leaf:",
  `0x${pt.pteValue(0x7f0000200000).toString(16)}`,
);
console.log(
  "rss",
  pt.rss,
  "nr_ptes",
  pt.nrPtes,
  "nr_pmds",
  pt.nrPmds,
  "pgtables_bytes",
  pt.pgtablesBytes,
);

// munmap [0x7f0000000000, 0x7f0000800000): zap, then free_pgtables between floor and ceiling
const start = 0x7f0000000000;
const end = 0x7f0000800000;
pt.setFreeContext("munmap example");
const ref = pt.tableRef(0x7f0000001000, "pte"); // as a fault that yielded would hold
const tlb = new MmuGather(pt);
tlb.tlbGatherMmu(start, end);
const cursor = new ZapCursor(tlb, start, end);
const steps: number[] = [];
for (let n = cursor.step(); n >= 0; n = cursor.step()) steps.push(n);
console.log("entries cleared per cond_resched step:", steps.join(" "));
freePgtables(tlb, [{ vmStart: start, vmEnd: end }], 0, 0x7f0000800000);
tlb.tlbFinishMmu(start, end);
console.log(tlb.stats);
console.log("nr_ptes", pt.nrPtes, "nr_pmds", pt.nrPmds, "frames", phys.counts());
try {
  pt.checkRef(ref);
} catch (e) {
  console.log((e as Error).message);
}
pt.validate();
