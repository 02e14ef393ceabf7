/**
 * A schedule explorer: run a scenario under many schedules and stop at the first one that
 * breaks an invariant, with the seed, a minimal trace of the interleaving and a replay spec.
 *
 * A schedule is a seed. It drives (1) the Sim's tie-breaking among simultaneous events
 * (`shuffleTies`) and (2) a jitter of the cost model: every read of a cost field returns
 * `base * (1 ± jitter)` drawn from the schedule's PRNG, so each cond_resched() step, fault and
 * lock operation lands a little earlier or later, and the scenario's own delays go through
 * the same jitter. Nothing else yields: the tasks interleave only at the kernel's own
 * preemption points (the zap's per-PMD cond_resched(), a fault's page allocation, lock waits).
 *
 * Checked after every Sim step:
 *   - page-table use-after-free (a fault writing into a table free_pgtables() freed) and a
 *     table freed while it still holds entries: the page-table package throws these;
 *   - the review's rule (Michal Hocko on the RFC): a racing access sees the old contents or
 *     SIGSEGV, never a fresh zero page. Every user write records the frame it hit and the VMA
 *     that covered the page; while that same VMA is still in the tree and still covers the
 *     page, the page must still map that frame;
 *   - validateMm() whenever mmap_sem is free (no munmap in flight: under zapRlock the
 *     detached VMAs keep their PTEs until the zap, so the mm is only consistent when nobody
 *     holds mmap_sem);
 * and at the end: validateMm, every task finished (no deadlock).
 *
 *   explore({ scenario, strategy, schedules })           -> ExploreResult
 *   runSchedule(spec) / replay(spec)                     -> one schedule, traced on replay
 *   formatExploreResult(result), replayCommand(spec)     -> text for a CLI
 */
import { PageTableUseAfterFree, PhysMem } from "@mmlab/page-table";
import {
  createPrng,
  type Instruction,
  type Prng,
  Sim,
  sleep,
  type Task,
  type TraceEvent,
} from "@mmlab/sched";
import { VM_GROWSDOWN, type Vma, vmFlagsHas } from "@mmlab/vma-tree";
import type { Op } from "./charge.js";
import { type CostModel, costProfile, E5_2680_V4_18 } from "./cost-model.js";
import { mmExiting } from "./exit.js";
import { doPageFault, type FaultResult } from "./fault.js";
import { PAGE_SIZE } from "./layout.js";
import type { MmStruct } from "./mm-struct.js";
import { sysMmap } from "./mmap.js";
import { mmPopulate } from "./populate.js";
import { Process, type ProcessOptions } from "./process.js";
import { munmapStrategy } from "./strategies/registry.js";
import type { MunmapStrategy } from "./strategies/strategy.js";
import { sysMunmap } from "./sys-munmap.js";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./uapi.js";
import { validateMm } from "./validate.js";
import { validateMms } from "./validate-mms.js";
import { mmHasVmaReaders } from "./vma-lock.js";

/** Everything needed to run one schedule again, bit for bit. */
export interface ReplaySpec {
  scenario: string;
  strategy: string;
  seed: number;
  /** Cost-model jitter fraction, 0..1. */
  jitter: number;
  shuffleTies: boolean;
  /** Base cost profile name. */
  cost: string;
}

export type ViolationKind =
  | "lost-page"
  | "lost-write"
  | "page-table-use-after-free"
  | "page-table-freed-with-entries"
  | "invariant"
  | "deadlock"
  | "error";

export interface ExploreFailure {
  kind: ViolationKind;
  message: string;
  /** Virtual time of the failing step, ns. */
  time: number;
  /** The interleaving that led there: tasks, lock events, VMA and page-table changes. */
  trace: string[];
  replay: ReplaySpec;
}

export interface ExploreResult {
  scenario: string;
  strategy: string;
  /** Schedules run (the failing one included). */
  schedules: number;
  /** Sim steps checked over all schedules. */
  steps: number;
  failure: ExploreFailure | null;
}

