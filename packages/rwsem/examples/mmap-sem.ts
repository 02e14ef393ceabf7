/**
 * The README's first command: a small experiment on @mmlab/sched + @mmlab/rwsem.
 *
 * Eight `ps`-like readers take mmap_sem for read every 2 ms; a `munmap` writer holds it
 * exclusively for 30 ms, once with the whole job under the write lock and once downgrading
 * to a read lock after the first 10 us (the do_munmap_zap_rlock idea). The lock's own
 * statistics show what that does to the readers' waits.
 */
import { RwSemaphore, type RwsemStats } from "@mmlab/rwsem";
import { cpu, Sim, sleep } from "@mmlab/sched";

const MS = 1e6;
const US = 1e3;

function experiment(downgrade: boolean): RwsemStats {
  const sim = new Sim({ seed: 42 });
  const sem = new RwSemaphore(sim, { name: "mmap_sem" });
  for (let i = 0; i < 8; i++) {
    sim.spawn(`ps-${i}`, function* () {
      yield sleep(i * 250 * US);
      for (let n = 0; n < 30; n++) {
        yield* sem.downRead();
        yield cpu(20 * US); // read /proc/PID/cmdline
        sem.upRead();
        yield sleep(2 * MS);
      }
    });
  }
  sim.spawn("munmap", function* () {
    yield sleep(10 * MS);
    yield* sem.downWrite();
    yield cpu(10 * US); // find, split and detach the VMAs
    if (downgrade) {
      sem.downgradeWrite();
      yield cpu(30 * MS); // zap the pages and free the page tables
      sem.upRead();
    } else {
      yield cpu(30 * MS);
      sem.upWrite();
    }
  });
  sim.run();
  return sem.stats();
}

const ms = (ns: number): string => `${(ns / MS).toFixed(3)} ms`;
for (const downgrade of [false, true]) {
  const s = experiment(downgrade);
  console.log(
    downgrade
      ? "munmap downgrades to read after 10 us:"
      : "munmap holds the write lock throughout:",
  );
  console.log(
    `  exclusive hold: max ${ms(s.exclusive.hold.max)}   shared holds: ${s.shared.hold.count}, max ${ms(s.shared.hold.max)}`,
  );
  console.log(
    `  reader waits:   max ${ms(s.shared.wait.max)}, p99 ${ms(s.shared.wait.p99)}, mean ${ms(s.shared.wait.mean)} over ${s.shared.wait.count} acquisitions`,
  );
}
