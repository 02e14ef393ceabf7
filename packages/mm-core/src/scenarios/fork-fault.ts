/**
 * `fork-fault`: the per-VMA-lock fork race of 6.4 (bugzilla 217624, "memory corruption" in Go
 * programs and others; fixed by fb49c455323f "fork: lock VMAs of the parent process when
 * forking"). Thread "main" of a process forks while two other threads keep writing to a
 * private anonymous mapping:
 *
 *   0x600000000  0x600001000  0x600002000  0x600003000  0x600004000
 *   |== page p ==|== page q ==|== page 2 ==|== page 3 ==|   one VMA, one PMD extent
 *     writer-a: word 0 of p, again and again (it keeps p's writable translation in its TLB)
 *     writer-b: word 1 of q, then word 1 of p, alternately (its one-entry TLB loses p to q)
 *
 * Each thread has a one-entry TLB of writable translations (a CPU's): a store through it needs
 * no page walk, so it keeps going to the frame it cached even after the PTE was
 * write-protected, until a flush. copy_page_range() write-protects the parent's PTEs without
 * a flush; dup_mmap() flushes the parent's TLB (flush_tlb_mm) only at its end. Under 6.4.0
 * (`perVmaLock`) writer-b's write fault on p in that window runs under the VMA lock alone:
 * do_wp_page() -> wp_page_copy() copies p into a new page, and while it waits for its lock
 * writer-a keeps writing the old page through its stale entry; the new page replaces it in the
 * parent: writer-a's write is lost in the parent and visible in the child (the patch's v4
 * text, 2023-07-05: "this might lead to some stale writable TLB entries targeting the wrong
 * (old) page"). Under `v6.4.y` the VMA is write-locked, the fault waits for mmap_lock, and
 * the flush comes first; under `classic` (4.19) faults wait for mmap_sem anyway.
 *
 * Page contents are modelled (page-contents.ts: 4 words per page). Checked after every step:
 *   - no write lost: every word a parent thread wrote reads back, through the parent's page
 *     table, as the last value a parent thread wrote there ("lost-write");
 *   - when fork returns, the child reads exactly what the parent reads, page by page;
 *   - from then on the child reads only what it inherited and what it wrote itself: no write
 *     by the parent is visible in the child, none of the child's in the parent;
 *   - anon_vma: every anonymous page the child maps is its own (mapcount 1) or the parent's
 *     page at the same address, and then the child's anon_vma descends from the parent VMA's;
 *   - frame accounting over both mms (validateMms), whenever no mmap_sem is held.
 * The child then writes word 2 of every page (COW) and exits (exit_mmap).
 */
import { sleep } from "@mmlab/sched";
import type { Vma } from "@mmlab/vma-tree";
import { anonVmaDescendsFrom } from "../anon-vma.js";
import type { Op } from "../charge.js";
import { exitMmap, mmExited, mmExiting } from "../exit.js";
import { type ExploreScenario, registerExploreScenario, type ScenarioContext } from "../explore.js";
import { doPageFault } from "../fault.js";
import { sysFork } from "../fork.js";
import { PAGE_SIZE } from "../layout.js";
import type { MmStruct } from "../mm-struct.js";
import { sysMmap } from "../mmap.js";
import { enablePageContents, type PageContents } from "../page-contents.js";
import { onTlbFlush } from "../tlb-flush.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "../uapi.js";

const BASE = 0x600000000;
const PAGES = 4;
const WORDS = 4;
const P_PAGE = BASE;
const Q_PAGE = BASE + PAGE_SIZE;
const hex = (n: number): string => `0x${n.toString(16)}`;

/** A CPU's TLB with one writable translation: page -> frame. */
class Tlb {
  page = -1;
  pfn = -1;

  flush(start: number, end: number): void {
    if (this.page >= start && this.page < end) this.page = -1;
  }
}

