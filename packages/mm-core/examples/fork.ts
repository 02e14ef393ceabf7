// fork(): copy-on-write sharing, a write that breaks it, the child's exit.
// Run with: node --conditions=@mmlab/source --import tsx examples/fork.ts
import * as mm from "@mmlab/mm-core";
import { Sim } from "@mmlab/sched";

const sim = new Sim({ seed: 1 });
const proc = new mm.Process(sim, { comm: "parent", cost: "e5-2680-v4.18" });
const parent = proc.mm;
const mem = mm.enablePageContents(parent.phys, 1); // one word of contents per page
const word = (m: mm.MmStruct, a: number) => mem.data[m.pt.followPage(a)];
const show = (what: string, m: mm.MmStruct, a: number) =>
  console.log(
    `${what.padEnd(22)} frame ${m.pt.followPage(a)}  mapcount ${parent.phys.mapcount(m.pt.followPage(a))}  word ${word(m, a)}  ${(m.pt.pteValue(a) & 2n) === 0n ? "read-only" : "writable"}`,
  );
proc.spawnThread("main", function* () {
  const flags = mm.MAP_PRIVATE | mm.MAP_ANONYMOUS | mm.MAP_POPULATE;
  const a = yield* mm.sysMmap(parent, 0, 64 * 4096, mm.PROT_READ | mm.PROT_WRITE, flags);
  mem.data[parent.pt.followPage(a)] = 42; // the parent stores 42 in its first page
  const t0 = sim.now;
  const child = yield* mm.sysFork(parent);
  if (typeof child === "number") throw new Error(`fork: ${child}`);
  console.log(
    `fork took ${sim.now - t0} ns of virtual time; child rss ${child.rss} pages, ${child.mapCount} VMAs, stats`,
    mm.forkStats(child),
  );
  show("parent after fork", parent, a);
  show("child after fork", child, a);
  yield* mm.doPageFault(parent, a, { write: true }); // the parent writes: wp_page_copy
  mem.data[parent.pt.followPage(a)] = 43;
  show("parent after its write", parent, a);
  show("child", child, a);
  mm.validateMms([parent, child]);
  const before = parent.phys.counts().anon;
  yield* mm.exitMmap(child);
  mm.validateMms([parent, child]);
  console.log(`child exited: anon frames ${before} -> ${parent.phys.counts().anon}`);
  show("parent", parent, a + 4096);
});
sim.run();
