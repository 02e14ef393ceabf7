/**
 * Scheduled events per second of @mmlab/sched.
 *   pnpm exec tsx packages/sched/bench/events.ts
 * Scenarios: (1) 1,000 tasks each doing 10,000 cpu() yields (heap of 1,000 events, all tied
 * in time), (2) the same with distinct per-task cpu lengths (a heap with real time order),
 * (3) a ping-pong pair waking each other with wake()/block(), (4) 1,000 tasks on Sim({cpus: 2}).
 */
import { block, cpu, Sim, type Task } from "../src/index.js";

interface Result {
  name: string;
  events: number;
  ms: number;
}

function time(name: string, events: number, fn: () => void): Result {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  return { name, events, ms };
}

function cpuTasks(tasks: number, yields: number, distinct: boolean, cpus?: number): void {
  const sim = new Sim(cpus === undefined ? {} : { cpus });
  for (let t = 0; t < tasks; t++) {
    const tick = cpu(distinct ? 1000 + t : 1000);
    sim.spawn(`w${t}`, function* () {
      for (let i = 0; i < yields; i++) yield tick;
    });
  }
  sim.run();
}

function cpuTasksFresh(tasks: number, yields: number): void {
  const sim = new Sim();
  for (let t = 0; t < tasks; t++) {
    sim.spawn(`w${t}`, function* () {
      for (let i = 0; i < yields; i++) yield cpu(1000 + (i & 7));
    });
  }
  sim.run();
}

function pingPong(rounds: number): void {
  // pong blocks first; then each round is two wake-ups: ping -> pong, pong -> ping.
  const sim = new Sim();
  const pong = sim.spawn("pong", function* () {
    for (let i = 0; i < rounds; i++) {
      yield block("uninterruptible");
      sim.wake(ping, i);
    }
  });
  const ping: Task = sim.spawn("ping", function* () {
    for (let i = 0; i < rounds; i++) {
      sim.wake(pong, i);
      yield block("uninterruptible");
    }
  });
  sim.run();
  if (ping.state !== "dead" || pong.state !== "dead") throw new Error("ping-pong did not finish");
}

const runs: Array<() => Result> = [
  () =>
    time("1,000 tasks x 10,000 cpu() (reused instruction)", 1000 * 10000, () =>
      cpuTasks(1000, 10000, false),
    ),
  () =>
    time("1,000 tasks x 10,000 cpu() (distinct lengths)", 1000 * 10000, () =>
      cpuTasks(1000, 10000, true),
    ),
  () =>
    time("1,000 tasks x 10,000 cpu(ns) (new instruction per yield)", 1000 * 10000, () =>
      cpuTasksFresh(1000, 10000),
    ),
  () =>
    time("ping-pong wake/block pair, 2 x 2,500,000 wake-ups", 5_000_000, () => pingPong(2_500_000)),
  () =>
    time("1,000 tasks x 2,000 cpu() on Sim({ cpus: 2 })", 1000 * 2000, () =>
      cpuTasks(1000, 2000, true, 2),
    ),
];

// Warm up once on a small size so the JIT has compiled the loop.
cpuTasks(100, 1000, true);
pingPong(10000);

console.log(`node ${process.version}, ${process.arch}`);
for (const run of runs) {
  const r = run();
  const perSec = r.events / (r.ms / 1000);
  console.log(
    `${r.name.padEnd(60)} ${(perSec / 1e6).toFixed(2).padStart(6)} M events/s  ${((r.ms * 1e6) / r.events).toFixed(1).padStart(6)} ns/event  (${r.ms.toFixed(0)} ms)`,
  );
}
console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