/** What one schedule of the scenario keeps: shadows of the expected contents, the child. */
class ForkFaultState {
  readonly contents: PageContents;
  /** Parent: `${page}:${word}` -> last value a parent thread stored (and who). */
  readonly parentShadow = new Map<string, { value: number; who: string; pfn: number }>();
  /** Child: its expected view, words per page, set when fork returns. */
  childShadow: Map<number, Uint32Array> | null = null;
  child: MmStruct | null = null;
  /** The first difference between child and parent when fork returned, if any. */
  forkMismatch: string | null = null;
  nextValue = 1;

  constructor(
    readonly ctx: ScenarioContext,
    readonly mm: MmStruct,
  ) {
    this.contents = enablePageContents(mm.phys, WORDS);
  }

  /** Word `w` of `page` as `mm` reads it now (0 when not mapped yet: a fresh page). */
  read(mm: MmStruct, page: number, w: number): number {
    const pfn = mm.pt.followPage(page);
    return pfn < 0 ? 0 : (this.contents.data[pfn * WORDS + w] as number);
  }

  /**
   * A user store of a fresh value into word `w` of `page` by a thread whose TLB is `tlb`: a
   * TLB hit stores into the cached frame; a miss walks the page table and caches a writable
   * entry, or takes a write fault and retries.
   */
  *store(mm: MmStruct, tlb: Tlb, page: number, w: number, who: string): Op<number> {
    for (;;) {
      if (tlb.page === page) {
        const value = this.nextValue++;
        this.contents.data[tlb.pfn * WORDS + w] = value;
        if (mm === this.mm) this.parentShadow.set(`${page}:${w}`, { value, who, pfn: tlb.pfn });
        else this.childShadow?.get(page)?.set([value], w);
        return value;
      }
      const pfn = mm.pt.followPage(page);
      if (pfn >= 0 && (mm.pt.pteValue(page) & 2n) !== 0n) {
        tlb.page = page;
        tlb.pfn = pfn;
        continue;
      }
      const r = yield* doPageFault(mm, page, { write: true });
      if (r !== 0) this.ctx.fail("error", `${who}: write fault at ${hex(page)} ended in ${r.name}`);
    }
  }

  /** fork() returned `child`: the child must read what the parent reads, page by page. */
  forked(child: MmStruct): void {
    this.child = child;
    this.ctx.track(child);
    const shadow = new Map<number, Uint32Array>();
    for (let i = 0; i < PAGES; i++) {
      const page = BASE + i * PAGE_SIZE;
      const words = new Uint32Array(WORDS);
      for (let w = 0; w < WORDS; w++) {
        const c = this.read(child, page, w);
        const p = this.read(this.mm, page, w);
        if (c !== p && this.forkMismatch === null) {
          // Reported by the step's check(), outside the task (as every other violation).
          this.forkMismatch = `when fork returned, the child read ${c} at ${hex(page)} word ${w} but the parent read ${p}`;
        }
        words[w] = c;
      }
      shadow.set(page, words);
    }
    this.childShadow = shadow;
  }

  /** The per-step invariants (see the file comment). */
  check(): void {
    if (this.forkMismatch !== null) this.ctx.fail("lost-write", this.forkMismatch);
    for (const [key, { value, who, pfn }] of this.parentShadow) {
      const [page, w] = key.split(":").map(Number) as [number, number];
      const now = this.read(this.mm, page, w);
      if (now !== value) {
        const phys = this.mm.phys;
        const where =
          phys.kindOf(pfn) === "anon" && phys.mapcount(pfn) > 0
            ? `; the store went to frame ${hex(pfn)}, which the parent no longer maps but the child does (mapcount ${phys.mapcount(pfn)})`
            : "";
        this.ctx.fail(
          "lost-write",
          `${who} stored ${value} at ${hex(page)} word ${w}, but the parent now reads ${now} there${where}`,
        );
      }
    }
    const child = this.child;
    if (child === null || mmExited(child) || mmExiting(child) || this.childShadow === null) return;
    for (const [page, words] of this.childShadow) {
      for (let w = 0; w < WORDS; w++) {
        const now = this.read(child, page, w);
        if (now !== words[w]) {
          this.ctx.fail(
            "lost-write",
            `the child reads ${now} at ${hex(page)} word ${w}, but it inherited or wrote ${words[w]}: another process's write is visible in it`,
          );
        }
      }
    }
    this.checkAnonVma(child);
  }

