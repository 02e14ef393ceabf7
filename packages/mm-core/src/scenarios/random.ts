/**
 * `random`: a generic workload that knows no bug. N threads (default 4) of one process that
 * starts from a real layout (c-mm's /proc/PID/maps at its first syscall, recorded on Linux
 * 6.18: the program, ld.so, [vvar], [vdso], [stack]) each run a seeded mix of mmap, munmap,
 * mprotect, madvise(MADV_DONTNEED), brk, user reads and writes anywhere (a fault below a
 * VM_GROWSDOWN VMA grows it) and /proc/PID/maps reads, with short pauses between them.
 *
 * Addresses are picked the way a syscall fuzzer picks them: near what is mapped now (a VMA's
 * start or end, a few pages either side, a page inside it, or just below it), so that calls
 * hit, split and abut existing mappings instead of landing in the empty 128 TiB; lengths are
 * 1 to 512 pages. Nothing in the mix targets a particular race: the explorer's generic checks
 * (page-table use-after-free, lost pages, maple node use-after-free or rewrite, validateMm,
 * deadlock) decide what counts as a bug.
 */
import { type Prng, sleep } from "@mmlab/sched";
import type { Vma } from "@mmlab/vma-tree";
import { sysBrk } from "../brk.js";
import type { Op } from "../charge.js";
import { type ExploreScenario, registerExploreScenario, type ScenarioContext } from "../explore.js";
import { PAGE_SIZE } from "../layout.js";
import { MADV_DONTNEED, sysMadvise } from "../madvise.js";
import type { MmStruct } from "../mm-struct.js";
import { sysMmap } from "../mmap.js";
import { sysMprotect } from "../mprotect.js";
import { procPidMapsRead } from "../proc-maps-read.js";
import { sysMunmap } from "../sys-munmap.js";
import { parseProcPidMaps } from "../task-mmu.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../uapi.js";

