/**
 * DOC: the rw_semaphore state machine shared by both front ends.
 *
 * One object holds what the kernel keeps in sem->count, sem->owner and sem->wait_list, for
 * two generations selected by an option (kernel-semantics.md section 5):
 *
 *   v4.18  kernel/locking/rwsem-xadd.c (v4.19 tree)   count = readers * ACTIVE_BIAS
 *                                                         + (writer ? ACTIVE_WRITE_BIAS : 0)
 *                                                         + (queued ? WAITING_BIAS : 0)
 *   v5.3   kernel/locking/rwsem.c (5.3 .. 6.8)         count bits:
 *            63        8 7   3   2         1         0
 *           +-----------+-----+---------+---------+--------------+
 *           |  readers  | res | HANDOFF | WAITERS | WRITER_LOCKED|
 *           +-----------+-----+---------+---------+--------------+
 *
 * The model is atomic: every operation runs to completion between two yields of the
 * simulation (or two microtasks of the async front end), so the kernel's transient states
 * (a reader's speculative +1 that is undone, a writer in the middle of a cmpxchg) never
 * exist here. What remains is kept as plain fields (readers, writeLocked, handoff, the list)
 * and `count` re-encodes them in the kernel's layout for display and checking.
 *
 * Wait list: a FIFO doubly linked list of RwsemWaiter records (the kernel's on-stack
 * struct rwsem_waiter), head first:
 *
 *     head -> [R pid 7] <-> [R pid 8] <-> [W pid 9] <-> [R pid 10] <- tail
 *
 * The core never sleeps or wakes anything itself. Its decisions go to a RwsemWakeTarget:
 *   rwsemGrant(w)      the waiter now holds the lock (readers granted by rwsem_mark_wake,
 *                      the kernel's "waiter->task = NULL" signal); w is off the list.
 *   rwsemWakeWriter(w) wake_up_process() on a queued writer: it must run and call
 *                      writerRetry() (rwsem_try_write_lock), which it may lose to a stealer.
 *
 * Invariants (validate()):
 *  1. writeLocked implies readers === 0 (exclusion); readers >= 0.
 *  2. The list is well linked, nrWaiters counts it, every listed waiter is QUEUED.
 *  3. handoff is only set in v5.3 and only while someone waits.
 *  4. (quiescent) a free lock with waiters has a writer at the head whose wake is pending:
 *     nobody is stranded.
 */
import type { RwsemGeneration, RwsemOptions } from "./types.js";

/** arch/x86/include/asm/rwsem.h: RWSEM_ACTIVE_BIAS — v4.19 */
export const RWSEM_ACTIVE_BIAS = 1;
/** arch/x86/include/asm/rwsem.h: RWSEM_WAITING_BIAS (x86_64) — v4.19 */
export const RWSEM_WAITING_BIAS = -0x100000000;
/** arch/x86/include/asm/rwsem.h: RWSEM_ACTIVE_WRITE_BIAS — v4.19 */
export const RWSEM_ACTIVE_WRITE_BIAS = RWSEM_WAITING_BIAS + RWSEM_ACTIVE_BIAS;
/** kernel/locking/rwsem.c: RWSEM_WRITER_LOCKED — v5.3 */
export const RWSEM_WRITER_LOCKED = 1;
/** kernel/locking/rwsem.c: RWSEM_FLAG_WAITERS — v5.3 */
export const RWSEM_FLAG_WAITERS = 2;
/** kernel/locking/rwsem.c: RWSEM_FLAG_HANDOFF — v5.3 */
export const RWSEM_FLAG_HANDOFF = 4;
/** kernel/locking/rwsem.c: RWSEM_READER_BIAS (1 << RWSEM_READER_SHIFT) — v5.3 */
export const RWSEM_READER_BIAS = 256;
/** kernel/locking/rwsem.c: MAX_READERS_WAKEUP — v5.3 */
export const MAX_READERS_WAKEUP = 0x100;
/** kernel/locking/rwsem.c: RWSEM_WAIT_TIMEOUT (4 ms at HZ=250/1000), in ns — v5.3 */
export const RWSEM_WAIT_TIMEOUT_NS = 4e6;

/** kernel/locking/rwsem.c: enum rwsem_waiter_type — v5.3 */
export const RWSEM_WAITING_FOR_WRITE = 0;
export const RWSEM_WAITING_FOR_READ = 1;
export type RwsemWaiterType = typeof RWSEM_WAITING_FOR_WRITE | typeof RWSEM_WAITING_FOR_READ;

