/**
 * Random process trees: fork, write, read, mmap, munmap and exit in any order, against a simple
 * oracle (each process's own copy of what it wrote, copied at fork). After every operation:
 * validateMms over every mm (mapcount = PTEs over all live mms, refcount = mapcount, no frame
 * leaked or lost, PhysMem's own invariants), and every mapped page of every live process reads
 * what that process last wrote there. At the end every process exits and nothing is left but
 * the zero page.
 */
import { PhysMem } from "@mmlab/page-table";
import { Sim } from "@mmlab/sched";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exitMmap, mmExited } from "./exit.js";
import { doPageFault } from "./fault.js";
import { sysFork } from "./fork.js";
import { PAGE_SIZE } from "./layout.js";
import { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { enablePageContents } from "./page-contents.js";
import { sysMunmap } from "./sys-munmap.js";
import { FREE, MiB, runOp } from "./test-utils.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "./uapi.js";
import { validateMms } from "./validate-mms.js";

const P = PAGE_SIZE;
/** The window: 1024 pages crossing a PMD boundary. */
const W = 0x600000000 - 512 * P;
const WINDOW = 1024;

type Op =
  | { k: "fork"; who: number }
  | { k: "exit"; who: number }
  | { k: "write"; who: number; page: number }
  | { k: "read"; who: number; page: number }
  | { k: "mmap"; who: number; page: number; pages: number; populate: boolean }
  | { k: "munmap"; who: number; page: number; pages: number };

const who = fc.integer({ min: 0, max: 7 });
const page = fc.integer({ min: 0, max: WINDOW - 1 });
const pages = fc.integer({ min: 1, max: 600 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("fork" as const), who }),
  fc.record({ k: fc.constant("exit" as const), who }),
  { arbitrary: fc.record({ k: fc.constant("write" as const), who, page }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant("read" as const), who, page }), weight: 2 },
  fc.record({ k: fc.constant("mmap" as const), who, page, pages, populate: fc.boolean() }),
  fc.record({ k: fc.constant("munmap" as const), who, page, pages }),
);

/** One process of the tree and the oracle of its contents (page address -> word 0). */
interface Proc {
  mm: MmStruct;
  words: Map<number, number>;
}

function run(ops: Op[]): void {
  const sim = new Sim({ hungTaskTimeoutNs: 0 });
  const phys = new PhysMem({ bytes: 32 * MiB });
  const contents = enablePageContents(phys, 1);
  const first = new MmStruct(sim, { phys, cost: FREE });
  const procs: Proc[] = [{ mm: first, words: new Map() }];
  expect(
    runOp(sim, () =>
      sysMmap(
        first,
        W,
        WINDOW * P,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      ),
    ),
  ).toBe(W);
  let value = 1;
  const live = (): Proc[] => procs.filter((p) => !mmExited(p.mm));
  for (const o of ops) {
    const alive = live();
    if (alive.length === 0) break;
    const p = alive[o.who % alive.length] as Proc;
    const mm = p.mm;
    const addr = W + ("page" in o ? o.page : 0) * P;
    switch (o.k) {
      case "fork": {
        const child = runOp(sim, () => sysFork(mm));
        if (typeof child === "number") throw new Error(`fork: ${child}`);
        procs.push({ mm: child, words: new Map(p.words) });
        break;
      }
      case "exit":
        runOp(sim, () => exitMmap(mm));
        break;
      case "write": {
        const r = runOp(sim, () => doPageFault(mm, addr, { write: true }));
        if (r !== 0) {
          expect(mm.tree.findVma(addr)?.vmStart ?? Number.POSITIVE_INFINITY).toBeGreaterThan(addr);
          break;
        }
        contents.data[mm.pt.followPage(addr)] = value;
        p.words.set(addr, value++);
        break;
      }
      case "read": {
        const r = runOp(sim, () => doPageFault(mm, addr, {}));
        if (r === 0) expect(contents.data[mm.pt.followPage(addr)]).toBe(p.words.get(addr) ?? 0);
        break;
      }
      case "mmap": {
        const len = Math.min(o.pages, WINDOW - o.page) * P;
        const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (o.populate ? MAP_POPULATE : 0);
        expect(runOp(sim, () => sysMmap(mm, addr, len, PROT_READ | PROT_WRITE, flags))).toBe(addr);
        for (let a = addr; a < addr + len; a += P) p.words.delete(a);
        break;
      }
      case "munmap": {
        const len = Math.min(o.pages, WINDOW - o.page) * P;
        expect(runOp(sim, () => sysMunmap(mm, addr, len))).toBe(0);
        for (let a = addr; a < addr + len; a += P) p.words.delete(a);
        break;
      }
    }
    validateMms(
      procs.map((x) => x.mm),
      { phys: true },
    );
    for (const x of live()) {
      x.mm.pt.forEachLeaf((a) => {
        expect(contents.data[x.mm.pt.followPage(a)]).toBe(x.words.get(a) ?? 0);
      });
    }
  }
  for (const x of live()) runOp(sim, () => exitMmap(x.mm));
  validateMms(
    procs.map((x) => x.mm),
    { phys: true },
  );
  expect(phys.counts()).toMatchObject({ anon: 0, file: 0, shmem: 0, pagetable: 0, zero: 1 });
}

describe("random fork / write / munmap / exit sequences", () => {
  it("keep frame accounting exact after every step, each process reads its own writes, nothing leaks", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => run(ops)),
      { numRuns: 60, seed: 13 },
    );
  }, 120_000);
});
