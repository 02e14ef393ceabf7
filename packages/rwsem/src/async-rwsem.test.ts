import { describe, expect, it } from "vitest";
import { AsyncRwSemaphore } from "./async-rwsem.js";

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("AsyncRwSemaphore", () => {
  it("uncontended acquisitions return one shared, already resolved promise", async () => {
    const sem = new AsyncRwSemaphore();
    const a = sem.downRead();
    const b = sem.downRead();
    expect(a).toBe(b);
    expect(sem.readers).toBe(2);
    sem.upRead();
    sem.upRead();
    expect(sem.downWrite()).toBe(a);
    expect(sem.isWriteLocked).toBe(true);
    sem.upWrite();
    await a;
  });

  it("a queued writer blocks later readers; readers behind it are granted together", async () => {
    const sem = new AsyncRwSemaphore();
    const log: string[] = [];
    await sem.downRead();
    sem.downWrite().then(() => log.push("w"));
    sem.downRead().then(() => log.push("r2"));
    sem.downRead().then(() => log.push("r3"));
    expect(sem.downReadTrylock()).toBe(false);
    await settle();
    expect(log).toEqual([]);
    expect(sem.waiters().map((w) => w.type)).toEqual(["write", "read", "read"]);
    sem.upRead();
    await settle();
    expect(log).toEqual(["w"]);
    sem.upWrite();
    await settle();
    expect(log).toEqual(["w", "r2", "r3"]);
    expect(sem.readers).toBe(2);
    sem.validate(true);
  });

  it("downgradeWrite lets head readers in but not readers behind a queued writer (v4.18)", async () => {
    const sem = new AsyncRwSemaphore();
    const log: string[] = [];
    await sem.downWrite();
    sem.downRead().then(() => log.push("r1"));
    sem.downWrite().then(() => log.push("w2"));
    sem.downRead().then(() => log.push("r3"));
    sem.downgradeWrite();
    await settle();
    expect(log).toEqual(["r1"]);
    sem.upRead();
    await settle();
    expect(log).toEqual(["r1"]); // w2 waits for every reader, including the downgraded one
    sem.upRead();
    await settle();
    expect(log).toEqual(["r1", "w2"]);
  });

  it("an abandoned writer at the head lets the readers behind it in, and rejects with the reason", async () => {
    const sem = new AsyncRwSemaphore();
    const log: string[] = [];
    await sem.downRead();
    const ac = new AbortController();
    const reason = new Error("EINTR");
    sem.downWrite({ signal: ac.signal }).then(
      () => log.push("w got it"),
      (e: unknown) => log.push(e === reason ? "w aborted" : "w: wrong reason"),
    );
    sem.downRead().then(() => log.push("r2"));
    sem.downRead().then(() => log.push("r3"));
    await settle();
    ac.abort(reason);
    await settle();
    expect(log).toEqual(["w aborted", "r2", "r3"]);
    expect(sem.readers).toBe(3);
    expect(sem.waiting).toBe(0);
    sem.validate(true);
  });

  it("abandoned waits leave the lock usable (the peers' failure mode)", async () => {
    for (const generation of ["v4.18", "v5.3"] as const) {
      const sem = new AsyncRwSemaphore({ generation });
      await sem.downWrite();
      const acs = Array.from({ length: 6 }, () => new AbortController());
      const outcomes: string[] = [];
      acs.forEach((ac, i) => {
        const p =
          i % 2 === 0 ? sem.downRead({ signal: ac.signal }) : sem.downWrite({ signal: ac.signal });
        p.then(
          () => outcomes.push(`${i} got`),
          () => outcomes.push(`${i} gave up`),
        );
      });
      for (const ac of acs) ac.abort();
      await settle();
      expect(sem.waiting).toBe(0);
      sem.upWrite();
      expect(sem.isWriteLocked || sem.readers > 0).toBe(false);
      // a fresh writer and reader get the lock at once
      await sem.write(() => undefined);
      await sem.read(() => undefined);
      expect(outcomes.sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${i} gave up`));
      sem.validate(true);
    }
  });

  it("a signal already aborted rejects only if the caller would have to wait", async () => {
    const sem = new AsyncRwSemaphore();
    const ac = new AbortController();
    ac.abort(new Error("dead"));
    await sem.downRead({ signal: ac.signal }); // fast path: the kernel takes it too
    await expect(sem.downWrite({ signal: ac.signal })).rejects.toThrow("dead");
    expect(sem.waiting).toBe(0);
    sem.upRead();
  });

  it("an abort after the grant changes nothing", async () => {
    const sem = new AsyncRwSemaphore();
    await sem.downWrite();
    const ac = new AbortController();
    const p = sem.downRead({ signal: ac.signal });
    sem.upWrite();
    ac.abort();
    await p;
    expect(sem.readers).toBe(1);
  });

  it("read()/write() release when fn throws", async () => {
    const sem = new AsyncRwSemaphore();
    await expect(
      sem.write(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await expect(sem.read(async () => Promise.reject(new Error("bang")))).rejects.toThrow("bang");
    expect(sem.isWriteLocked || sem.readers > 0).toBe(false);
    expect(await sem.read(() => 42)).toBe(42);
  });

  it("v5.3 grants 256 readers from anywhere in the queue", async () => {
    const sem = new AsyncRwSemaphore({ generation: "v5.3" });
    await sem.downWrite();
    let got = 0;
    sem.downRead().then(() => got++); // a reader at the head...
    sem.downWrite().then(() => got--); // ...a writer behind it is skipped
    for (let i = 1; i < 300; i++) sem.downRead().then(() => got++);
    sem.upWrite();
    await settle();
    expect(got).toBe(256);
    expect(sem.waiters().map((w) => w.type)).toEqual(["write", ...Array(44).fill("read")]);
  });

  it("detects misuse it can see", () => {
    const sem = new AsyncRwSemaphore({ name: "mmap_sem" });
    expect(() => sem.upRead()).toThrow(
      "@mmlab/rwsem: upRead() on mmap_sem which has no active readers",
    );
    expect(() => sem.upWrite()).toThrow(
      "@mmlab/rwsem: upWrite() on mmap_sem which is not write locked",
    );
    sem.downReadTrylock();
    expect(() => sem.downgradeWrite()).toThrow(
      "@mmlab/rwsem: downgradeWrite() on mmap_sem which is not write locked",
    );
    expect(sem.readers).toBe(1);
    expect(() => new AsyncRwSemaphore({ generation: "v9" as "v5.3" })).toThrow(RangeError);
  });

  it("keeps wait/hold statistics with the given clock; a downgrade splits the hold", async () => {
    let t = 0;
    const sem = new AsyncRwSemaphore({ clock: () => t });
    await sem.downWrite();
    const r = sem.downRead();
    t = 10;
    sem.downgradeWrite(); // exclusive 0..10, shared from 10; the reader waited 10
    await r;
    t = 25;
    sem.upRead(); // ends the oldest read hold: the downgraded one (15)
    t = 30;
    sem.upRead(); // the reader's (20)
    const s = sem.stats();
    expect(s.exclusive.hold).toMatchObject({ count: 1, total: 10, min: 10, max: 10 });
    expect(s.exclusive.wait).toMatchObject({ count: 1, total: 0 });
    expect(s.shared.wait).toMatchObject({ count: 1, total: 10, p50: 10 });
    expect(s.shared.hold).toEqual({
      count: 2,
      total: 35,
      min: 15,
      max: 20,
      mean: 17.5,
      p50: 15,
      p90: 20,
      p99: 20,
    });
  });
});