/** kernel/locking/rwsem.c: enum rwsem_wake_type — v5.3 (same values in rwsem-xadd.c v4.19) */
export const RWSEM_WAKE_ANY = 0;
export const RWSEM_WAKE_READERS = 1;
export const RWSEM_WAKE_READ_OWNED = 2;
type RwsemWakeType = 0 | 1 | 2;

/** Waiter states. */
export const WAITER_QUEUED = 0;
export const WAITER_GRANTED = 1;
export const WAITER_ABORTED = 2;
const WAITER_IDLE = 3; // not yet queued

const GEN_V418 = 0;
const GEN_V53 = 1;

/**
 * kernel/locking/rwsem.c: struct rwsem_waiter — v5.3. One per blocked task, allocated only
 * on the slow path. `data` is the front end's (a Task, or promise callbacks).
 */
export class RwsemWaiter<T = unknown> {
  /** RWSEM_WAITING_FOR_READ / _WRITE */
  readonly type: RwsemWaiterType;
  /** front-end payload */
  readonly data: T;
  /** when the waiter was queued (ns); v5.3 waiter->timeout = queuedAt + RWSEM_WAIT_TIMEOUT */
  queuedAt: number;
  /** WAITER_QUEUED / WAITER_GRANTED / WAITER_ABORTED */
  state: number;
  /** a wake_up_process() for this writer is pending: it has to run writerRetry() */
  woken: boolean;
  /** v5.3 waiter->handoff_set */
  handoffSet: boolean;
  /** list links (struct list_head) */
  prev: RwsemWaiter<T> | null;
  next: RwsemWaiter<T> | null;

  constructor(type: RwsemWaiterType, data: T) {
    this.type = type;
    this.data = data;
    this.queuedAt = 0;
    this.state = WAITER_IDLE;
    this.woken = false;
    this.handoffSet = false;
    this.prev = null;
    this.next = null;
  }
}

/** Where the core's wake decisions go (the front end). */
export interface RwsemWakeTarget<T> {
  /** a queued reader was granted the lock (already counted in readers, off the list) */
  rwsemGrant(waiter: RwsemWaiter<T>): void;
  /** wake a queued writer so that it runs writerRetry() */
  rwsemWakeWriter(waiter: RwsemWaiter<T>): void;
}

/** Resolved options. */
export interface RwsemConfig {
  readonly name: string;
  readonly generation: RwsemGeneration;
  readonly writerStealing: boolean;
  readonly waitTimeoutNs: number;
  readonly maxReadersWakeup: number;
}

/** Validate and default RwsemOptions; throws TypeError/RangeError on bad input. */
export function rwsemConfig(opts: RwsemOptions | undefined): RwsemConfig {
  const o = opts ?? {};
  const name = o.name ?? "rwsem";
  if (typeof name !== "string") throw new TypeError("@mmlab/rwsem: name must be a string");
  const generation = o.generation ?? "v4.18";
  if (generation !== "v4.18" && generation !== "v5.3") {
    throw new RangeError(`@mmlab/rwsem: unknown generation ${String(generation)}`);
  }
  const writerStealing = o.writerStealing ?? true;
  if (typeof writerStealing !== "boolean") {
    throw new TypeError("@mmlab/rwsem: writerStealing must be a boolean");
  }
  const waitTimeoutNs = o.waitTimeoutNs ?? RWSEM_WAIT_TIMEOUT_NS;
  if (typeof waitTimeoutNs !== "number" || !(waitTimeoutNs >= 0)) {
    throw new RangeError("@mmlab/rwsem: waitTimeoutNs must be a number >= 0");
  }
  const maxReadersWakeup = o.maxReadersWakeup ?? MAX_READERS_WAKEUP;
  if (!Number.isInteger(maxReadersWakeup) || maxReadersWakeup < 1) {
    throw new RangeError("@mmlab/rwsem: maxReadersWakeup must be an integer >= 1");
  }
  return { name, generation, writerStealing, waitTimeoutNs, maxReadersWakeup };
}