  /** rmap reachability of the child's anonymous pages (anon_vma_fork's promise). */
  private checkAnonVma(child: MmStruct): void {
    const vma = child.tree.findVma(BASE);
    const pvma = this.mm.tree.findVma(BASE);
    if (vma === null || pvma === null) return;
    for (let i = 0; i < PAGES; i++) {
      const page = BASE + i * PAGE_SIZE;
      const pfn = child.pt.followPage(page);
      if (pfn < 0 || pfn === child.phys.zeroPfn) continue;
      if (vma.anonVma === null) {
        this.ctx.fail(
          "invariant",
          `the child maps anonymous ${hex(page)} in a VMA without an anon_vma`,
        );
      }
      if (child.phys.mapcount(pfn) === 1) continue;
      if (this.mm.pt.followPage(page) !== pfn || !sharedAnonVma(vma, pvma)) {
        this.ctx.fail(
          "invariant",
          `the child's page ${hex(page)} (pfn ${hex(pfn)}) is shared, but not with the parent's page there through a chained anon_vma`,
        );
      }
    }
  }
}

function sharedAnonVma(vma: Vma, pvma: Vma): boolean {
  return (
    vma.anonVma !== null && pvma.anonVma !== null && anonVmaDescendsFrom(vma.anonVma, pvma.anonVma)
  );
}

export const FORK_FAULT_SCENARIO: ExploreScenario = Object.freeze({
  name: "fork-fault",
  description:
    "fork while other threads write to a private anonymous mapping: the 6.4 per-VMA-lock race fixed by fb49c455323f",
  setup(ctx: ScenarioContext): void {
    const proc = ctx.process({ comm: "prog", pid: 5000 });
    const mm = proc.mm;
    const st = new ForkFaultState(ctx, mm);
    const tlbA = new Tlb();
    const tlbB = new Tlb();
    onTlbFlush(mm, (s, e) => {
      tlbA.flush(s, e);
      tlbB.flush(s, e);
    });
    ctx.onStep(() => st.check());
    const ready = { mapped: false };
    ctx.spawn(proc, "main", function* () {
      const r = yield* sysMmap(
        mm,
        BASE,
        PAGES * PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
      );
      if (r !== BASE) ctx.fail("error", `mmap failed: ${r}`);
      ready.mapped = true;
      yield sleep(ctx.jitter(6_000));
      const child = yield* sysFork(mm);
      if (typeof child === "number") return ctx.fail("error", `fork failed: ${child}`);
      st.forked(child);
      const tlbC = new Tlb();
      onTlbFlush(child, (s, e) => tlbC.flush(s, e));
      // The child: writes word 2 of every page (copy-on-write), then exits.
      for (let i = 0; i < PAGES; i++) {
        yield sleep(ctx.jitter(1_000));
        yield* st.store(child, tlbC, BASE + i * PAGE_SIZE, 2, "child");
      }
      yield* exitMmap(child);
      return 0;
    });
    ctx.spawn(proc, "writer-a", function* () {
      while (!ready.mapped) yield sleep(500);
      for (let i = 0; i < 120; i++) {
        yield* st.store(mm, tlbA, P_PAGE, 0, "writer-a");
        yield sleep(ctx.jitter(300));
      }
      return 0;
    });
    ctx.spawn(proc, "writer-b", function* () {
      while (!ready.mapped) yield sleep(500);
      for (let i = 0; i < 60; i++) {
        yield* st.store(mm, tlbB, i % 2 === 0 ? Q_PAGE : P_PAGE, 1, "writer-b");
        yield sleep(ctx.jitter(700));
      }
      return 0;
    });
  },
});

registerExploreScenario(FORK_FAULT_SCENARIO);