export interface ExploreOptions {
  scenario: string | ExploreScenario;
  strategy: string | MunmapStrategy;
  /** How many schedules to try (default 1000). */
  schedules?: number;
  /** Seed of the first schedule; the i-th uses firstSeed + i (default 1). */
  firstSeed?: number;
  /** Cost jitter fraction (default 0.5). */
  jitter?: number;
  /** Shuffle simultaneous events (default true). */
  shuffleTies?: boolean;
  /** Base cost profile (default "e5-2680-v4.18"). */
  cost?: string;
}

/** What a scenario builds its tasks with; one per schedule. */
export interface ScenarioContext {
  readonly sim: Sim;
  readonly strategy: MunmapStrategy;
  /** The jittered cost model (every field read draws a fresh jitter). */
  readonly cost: CostModel;
  readonly random: Prng;
  /** `ns * (1 ± jitter)` from the schedule's PRNG. */
  jitter(ns: number): number;
  /** A process whose mm the explorer checks, with the strategy and jittered costs. */
  process(opts: Omit<ProcessOptions, "cost" | "munmap" | "phys">): Process;
  /** A thread of `proc` running `body` (the explorer tracks who runs each step). */
  spawn(proc: Process, comm: string, body: () => Op<unknown>): Task;
  /**
   * A user-mode store of a known value at `addr`: no fault when the PTE is present and
   * writable (the MMU), else a write fault. The frame written is recorded for the rule check.
   */
  userWrite(mm: MmStruct, addr: number, sp?: number): Op<FaultResult>;
  /** A user-mode load of `addr`; fails the schedule if a page written earlier lost its frame. */
  userRead(mm: MmStruct, addr: number, sp?: number): Op<FaultResult>;
  /**
   * An mm the scenario made itself (a fork child, sharing the frames of a process's mm): the
   * explorer validates it with the mms it shares frames with (validateMms) after every step.
   */
  track(mm: MmStruct): void;
  /** Adds a check of the scenario's own invariants, run after every Sim step (report with fail()). */
  onStep(check: () => void): void;
  /** Ends the schedule with a violation of the scenario's own invariants. */
  fail(kind: ViolationKind, message: string): never;
}

export interface ExploreScenario {
  readonly name: string;
  readonly description: string;
  setup(ctx: ScenarioContext): void;
}

/** A page a thread wrote: the frame it hit, through which VMA. */
interface WrittenPage {
  mm: MmStruct;
  addr: number;
  pfn: number;
  vma: Vma;
  comm: string;
}

