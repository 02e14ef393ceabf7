/**
 * AsyncRwSemaphore against npm peers (async-rwlock, rwlock, async-mutex as a mutex baseline):
 *   1. uncontended read pairs/s and write pairs/s (acquire + release, awaited as a caller would)
 *   2. 100 readers + 10 writers contending, each holding across one await
 *   3. correctness probe: a wait abandoned (timeout / abort) — is a waiter lost, is the lock leaked?
 * Run: pnpm exec tsx packages/rwsem/bench/peers.ts
 */
import { Mutex, withTimeout } from "async-mutex";
import { RWLock } from "async-rwlock";
import RwLockCb from "rwlock";
import { AsyncRwSemaphore } from "../src/index.js";

interface Peer {
  name: string;
  read(): Promise<() => void>; // acquire shared; resolves with the release function
  write(): Promise<() => void>;
}

function ours(): Peer {
  const sem = new AsyncRwSemaphore();
  const upRead = () => sem.upRead();
  const upWrite = () => sem.upWrite();
  return {
    name: "@mmlab/rwsem AsyncRwSemaphore",
    read: async () => {
      await sem.downRead();
      return upRead;
    },
    write: async () => {
      await sem.downWrite();
      return upWrite;
    },
  };
}
function asyncRwlock(): Peer {
  const l = new RWLock();
  const unlock = () => l.unlock();
  return {
    name: "async-rwlock 1.1.1",
    read: async () => {
      await l.readLock();
      return unlock;
    },
    write: async () => {
      await l.writeLock();
      return unlock;
    },
  };
}
function rwlock(): Peer {
  const l = new RwLockCb();
  return {
    name: "rwlock 5.0.0",
    read: () => new Promise((res) => l.readLock((release: () => void) => res(release))),
    write: () => new Promise((res) => l.writeLock((release: () => void) => res(release))),
  };
}
function asyncMutex(): Peer {
  const m = new Mutex();
  return { name: "async-mutex 0.5.0 (Mutex)", read: () => m.acquire(), write: () => m.acquire() };
}

const N = 1_000_000;

/** Best of 5 rounds of N awaited pairs, in pairs/s. */
async function pairs(fn: () => Promise<void>): Promise<number> {
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn();
    const dt = performance.now() - t0;
    best = Math.max(best, N / (dt / 1000));
  }
  return best;
}

async function contended(p: Peer): Promise<{ opsPerSec: number; ms: number }> {
  const ITER = 2000;
  const t0 = performance.now();
  const workers: Promise<void>[] = [];
  for (let r = 0; r < 100; r++) {
    workers.push(
      (async () => {
        for (let i = 0; i < ITER; i++) {
          const release = await p.read();
          await null; // hold across one await
          release();
        }
      })(),
    );
  }
  for (let w = 0; w < 10; w++) {
    workers.push(
      (async () => {
        for (let i = 0; i < ITER; i++) {
          const release = await p.write();
          await null;
          release();
        }
      })(),
    );
  }
  await Promise.all(workers);
  const ms = performance.now() - t0;
  return { opsPerSec: (110 * ITER) / (ms / 1000), ms };
}

// ---------------------------------------------------------------- abandoned waits

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Probe {
  name: string;
  /** hold the write lock; returns release */
  hold(): Promise<() => void>;
  /** queue a reader that gives up after 1 ms */
  readWithTimeout(): Promise<(() => void) | null>;
  /** queue a reader that waits for ever */
  read(): Promise<() => void>;
  /** can a writer get the lock within 50 ms? */
  writeWithin(ms: number): Promise<boolean>;
}