/** struct rw_semaphore: count, owner kind and wait_list, with the wake logic of both eras. */
export class RwsemCore<T = unknown> {
  readonly config: RwsemConfig;
  /** active readers (the reader part of count) */
  readers: number;
  /** a writer holds the lock */
  writeLocked: boolean;
  /** v5.3 RWSEM_FLAG_HANDOFF */
  handoff: boolean;
  /** wait_list head / tail */
  head: RwsemWaiter<T> | null;
  tail: RwsemWaiter<T> | null;
  nrWaiters: number;
  private readonly gen: number;
  private readonly stealing: boolean;
  private readonly target: RwsemWakeTarget<T>;

  constructor(target: RwsemWakeTarget<T>, config: RwsemConfig) {
    this.config = config;
    this.readers = 0;
    this.writeLocked = false;
    this.handoff = false;
    this.head = null;
    this.tail = null;
    this.nrWaiters = 0;
    this.gen = config.generation === "v4.18" ? GEN_V418 : GEN_V53;
    this.stealing = config.writerStealing;
    this.target = target;
  }

  /** sem->count in the kernel's encoding of this generation (for display and checks). */
  get count(): number {
    if (this.gen === GEN_V418) {
      return (
        this.readers * RWSEM_ACTIVE_BIAS +
        (this.writeLocked ? RWSEM_ACTIVE_WRITE_BIAS : 0) +
        (this.nrWaiters > 0 ? RWSEM_WAITING_BIAS : 0)
      );
    }
    return (
      this.readers * RWSEM_READER_BIAS +
      (this.writeLocked ? RWSEM_WRITER_LOCKED : 0) +
      (this.nrWaiters > 0 ? RWSEM_FLAG_WAITERS : 0) +
      (this.handoff ? RWSEM_FLAG_HANDOFF : 0)
    );
  }

  // ---------------------------------------------------------------- fast paths

  /**
   * arch/x86/include/asm/rwsem.h: __down_read() fast path — v4.19;
   * kernel/locking/rwsem.c: __down_read_common() fast path + rwsem_down_read_slowpath()
   * reader lock stealing — v5.11+. true = the caller holds a read lock.
   */
  downReadFast(): boolean {
    if (this.gen === GEN_V418) {
      // count + ACTIVE_READ_BIAS stays >= 0 only with no writer and nobody queued
      if (!this.writeLocked && this.nrWaiters === 0) {
        this.readers++;
        return true;
      }
      return false;
    }
    if (!this.writeLocked && this.nrWaiters === 0 && !this.handoff) {
      this.readers++;
      return true;
    }
    // Slow path, before queueing. Other readers hold it: queue, so that a stream of readers
    // cannot starve a sleeping waiter.
    if (!this.writeLocked && this.readers > 0) return false;
    if (!this.writeLocked && !this.handoff) {
      // Reader lock stealing: the lock is free (typically a writer just left).
      this.readers++;
      if (this.nrWaiters > 0) this.rwsemMarkWake(RWSEM_WAKE_READ_OWNED, 0);
      return true;
    }
    return false;
  }

  /** arch/x86/include/asm/rwsem.h: __down_read_trylock() — v4.19; rwsem.c: __down_read_trylock() — v5.3 */
  downReadTrylock(): boolean {
    if (this.writeLocked || this.nrWaiters > 0 || this.handoff) return false;
    this.readers++;
    return true;
  }

  /**
   * arch/x86/include/asm/rwsem.h: __down_write() fast path — v4.19 (succeeds when the active
   * part is 0, even with waiters: stealing); rwsem.c: __down_write_common() fast path plus
   * what rwsem_optimistic_spin()/rwsem_try_write_lock_unqueued() can take — v5.3.
   */
  downWriteFast(): boolean {
    if (this.writeLocked || this.readers > 0) return false;
    if (this.nrWaiters === 0 || (this.stealing && !this.handoff)) {
      this.writeLocked = true;
      return true;
    }
    return false;
  }