/** c-mm.start.maps (packages/mm-core/fixtures): a small C program at its first syscall, Linux 6.18. */
export const C_MM_START_MAPS = `555555554000-555555555000 r--p 00000000 fe:00 2170977                    /tmp/mmlab-fixtures/c-mm
555555555000-555555556000 r-xp 00001000 fe:00 2170977                    /tmp/mmlab-fixtures/c-mm
555555556000-555555557000 r--p 00002000 fe:00 2170977                    /tmp/mmlab-fixtures/c-mm
555555557000-555555559000 rw-p 00002000 fe:00 2170977                    /tmp/mmlab-fixtures/c-mm
7ffff7fc2000-7ffff7fc6000 r--p 00000000 00:00 0                          [vvar]
7ffff7fc6000-7ffff7fc8000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]
7ffff7fca000-7ffff7fcb000 r--p 00000000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7fcb000-7ffff7ff1000 r-xp 00001000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ff1000-7ffff7ffb000 r--p 00027000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ffb000-7ffff7fff000 rw-p 00031000 fe:00 338944                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

export interface RandomScenarioOptions {
  /** Scenario name (default "random"). */
  name?: string;
  /** Threads (default 4). */
  threads?: number;
  /** Operations per thread (default 16). */
  ops?: number;
}

const LENGTHS = [1, 1, 2, 4, 8, 16, 64, 512];
const PROTS = [PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE];
/** Operation kinds and their weights. */
const OPS: readonly [string, number][] = [
  ["mmap", 3],
  ["munmap", 2],
  ["mprotect", 1],
  ["madvise", 1],
  ["brk", 1],
  ["write", 4],
  ["read", 2],
  ["maps", 2],
];
const TOTAL = OPS.reduce((n, [, w]) => n + w, 0);

function pickOp(rnd: Prng): string {
  let x = rnd.int(TOTAL);
  for (const [op, w] of OPS) {
    if (x < w) return op;
    x -= w;
  }
  return "maps";
}

/** A page near what is mapped now: a VMA's start or end +-4 pages, a page inside, or just below. */
function pickAddr(mm: MmStruct, rnd: Prng): number {
  const vmas = mm.vmas();
  // Everything unmapped (it happens): somewhere below mmap_base.
  if (vmas.length === 0) return mm.mmapBase - (1 + rnd.int(512)) * PAGE_SIZE;
  const v = vmas[rnd.int(vmas.length)] as Vma;
  const k = (rnd.int(9) - 4) * PAGE_SIZE;
  let a: number;
  switch (rnd.int(4)) {
    case 0:
      a = v.vmStart + k;
      break;
    case 1:
      a = v.vmEnd + k;
      break;
    case 2:
      a = v.vmStart + rnd.int((v.vmEnd - v.vmStart) / PAGE_SIZE) * PAGE_SIZE;
      break;
    default:
      a = v.vmStart - (1 + rnd.int(16)) * PAGE_SIZE;
  }
  // User addresses only: the harness's loads and stores do not model kernel-address faults.
  return Math.min(Math.max(a, mm.mmapMinAddr), mm.taskSize - PAGE_SIZE);
}

function pickLen(rnd: Prng): number {
  return (LENGTHS[rnd.int(LENGTHS.length)] as number) * PAGE_SIZE;
}

/** One thread's seeded mix. */
function* worker(ctx: ScenarioContext, mm: MmStruct, ops: number): Op<number> {
  const rnd = ctx.random;
  const anon = MAP_PRIVATE | MAP_ANONYMOUS;
  let done = 0;
  for (let i = 0; i < ops; i++) {
    yield sleep(ctx.jitter(2_000 + rnd.int(20_000)));
    switch (pickOp(rnd)) {
      case "mmap": {
        const len = pickLen(rnd);
        const prot = PROTS[rnd.int(PROTS.length)] as number;
        const populate = rnd.int(2) === 0 ? MAP_POPULATE : 0;
        const mode = rnd.int(3);
        const addr =
          mode === 0 ? 0 : mode === 1 ? pickAddr(mm, rnd) : pickAddr(mm, rnd) - len + PAGE_SIZE;
        const fixed = mode === 0 ? 0 : MAP_FIXED;
        yield* sysMmap(mm, Math.max(addr, mm.mmapMinAddr), len, prot, anon | fixed | populate);
        break;
      }
      case "munmap": {
        const whole = rnd.int(2) === 0;
        const vmas = mm.vmas();
        const v = vmas.length === 0 ? null : (vmas[rnd.int(vmas.length)] as Vma);
        if (whole && v !== null) yield* sysMunmap(mm, v.vmStart, v.vmEnd - v.vmStart);
        else yield* sysMunmap(mm, pickAddr(mm, rnd), pickLen(rnd));
        break;
      }
      case "mprotect":
        yield* sysMprotect(
          mm,
          pickAddr(mm, rnd),
          pickLen(rnd),
          PROTS[rnd.int(PROTS.length)] as number,
        );
        break;
      case "madvise": {
        const a = pickAddr(mm, rnd);
        const len = pickLen(rnd);
        yield* ctx.discarding(mm, a, len, sysMadvise(mm, a, len, MADV_DONTNEED));
        break;
      }
      case "brk":
        yield* sysBrk(mm, mm.brk + (rnd.int(9) - 4) * 16 * PAGE_SIZE);
        break;
      case "write":
        yield* ctx.userWrite(mm, pickAddr(mm, rnd));
        break;
      case "read":
        yield* ctx.userRead(mm, pickAddr(mm, rnd));
        break;
      default:
        yield* procPidMapsRead(mm);
    }
    done++;
  }
  return done;
}

/** A `random` scenario with its own thread and operation counts. */
export function randomScenario(opts: RandomScenarioOptions = {}): ExploreScenario {
  const threads = opts.threads ?? 4;
  const ops = opts.ops ?? 16;
  if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(ops) || ops < 1) {
    throw new RangeError(
      `@mmlab/mm-core: randomScenario needs threads >= 1 and ops >= 1, got ${threads} and ${ops}`,
    );
  }
  return Object.freeze({
    name: opts.name ?? "random",
    description: `${threads} threads, ${ops} seeded operations each (mmap, munmap, mprotect, madvise DONTNEED, brk, reads and writes anywhere, /proc/PID/maps) on c-mm's real layout; no knowledge of any bug`,
    optIn: true,
    setup(ctx: ScenarioContext): void {
      const proc = ctx.process({
        comm: "c-mm",
        pid: 4000,
        layout: parseProcPidMaps(C_MM_START_MAPS),
      });
      for (let t = 0; t < threads; t++) {
        ctx.spawn(proc, `t${t}`, () => worker(ctx, proc.mm, ops));
      }
    },
  });
}

export const RANDOM_SCENARIO: ExploreScenario = randomScenario();

registerExploreScenario(RANDOM_SCENARIO);