function probeOurs(): Probe {
  const sem = new AsyncRwSemaphore();
  return {
    name: "@mmlab/rwsem AsyncRwSemaphore (AbortSignal)",
    hold: async () => {
      await sem.downWrite();
      return () => sem.upWrite();
    },
    readWithTimeout: () =>
      sem.downRead({ signal: AbortSignal.timeout(1) }).then(
        () => () => sem.upRead(),
        () => null,
      ),
    read: async () => {
      await sem.downRead();
      return () => sem.upRead();
    },
    writeWithin: (ms) => {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), ms);
      return sem.downWrite({ signal: ac.signal }).then(
        () => {
          clearTimeout(t);
          sem.upWrite();
          return true;
        },
        () => false,
      );
    },
  };
}
function probeAsyncRwlock(): Probe {
  const l = new RWLock();
  return {
    name: "async-rwlock (readLock(timeout))",
    hold: async () => {
      await l.writeLock();
      return () => l.unlock();
    },
    readWithTimeout: () =>
      l.readLock(1).then(
        () => () => l.unlock(),
        () => null,
      ),
    read: async () => {
      await l.readLock();
      return () => l.unlock();
    },
    writeWithin: (ms) =>
      l.writeLock(ms).then(
        () => {
          l.unlock();
          return true;
        },
        () => false,
      ),
  };
}
function probeRwlock(): Probe {
  const l = new RwLockCb();
  return {
    name: "rwlock ({ timeout })",
    hold: () => new Promise((res) => l.writeLock((rel: () => void) => res(rel))),
    readWithTimeout: () =>
      new Promise((res) =>
        l.readLock((rel: () => void) => res(rel), { timeout: 1, timeoutCallback: () => res(null) }),
      ),
    read: () => new Promise((res) => l.readLock((rel: () => void) => res(rel))),
    writeWithin: (ms) =>
      new Promise((res) =>
        l.writeLock(
          (rel: () => void) => {
            rel();
            res(true);
          },
          { timeout: ms, timeoutCallback: () => res(false) },
        ),
      ),
  };
}
function probeAsyncMutex(): Probe {
  const m = new Mutex();
  const timed = withTimeout(m, 1);
  return {
    name: "async-mutex (withTimeout)",
    hold: () => m.acquire(),
    readWithTimeout: () =>
      timed.acquire().then(
        (rel) => rel,
        () => null,
      ),
    read: () => m.acquire(),
    writeWithin: (ms) =>
      withTimeout(m, ms)
        .acquire()
        .then(
          (rel) => {
            rel();
            return true;
          },
          () => false,
        ),
  };
}

/**
 * Writer holds; a patient reader P and an impatient reader I queue (in `order`); I gives up;
 * the writer releases. Verdict: was P served (else a waiter was lost), and can a writer get
 * the lock after P releases (else the lock leaked)?
 */
async function probe(mk: () => Probe, order: "patient first" | "impatient first") {
  const p = mk();
  const release = await p.hold();
  let patient: Promise<() => void>;
  let impatient: Promise<(() => void) | null>;
  if (order === "patient first") {
    patient = p.read();
    impatient = p.readWithTimeout();
  } else {
    impatient = p.readWithTimeout();
    patient = p.read();
  }
  await sleepMs(10);
  release();
  const served = await Promise.race([patient.then(() => true), sleepMs(50).then(() => false)]);
  if (served) (await patient)();
  const late = await impatient; // a timed-out wait that still got the lock would leak it
  if (late) late();
  const usable = await p.writeWithin(50);
  return { name: p.name, order, served, usable, impatientGotLockAnyway: late !== null };
}

function machine(): string {
  return `node ${process.version}`;
}

async function main(): Promise<void> {
  const peers = [ours, asyncRwlock, rwlock, asyncMutex];
  console.log(`# rwsem peers benchmark (${machine()}), N = ${N} pairs, best of 5`);
  console.log("\n| library | read pairs/s | write pairs/s | 100R+10W contended ops/s |");
  console.log("|---|---:|---:|---:|");
  for (const mk of peers) {
    const pr = mk();
    const rd = await pairs(async () => (await pr.read())());
    const wr = await pairs(async () => (await pr.write())());
    const c = await contended(mk());
    console.log(
      `| ${pr.name} | ${(rd / 1e6).toFixed(2)} M | ${(wr / 1e6).toFixed(2)} M | ${(c.opsPerSec / 1e6).toFixed(2)} M (${c.ms.toFixed(0)} ms) |`,
    );
  }
  // the raw API, as a caller of AsyncRwSemaphore writes it (no wrapper closure)
  const sem = new AsyncRwSemaphore();
  const rawRead = await pairs(async () => {
    await sem.downRead();
    sem.upRead();
  });
  const rawWrite = await pairs(async () => {
    await sem.downWrite();
    sem.upWrite();
  });
  const sync = await pairs(() => {
    sem.downReadTrylock();
    sem.upRead();
    return Promise.resolve();
  });
  console.log(
    `\nAsyncRwSemaphore raw API: read pairs ${(rawRead / 1e6).toFixed(2)} M/s, write pairs ${(rawWrite / 1e6).toFixed(2)} M/s` +
      ` (await sem.downRead(); sem.upRead()); trylock+upRead in an awaited loop ${(sync / 1e6).toFixed(2)} M/s`,
  );

  console.log(
    "\n| library | order | patient waiter served | lock usable after | timed-out waiter got the lock |",
  );
  console.log("|---|---|---|---|---|");
  for (const mk of [probeOurs, probeAsyncRwlock, probeRwlock, probeAsyncMutex]) {
    for (const order of ["patient first", "impatient first"] as const) {
      const r = await probe(mk, order);
      console.log(
        `| ${r.name} | ${r.order} | ${r.served ? "yes" : "**NO (lost)**"} | ${r.usable ? "yes" : "**NO (leaked)**"} | ${r.impatientGotLockAnyway ? "yes" : "no"} |`,
      );
    }
  }
  console.log(`\npeak RSS ${process.resourceUsage().maxRSS} KiB`);
}

await main();
