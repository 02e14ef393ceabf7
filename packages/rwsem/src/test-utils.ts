/**
 * Test harness for RwsemCore without a scheduler: named actors take and release the lock,
 * woken writers retry when the test says so (as woken tasks run after the waker yields), and
 * every step appends [name, now, event] to a log, SimPy style.
 */
import {
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  RwsemCore,
  RwsemWaiter,
  type RwsemWakeTarget,
  rwsemConfig,
  WAITER_QUEUED,
} from "./rwsem-core.js";
import type { RwsemOptions } from "./types.js";

export type LogEntry = [string, number, string];

export class CoreHarness implements RwsemWakeTarget<string> {
  readonly core: RwsemCore<string>;
  readonly log: LogEntry[] = [];
  now = 0;
  /** writers woken and not yet run, in wake order */
  readonly woken: RwsemWaiter<string>[] = [];
  readonly holders = new Map<string, "read" | "write">();
  readonly queued = new Map<string, RwsemWaiter<string>>();
  /** grant order of waiters that queued (fast-path acquisitions excluded) */
  readonly grantOrder: string[] = [];

  constructor(opts?: RwsemOptions) {
    this.core = new RwsemCore<string>(this, rwsemConfig(opts));
  }

  private note(name: string, ev: string): void {
    this.log.push([name, this.now, ev]);
  }

  rwsemGrant(w: RwsemWaiter<string>): void {
    this.queued.delete(w.data);
    this.holders.set(w.data, "read");
    this.grantOrder.push(w.data);
    this.note(w.data, "acquire read");
  }

  rwsemWakeWriter(w: RwsemWaiter<string>): void {
    if (!this.woken.includes(w)) this.woken.push(w);
  }

  read(name: string): void {
    if (this.core.downReadFast()) {
      this.holders.set(name, "read");
      this.note(name, "acquire read");
      return;
    }
    const w = new RwsemWaiter(RWSEM_WAITING_FOR_READ, name);
    this.queued.set(name, w);
    this.note(name, "wait read");
    this.core.rwsemDownReadSlowpath(w, this.now);
  }

  write(name: string): void {
    if (this.core.downWriteFast()) {
      this.holders.set(name, "write");
      this.note(name, "acquire write");
      return;
    }
    const w = new RwsemWaiter(RWSEM_WAITING_FOR_WRITE, name);
    this.queued.set(name, w);
    this.note(name, "wait write");
    if (this.core.rwsemDownWriteSlowpath(w, this.now)) this.writerGot(w);
  }

  private writerGot(w: RwsemWaiter<string>): void {
    this.queued.delete(w.data);
    this.holders.set(w.data, "write");
    this.grantOrder.push(w.data);
    this.note(w.data, "acquire write");
  }

  up(name: string): void {
    const mode = this.holders.get(name);
    if (mode === undefined) throw new Error(`${name} holds nothing`);
    this.holders.delete(name);
    this.note(name, `release ${mode}`);
    if (mode === "read") this.core.upRead(this.now);
    else this.core.upWrite(this.now);
  }

  downgrade(name: string): void {
    if (this.holders.get(name) !== "write") throw new Error(`${name} is not the writer`);
    this.holders.set(name, "read");
    this.note(name, "downgrade");
    this.core.downgradeWrite(this.now);
  }

  abort(name: string): boolean {
    const w = this.queued.get(name);
    if (w === undefined || w.state !== WAITER_QUEUED) return false;
    this.queued.delete(name);
    const i = this.woken.indexOf(w);
    if (i >= 0) this.woken.splice(i, 1);
    this.note(name, "abort");
    return this.core.rwsemAbortWaiter(w, this.now);
  }

  /** Let every woken writer run once (in wake order), as the woken tasks would. */
  runWoken(): void {
    while (this.woken.length > 0) {
      const w = this.woken.shift() as RwsemWaiter<string>;
      if (w.state !== WAITER_QUEUED) continue;
      if (this.core.writerRetry(w, this.now)) this.writerGot(w);
      else this.note(w.data, "retry failed");
    }
  }

  waiterNames(): string[] {
    return this.core.waiterList().map((w) => w.data);
  }
}