class ScheduleFailure extends Error {
  constructor(
    readonly kind: ViolationKind,
    message: string,
  ) {
    super(message);
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** A cost model whose every numeric field is re-jittered on each read. */
function jitteredCost(base: CostModel, prng: Prng, fraction: number): CostModel {
  const out: Record<string, unknown> = { name: `${base.name}±${fraction}`, source: base.source };
  for (const [k, v] of Object.entries(base)) {
    if (typeof v !== "number") continue;
    Object.defineProperty(out, k, {
      enumerable: true,
      get: () => (v === 0 || fraction === 0 ? v : prng.jitter(v, fraction)),
    });
  }
  return out as unknown as CostModel;
}

/** One schedule's state: the processes, the written pages, the observer. */
class Schedule implements ScenarioContext {
  readonly sim: Sim;
  readonly strategy: MunmapStrategy;
  readonly cost: CostModel;
  readonly random: Prng;
  readonly mms: MmStruct[] = [];
  readonly tasks: Task[] = [];
  /** The scenario's own per-step checks (onStep). */
  readonly stepChecks: Array<() => void> = [];
  readonly written = new Map<string, WrittenPage>();
  running = "";
  /** Trace lines, only when observing (replay). */
  readonly lines: string[] | null;
  private vmaSnap = new Map<MmStruct, string[]>();
  private tableSnap = new Map<MmStruct, number>();
  private pageSnap = new Map<string, number>();
  private readonly vmaNumbers = new Map<Vma, number>();

  constructor(
    readonly spec: ReplaySpec,
    observe: boolean,
  ) {
    this.sim = new Sim({ seed: spec.seed, shuffleTies: spec.shuffleTies, hungTaskTimeoutNs: 0 });
    this.strategy = munmapStrategy(spec.strategy);
    this.random = createPrng((spec.seed ^ 0x6a09e667) >>> 0);
    this.cost = jitteredCost(costProfile(spec.cost), this.random, spec.jitter);
    this.lines = observe ? [] : null;
    if (observe) this.sim.subscribe((ev) => this.onEvent(ev));
  }

  jitter(ns: number): number {
    return this.spec.jitter === 0 ? ns : this.random.jitter(ns, this.spec.jitter);
  }

  process(opts: Omit<ProcessOptions, "cost" | "munmap" | "phys">): Process {
    const proc = new Process(this.sim, {
      ...opts,
      cost: this.cost,
      munmap: this.strategy,
      phys: new PhysMem({ bytes: 64 * 1024 * 1024 }),
    });
    this.mms.push(proc.mm);
    return proc;
  }

  track(mm: MmStruct): void {
    if (!this.mms.includes(mm)) this.mms.push(mm);
  }

  onStep(check: () => void): void {
    this.stepChecks.push(check);
  }

  fail(kind: ViolationKind, message: string): never {
    throw new ScheduleFailure(kind, message);
  }

  spawn(proc: Process, comm: string, body: () => Op<unknown>): Task {
    const self = this;
    const task = proc.spawnThread(comm, function* (): Generator<Instruction, unknown, unknown> {
      const it = body();
      let input: unknown;
      for (;;) {
        self.running = `${comm}:${task.pid}`;
        const r = it.next(input);
        if (r.done === true) return r.value;
        input = yield r.value;
      }
    });
    this.tasks.push(task);
    return task;
  }

  *userWrite(mm: MmStruct, addr: number, sp?: number): Op<FaultResult> {
    const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    let r: FaultResult = 0;
    let how = "store";
    if (mm.pt.followPage(page) < 0 || (mm.pt.pteValue(page) & 2n) === 0n) {
      const below = mm.tree.findVma(page);
      how = below !== null && below.vmStart > page ? "fault, stack below vm_start" : "fault";
      r = yield* doPageFault(mm, page, sp === undefined ? { write: true } : { write: true, sp });
    }
    const vma = mm.tree.findVma(page);
    const pfn = mm.pt.followPage(page);
    if (r === 0 && pfn >= 0 && vma !== null && vma.vmStart <= page) {
      this.written.set(`${mmKey(this, mm)}:${page}`, {
        mm,
        addr: page,
        pfn,
        vma,
        comm: this.running,
      });
    }
    this.note(`write ${hex(page)} (${how}) -> ${r === 0 ? `frame ${hex(pfn)}` : r.name}`);
    return r;
  }

  *userRead(mm: MmStruct, addr: number, sp?: number): Op<FaultResult> {
    const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    let r: FaultResult = 0;
    if (mm.pt.followPage(page) < 0)
      r = yield* doPageFault(mm, page, sp === undefined ? {} : { sp });
    const pfn = mm.pt.followPage(page);
    this.note(`read ${hex(page)} -> ${r === 0 ? `frame ${hex(pfn)}` : r.name}`);
    const w = this.written.get(`${mmKey(this, mm)}:${page}`);
    if (w !== undefined && this.isLive(w) && r === 0 && pfn !== w.pfn) {
      const what = pfn === mm.phys.zeroPfn ? "a fresh zero page" : `frame ${hex(pfn)}`;
      throw new ScheduleFailure(
        "lost-page",
        `${this.running} read ${hex(page)} and found ${what}, but ${w.comm} wrote frame ${hex(w.pfn)} there through the live VMA [${hex(w.vma.vmStart)}, ${hex(w.vma.vmEnd)})`,
      );
    }
    return r;
  }

  /** The VMA a write went through is still in the tree and still covers the page. */
  private isLive(w: WrittenPage): boolean {
    const v = w.mm.tree.findVma(w.addr);
    return v === w.vma && v.vmStart <= w.addr;
  }

  /** The per-step checks; throws ScheduleFailure. */
  check(): void {
    for (const w of this.written.values()) {
      if (!this.isLive(w)) continue;
      const pfn = w.mm.pt.followPage(w.addr);
      if (pfn === w.pfn) continue;
      const now =
        pfn < 0 ? "no page any more (the next access gets a fresh zero page)" : `frame ${hex(pfn)}`;
      throw new ScheduleFailure(
        "lost-page",
        `${w.comm} wrote frame ${hex(w.pfn)} at ${hex(w.addr)} through the live VMA [${hex(w.vma.vmStart)}, ${hex(w.vma.vmEnd)}), which now has ${now}`,
      );
    }
    for (const c of this.stepChecks) c();
    for (const group of this.physGroups()) {
      const quiet = (mm: MmStruct): boolean =>
        mm.mmapSem.owner === null &&
        mm.mmapSem.readers === 0 &&
        !mmExiting(mm) &&
        !mmHasVmaReaders(mm);
      if (group.every(quiet)) {
        this.validateGroup(group);
      }
    }
  }

  /** The checked mms, grouped by the PhysMem they share (one group per process tree). */
  physGroups(): MmStruct[][] {
    const groups = new Map<object, MmStruct[]>();
    for (const mm of this.mms) {
      const g = groups.get(mm.phys);
      if (g === undefined) groups.set(mm.phys, [mm]);
      else g.push(mm);
    }
    return [...groups.values()];
  }

  /** validateMm with frame accounting for an mm alone, validateMms for mms sharing frames. */
  validateGroup(group: MmStruct[]): void {
    try {
      if (group.length === 1) validateMm(group[0] as MmStruct, { ownsPhys: true });
      else validateMms(group);
    } catch (e) {
      throw new ScheduleFailure("invariant", (e as Error).message);
    }
  }

  // ------------------------------------------------------------------- observation (replay)

  private note(what: string): void {
    if (this.lines !== null) this.line(this.running, what);
  }

  private line(who: string, what: string): void {
    this.lines?.push(
      `${(this.sim.now / 1000).toFixed(3).padStart(10)} us  ${who.padEnd(14)} ${what}`,
    );
  }

  private commOf(pid: number): string {
    const t = this.sim.tasks.find((x) => x.pid === pid);
    return t === undefined ? String(pid) : `${t.comm}:${pid}`;
  }

  private onEvent(ev: TraceEvent): void {
    switch (ev.type) {
      case "lock-wait":
        this.line(this.commOf(ev.pid), `${ev.lock}: waits (${ev.mode})`);
        break;
      case "lock-acquire":
        this.line(this.commOf(ev.pid), `${ev.lock}: acquired ${ev.mode}`);
        break;
      case "lock-release":
        this.line(this.commOf(ev.pid), `${ev.lock}: released ${ev.mode}`);
        break;
      case "lock-downgrade":
        this.line(this.commOf(ev.pid), `${ev.lock}: downgrade_write()`);
        break;
      case "span-begin":
      case "span-end":
        if (TRACED_SPANS.has(ev.name)) {
          this.line(
            this.commOf(ev.pid),
            `${ev.type === "span-begin" ? "enter" : "leave"} ${ev.name}`,
          );
        }
        break;
      case "mark":
        this.line(this.commOf(ev.pid), ev.name);
        break;
      default:
        break;
    }
  }

  /** A VMA as trace text, numbered per schedule (Vma ids are global) so replays compare equal. */
  private vmaText(v: Vma): string {
    let n = this.vmaNumbers.get(v);
    if (n === undefined) {
      n = this.vmaNumbers.size + 1;
      this.vmaNumbers.set(v, n);
    }
    const grows = vmFlagsHas(v.vmFlags, VM_GROWSDOWN) ? " GROWSDOWN" : "";
    return `#${n} [${hex(v.vmStart)}, ${hex(v.vmEnd)})${grows}`;
  }

  /** After a step: report VMA changes, table counts and written pages that changed. */
  observeStep(): void {
    if (this.lines === null) return;
    for (const mm of this.mms) {
      const now = mm.vmas().map((v) => this.vmaText(v));
      const before = this.vmaSnap.get(mm);
      if (before !== undefined) {
        for (const v of before) if (!now.includes(v)) this.line(this.running, `VMA ${v} gone`);
        for (const v of now) if (!before.includes(v)) this.line(this.running, `VMA ${v} now`);
      }
      this.vmaSnap.set(mm, now);
      const tables = mm.pt.nrPtes;
      const t0 = this.tableSnap.get(mm);
      if (t0 !== undefined && t0 !== tables) {
        this.line(this.running, `PTE tables ${t0} -> ${tables}`);
      }
      this.tableSnap.set(mm, tables);
    }
    for (const [key, w] of this.written) {
      const pfn = w.mm.pt.followPage(w.addr);
      const was = this.pageSnap.get(key);
      if (was !== undefined && was !== pfn) {
        this.line(
          this.running,
          `PTE ${hex(w.addr)}: ${was < 0 ? "none" : `frame ${hex(was)}`} -> ${pfn < 0 ? "none (zapped)" : `frame ${hex(pfn)}`}`,
        );
      }
      this.pageSnap.set(key, pfn);
    }
  }
}

const TRACED_SPANS = new Set(["SyS_munmap", "unmap_region", "SyS_brk", "SyS_mremap"]);

function mmKey(s: Schedule, mm: MmStruct): number {
  return s.mms.indexOf(mm);
}

/** The outcome of one schedule. */
export interface ScheduleOutcome {
  spec: ReplaySpec;
  steps: number;
  failure: ExploreFailure | null;
  /** Every observed line (replay only; empty otherwise). */
  trace: string[];
}

/** Runs one schedule; with `observe`, records the trace of the interleaving. */
export function runSchedule(spec: ReplaySpec, observe = false): ScheduleOutcome {
  const scenario = exploreScenario(spec.scenario);
  const s = new Schedule(spec, observe);
  let steps = 0;
  const fail = (kind: ViolationKind, message: string): ScheduleOutcome => {
    const trace = s.lines ?? [];
    const failure: ExploreFailure = {
      kind,
      message,
      time: s.sim.now,
      trace: trace.slice(),
      replay: spec,
    };
    return { spec, steps, failure, trace };
  };
  try {
    scenario.setup(s);
    for (;;) {
      if (s.tasks.every((t) => t.state === "dead")) break;
      if (s.sim.peek() === Number.POSITIVE_INFINITY) {
        const stuck = s.tasks.filter((t) => t.state !== "dead").map((t) => `${t.comm}:${t.pid}`);
        return fail("deadlock", `no event left but ${stuck.join(", ")} never finished`);
      }
      s.sim.step();
      steps++;
      s.observeStep();
      s.check();
    }
    for (const c of s.stepChecks) c();
    for (const group of s.physGroups()) s.validateGroup(group);
  } catch (e) {
    s.observeStep();
    if (e instanceof ScheduleFailure) return fail(e.kind, e.message);
    if (e instanceof PageTableUseAfterFree) return fail("page-table-use-after-free", e.message);
    const msg = e instanceof Error ? e.message : String(e);
    if (/still has \d+ entries/.test(msg)) return fail("page-table-freed-with-entries", msg);
    return fail("error", msg);
  }
  return { spec, steps, failure: null, trace: s.lines ?? [] };
}

/** Runs a schedule again with the trace on (deterministic: same seed, same interleaving). */
export function replay(spec: ReplaySpec): ScheduleOutcome {
  return runSchedule(spec, true);
}

/**
 * Tries schedules firstSeed, firstSeed + 1, ... until one fails or `schedules` ran. The
 * failing schedule is replayed with tracing to produce its trace.
 */
export function explore(opts: ExploreOptions): ExploreResult {
  const scenario =
    typeof opts.scenario === "string" ? exploreScenario(opts.scenario) : opts.scenario;
  if (typeof opts.scenario !== "string" && !scenarios.has(scenario.name)) {
    registerExploreScenario(scenario);
  }
  const strategy = munmapStrategy(opts.strategy);
  const n = opts.schedules ?? 1000;
  const first = opts.firstSeed ?? 1;
  const jitter = opts.jitter ?? 0.5;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`@mmlab/mm-core: explore: schedules must be a positive integer, got ${n}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`@mmlab/mm-core: explore: jitter must be in [0, 1], got ${jitter}`);
  }
  let steps = 0;
  for (let i = 0; i < n; i++) {
    const spec: ReplaySpec = {
      scenario: scenario.name,
      strategy: strategy.name,
      seed: first + i,
      jitter,
      shuffleTies: opts.shuffleTies ?? true,
      cost: opts.cost ?? E5_2680_V4_18.name,
    };
    const out = runSchedule(spec);
    steps += out.steps;
    if (out.failure !== null) {
      const traced = replay(spec);
      const failure = traced.failure ?? out.failure;
      return {
        scenario: scenario.name,
        strategy: strategy.name,
        schedules: i + 1,
        steps,
        failure: { ...failure, trace: minimalTrace(failure) },
      };
    }
  }
  return { scenario: scenario.name, strategy: strategy.name, schedules: n, steps, failure: null };
}

/**
 * Keeps what matters: from the last mmap_sem write acquisition before the access that went
 * wrong (for a lost page: the write that put the page there), the lock events, munmap
 * spans, VMA and PTE changes and user accesses; the set-up before it is dropped.
 */
function minimalTrace(f: ExploreFailure): string[] {
  const lines = f.trace;
  const m = / at (0x[0-9a-f]+) /.exec(f.message) ?? / read (0x[0-9a-f]+) /.exec(f.message);
  let anchor = lines.length - 1;
  if (m !== null) {
    for (let i = lines.length - 1; i >= 0; i--) {
      if ((lines[i] as string).includes(`write ${m[1]} `)) {
        anchor = i;
        break;
      }
    }
  }
  let start = 0;
  for (let i = anchor; i >= 0; i--) {
    if ((lines[i] as string).includes("mmap_sem: acquired write")) {
      start = i;
      break;
    }
  }
  return lines.slice(start).filter((l) => !/ (enter|leave) SyS_/.test(l));
}

/** The command line a CLI prints to replay a schedule. */
export function replayCommand(spec: ReplaySpec, prog = "mmlab-bench explore"): string {
  return (
    `${prog} --scenario ${spec.scenario} --strategy ${spec.strategy} --seed ${spec.seed}` +
    ` --schedules 1 --jitter ${spec.jitter}${spec.shuffleTies ? "" : " --no-shuffle-ties"}` +
    ` --cost ${spec.cost}`
  );
}

/** A human-readable report of an exploration, as a CLI prints it. */
export function formatExploreResult(r: ExploreResult, prog = "mmlab-bench explore"): string {
  const head = `${r.scenario} under ${r.strategy}: ${r.schedules} schedule(s), ${r.steps} steps checked`;
  if (r.failure === null) return `${head}: no violation found`;
  const f = r.failure;
  return [
    `${head}: FAILED at schedule seed ${f.replay.seed}`,
    `${f.kind}: ${f.message}`,
    "trace:",
    ...f.trace.map((l) => `  ${l}`),
    `replay: ${replayCommand(f.replay, prog)}`,
  ].join("\n");
}

// ------------------------------------------------------------------------------ scenarios

const scenarios = new Map<string, ExploreScenario>();

/** Adds a scenario; throws if the name is taken. */
export function registerExploreScenario(s: ExploreScenario): void {
  if (scenarios.has(s.name)) {
    throw new Error(`@mmlab/mm-core: an explore scenario named "${s.name}" already exists`);
  }
  scenarios.set(s.name, s);
}

/** The registered scenarios. */
export function exploreScenarios(): ExploreScenario[] {
  return [...scenarios.values()];
}

/** Resolves a scenario by name; RangeError names the known ones. */
export function exploreScenario(name: string): ExploreScenario {
  const s = scenarios.get(name);
  if (s === undefined) {
    throw new RangeError(
      `@mmlab/mm-core: unknown explore scenario "${name}" (known: ${[...scenarios.keys()].join(", ")})`,
    );
  }
  return s;
}

/**
 * The race of 246c320a8cfe (Jann Horn's report, CVE-2021-20200 class): thread "main" unmaps
 * a 4 MiB mapping that sits directly below the process's stack; thread "worker" runs on
 * that stack and pushes a page every ~500 us (a deep call chain), writing into each page it
 * grows into, and at the end reads them all back.
 *
 *   0x7fffffbbe000        0x7fffffdbe000            0x7fffffdde000   0x7ffffffff000
 *   |== populated 2 MiB ==|--- untouched 2 MiB ---->|== stack (GROWSDOWN) ==|
 *   [--------------- M: munmap()ed by main --------)  ^ worker's sp grows down into M
 *
 * Under a downgrading munmap the worker's fault after the detach finds no VMA at its
 * address, so find_vma() returns the stack and expand_downwards() moves its vm_start into
 * the detached range, under the read lock; the fault maps a page there; then munmap's zap,
 * still walking the detached range one PMD per cond_resched(), clears that page: the stack
 * lost data it wrote (the next access gets a fresh zero page). The window is the zap of the
 * populated lower half (512 PTEs, ~45 us with e5-2680-v4.18) plus the write-locked detach:
 * the race needs the fault's cost (lock, lookup, page allocation, ~4 us) to be shorter than
 * the zap of the PMD below, which it is by an order of magnitude.
 */
export const STACK_EXPANSION_SCENARIO: ExploreScenario = Object.freeze({
  name: "stack-expansion",
  description:
    "munmap of a mapping directly below a VM_GROWSDOWN stack while a thread's stack grows into it (246c320a8cfe)",
  setup(ctx: ScenarioContext): void {
    const proc = ctx.process({ comm: "prog", pid: 4000 });
    const mm = proc.mm;
    const stack = mm.vmas().at(-1);
    if (stack === undefined) throw new Error("@mmlab/mm-core: the process has no stack");
    const len = 4 * 1024 * 1024;
    const mStart = stack.vmStart - len;
    const setupDone = { v: false };
    ctx.spawn(proc, "main", function* () {
      const addr = yield* sysMmap(
        mm,
        mStart,
        len,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      );
      if (addr !== mStart) throw new Error(`@mmlab/mm-core: mmap failed: ${addr}`);
      yield* mmPopulate(mm, mStart, len / 2); // the program used the lower half
      setupDone.v = true;
      yield sleep(ctx.jitter(1_000_000));
      return yield* sysMunmap(mm, mStart, len);
    });
    ctx.spawn(proc, "worker", function* () {
      let sp = stack.vmStart;
      const pushed: number[] = [];
      yield sleep(ctx.jitter(500_000));
      for (let i = 0; i < 4; i++) {
        yield sleep(ctx.jitter(500_000));
        sp -= PAGE_SIZE;
        pushed.push(sp);
        yield* ctx.userWrite(mm, sp, sp);
      }
      for (const a of pushed) yield* ctx.userRead(mm, a, sp);
      return setupDone.v;
    });
  },
});

registerExploreScenario(STACK_EXPANSION_SCENARIO);