  /**
   * arch/x86/include/asm/rwsem.h: __down_write_trylock() — v4.19 (active part 0, steals past
   * waiters); kernel/locking/rwsem.c: __down_write_trylock() — v5.3 (count must be 0).
   */
  downWriteTrylock(): boolean {
    if (this.writeLocked || this.readers > 0) return false;
    const mayPassWaiters = this.gen === GEN_V418 && this.stealing;
    if (this.nrWaiters === 0 || mayPassWaiters) {
      this.writeLocked = true;
      return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- slow paths

  /**
   * kernel/locking/rwsem-xadd.c: __rwsem_down_read_failed_common() queueing part — v4.19;
   * kernel/locking/rwsem.c: rwsem_down_read_slowpath() queueing part — v5.11+.
   * Queues `w` at the tail and makes the wake calls the kernel makes. Returns true if `w`
   * was granted at once (then rwsemGrant(w) has been called).
   */
  rwsemDownReadSlowpath(w: RwsemWaiter<T>, now: number): boolean {
    this.checkIdle(w);
    if (this.gen === GEN_V418) {
      const wasEmpty = this.nrWaiters === 0;
      this.rwsemAddWaiter(w, now);
      // nobody active, or only readers active and we are the first waiter: wake the front
      if (!this.writeLocked && (this.readers === 0 || wasEmpty)) {
        this.rwsemMarkWake(RWSEM_WAKE_ANY, now);
      }
      return w.state === WAITER_GRANTED;
    }
    if (this.nrWaiters === 0 && !this.writeLocked) {
      // queue empty and no writer: our READER_BIAS already counts, leave at once
      this.readers++;
      w.state = WAITER_GRANTED;
      this.target.rwsemGrant(w);
      return true;
    }
    this.rwsemAddWaiter(w, now);
    this.rwsemCondWakeWaiter(now);
    return w.state === WAITER_GRANTED;
  }

  /**
   * kernel/locking/rwsem-xadd.c: __rwsem_down_write_failed_common() up to the first
   * rwsem_try_write_lock() — v4.19; kernel/locking/rwsem.c: rwsem_down_write_slowpath()
   * likewise — v5.3+. Queues `w`; returns true if it took the lock at its first try.
   */
  rwsemDownWriteSlowpath(w: RwsemWaiter<T>, now: number): boolean {
    this.checkIdle(w);
    const wasEmpty = this.nrWaiters === 0;
    this.rwsemAddWaiter(w, now);
    if (!wasEmpty) {
      if (this.gen === GEN_V418) {
        // not first and the lock is read owned: let readers queued ahead of us join
        if (!this.writeLocked && this.readers > 0) this.rwsemMarkWake(RWSEM_WAKE_READERS, now);
      } else {
        this.rwsemCondWakeWaiter(now);
      }
    }
    return this.writerRetry(w, now);
  }

  /**
   * kernel/locking/rwsem-xadd.c: rwsem_try_write_lock() — v4.19;
   * kernel/locking/rwsem.c: rwsem_try_write_lock() — v6.8 (handoff rules).
   * A queued writer's attempt, made when it runs after a wake. true = it now holds the lock.
   */
  writerRetry(w: RwsemWaiter<T>, now: number): boolean {
    if (w.state !== WAITER_QUEUED) return w.state === WAITER_GRANTED;
    w.woken = false;
    const first = this.head;
    if (!this.stealing && first !== w) return false; // strict FIFO model option
    if (this.gen === GEN_V418) {
      // succeeds only if count == WAITING_BIAS: queued, nobody active
      if (this.writeLocked || this.readers > 0) return false;
      this.grantWriter(w);
      return true;
    }
    if (this.handoff && first?.handoffSet === true && first !== w) return false;
    if (this.writeLocked || this.readers > 0) {
      // A waiter that has waited too long requests a handoff instead of losing more races.
      if (this.handoff || !(now > w.queuedAt + this.config.waitTimeoutNs)) return false;
      this.handoff = true;
      if (first !== null) first.handoffSet = true;
      return false;
    }
    this.handoff = false;
    this.grantWriter(w);
    return true;
  }

  /**
   * A killable waiter gives up (signal pending, or AbortSignal). Leaves the queue consistent:
   * kernel/locking/rwsem-xadd.c: out_nolock of __rwsem_down_{read,write}_failed_common() —
   * v4.19 (a writer wakes the new front, a reader wakes nobody);
   * kernel/locking/rwsem.c: rwsem_del_wake_waiter() — v6.8 (wake the new head if we were it).
   * Returns false (and does nothing) if `w` is not queued any more (granted in time).
   */
  rwsemAbortWaiter(w: RwsemWaiter<T>, now: number): boolean {
    if (w.state !== WAITER_QUEUED) return false;
    const wasFirst = this.head === w;
    this.rwsemDelWaiter(w);
    w.state = WAITER_ABORTED;
    w.woken = false;
    if (this.nrWaiters === 0) return true;
    if (this.gen === GEN_V418) {
      if (w.type === RWSEM_WAITING_FOR_WRITE) this.rwsemMarkWake(RWSEM_WAKE_ANY, now);
    } else if (wasFirst) {
      this.rwsemMarkWake(RWSEM_WAKE_ANY, now);
    }
    return true;
  }

  // ---------------------------------------------------------------- release

  /** arch/x86/include/asm/rwsem.h: __up_read() + rwsem_wake() — v4.19; rwsem.c: __up_read() — v5.3 */
  upRead(now: number): void {
    if (this.readers <= 0) throw new Error("@mmlab/rwsem: core upRead() with no readers");
    this.readers--;
    // last active locker left and someone waits
    if (this.readers === 0 && !this.writeLocked && this.nrWaiters > 0) {
      this.rwsemMarkWake(RWSEM_WAKE_ANY, now);
    }
  }

  /** arch/x86/include/asm/rwsem.h: __up_write() + rwsem_wake() — v4.19; rwsem.c: __up_write() — v5.3 */
  upWrite(now: number): void {
    if (!this.writeLocked) throw new Error("@mmlab/rwsem: core upWrite() while not write locked");
    this.writeLocked = false;
    if (this.nrWaiters > 0) this.rwsemMarkWake(RWSEM_WAKE_ANY, now);
  }

  /**
   * arch/x86/include/asm/rwsem.h: __downgrade_write() + rwsem_downgrade_wake() — v4.19;
   * kernel/locking/rwsem.c: __downgrade_write() — v5.3. The write bias becomes one read bias
   * in one step, so no writer can get in between.
   */
  downgradeWrite(now: number): void {
    if (!this.writeLocked) {
      throw new Error("@mmlab/rwsem: core downgradeWrite() while not write locked");
    }
    this.writeLocked = false;
    this.readers++;
    if (this.nrWaiters > 0) this.rwsemMarkWake(RWSEM_WAKE_READ_OWNED, now);
  }

  // ---------------------------------------------------------------- wake logic

  /**
   * kernel/locking/rwsem-xadd.c: __rwsem_mark_wake() — v4.19;
   * kernel/locking/rwsem.c: rwsem_mark_wake() — v5.3+. Requires a non-empty list.
   */
  rwsemMarkWake(wakeType: RwsemWakeType, now: number): void {
    const first = this.head;
    if (first === null) return;
    if (first.type === RWSEM_WAITING_FOR_WRITE) {
      // A writer at the head is woken alone, and only for WAKE_ANY. It is not granted the
      // lock: it has to win rwsem_try_write_lock() when it runs.
      if (wakeType === RWSEM_WAKE_ANY) this.wakeWriter(first);
      return;
    }
    if (wakeType !== RWSEM_WAKE_READ_OWNED && this.writeLocked) {
      // the speculative read bias found a writer: undo (v5.3: ask for a handoff if the head
      // reader has waited too long)
      if (this.gen === GEN_V53 && now > first.queuedAt + this.config.waitTimeoutNs) {
        this.handoff = true;
        first.handoffSet = true;
      }
      return;
    }
    if (this.gen === GEN_V418) {
      this.grantReaderPrefix();
    } else {
      this.grantReadersAnywhere();
    }
  }

  /** v4.19 __rwsem_mark_wake(): grant the readers from the head up to the first writer. */
  private grantReaderPrefix(): void {
    let w = this.head;
    while (w !== null && w.type === RWSEM_WAITING_FOR_READ) {
      const next: RwsemWaiter<T> | null = w.next;
      this.rwsemDelWaiter(w);
      this.readers++;
      w.state = WAITER_GRANTED;
      this.target.rwsemGrant(w);
      w = next;
    }
  }

  /**
   * v5.3 rwsem_mark_wake(): grant up to maxReadersWakeup readers taken from the whole queue,
   * skipping writers (who keep their order). Counts are raised for all before anyone is
   * told (the kernel's two passes), then HANDOFF is cleared if a reader was woken.
   */
  private grantReadersAnywhere(): void {
    const limit = this.config.maxReadersWakeup;
    let woken = 0;
    let w = this.head;
    let granted: RwsemWaiter<T> | null = null; // chain of granted waiters via .next
    let grantedTail: RwsemWaiter<T> | null = null;
    while (w !== null && woken < limit) {
      const next: RwsemWaiter<T> | null = w.next;
      if (w.type === RWSEM_WAITING_FOR_READ) {
        this.rwsemDelWaiter(w);
        this.readers++;
        w.state = WAITER_GRANTED;
        if (grantedTail === null) granted = w;
        else grantedTail.next = w;
        grantedTail = w;
        woken++;
      }
      w = next;
    }
    if (woken > 0 || this.nrWaiters === 0) this.handoff = false;
    // second pass: tell them, in queue order
    while (granted !== null) {
      const next: RwsemWaiter<T> | null = granted.next;
      granted.next = null;
      this.target.rwsemGrant(granted);
      granted = next;
    }
  }

  /** kernel/locking/rwsem.c: rwsem_cond_wake_waiter() — v6.8 */
  private rwsemCondWakeWaiter(now: number): void {
    if (this.writeLocked) return;
    this.rwsemMarkWake(this.readers > 0 ? RWSEM_WAKE_READERS : RWSEM_WAKE_ANY, now);
  }

  private wakeWriter(w: RwsemWaiter<T>): void {
    w.woken = true;
    this.target.rwsemWakeWriter(w);
  }

  private grantWriter(w: RwsemWaiter<T>): void {
    this.rwsemDelWaiter(w);
    this.writeLocked = true;
    w.state = WAITER_GRANTED;
  }

  // ---------------------------------------------------------------- wait list

  /** kernel/locking/rwsem.c: rwsem_add_waiter() — v5.16 (list_add_tail, set WAITERS) */
  private rwsemAddWaiter(w: RwsemWaiter<T>, now: number): void {
    w.queuedAt = now;
    w.state = WAITER_QUEUED;
    w.woken = false;
    w.handoffSet = false;
    w.next = null;
    w.prev = this.tail;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.nrWaiters++;
  }

  /** kernel/locking/rwsem.c: rwsem_del_waiter() — v5.16 (the last one out clears WAITERS|HANDOFF) */
  private rwsemDelWaiter(w: RwsemWaiter<T>): void {
    const prev = w.prev;
    const next = w.next;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    w.prev = null;
    w.next = null;
    this.nrWaiters--;
    if (this.nrWaiters === 0) this.handoff = false;
  }

  private checkIdle(w: RwsemWaiter<T>): void {
    if (w.state !== WAITER_IDLE)
      throw new Error("@mmlab/rwsem: a waiter record can be queued once");
  }

  // ---------------------------------------------------------------- introspection

  /** Waiters in queue order, head first. */
  waiterList(): RwsemWaiter<T>[] {
    const out: RwsemWaiter<T>[] = [];
    for (let w = this.head; w !== null; w = w.next) out.push(w);
    return out;
  }

  /**
   * Check the invariants in the header; throws Error naming the first broken one.
   * `quiescent`: also check that no waiter is stranded (call it when every woken task has run).
   */
  validate(quiescent = false): void {
    const name = this.config.name;
    if (this.readers < 0 || !Number.isInteger(this.readers)) {
      throw new Error(`@mmlab/rwsem: ${name}: reader count ${this.readers}`);
    }
    if (this.writeLocked && this.readers !== 0) {
      throw new Error(`@mmlab/rwsem: ${name}: writer together with ${this.readers} readers`);
    }
    let n = 0;
    let prev: RwsemWaiter<T> | null = null;
    for (let w = this.head; w !== null; w = w.next) {
      if (w.prev !== prev) throw new Error(`@mmlab/rwsem: ${name}: broken wait_list link`);
      if (w.state !== WAITER_QUEUED) {
        throw new Error(`@mmlab/rwsem: ${name}: non-queued waiter on the wait_list`);
      }
      prev = w;
      n++;
    }
    if (prev !== this.tail) throw new Error(`@mmlab/rwsem: ${name}: wait_list tail mismatch`);
    if (n !== this.nrWaiters) {
      throw new Error(`@mmlab/rwsem: ${name}: nrWaiters ${this.nrWaiters} but ${n} queued`);
    }
    if (this.handoff && (this.gen === GEN_V418 || n === 0)) {
      throw new Error(`@mmlab/rwsem: ${name}: HANDOFF set without waiters`);
    }
    if (quiescent && n > 0 && !this.writeLocked && this.readers === 0) {
      const h = this.head;
      if (h === null || h.type !== RWSEM_WAITING_FOR_WRITE || !h.woken) {
        throw new Error(`@mmlab/rwsem: ${name}: lock free but its ${n} waiters are stranded`);
      }
    }
  }
}
