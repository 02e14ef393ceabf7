/**
 * BullMQ on a real redis-server (Debian's package), never a mock: each test file run starts
 * its own server on a free loopback port in a temporary directory. Without redis-server the
 * tests skip locally with a message and FAIL in CI (CI=true), where .ci/run installs it.
 * Stalled-job settings are short (--lock 1s) so that the fault tests take seconds.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchVersion } from "../context.js";
import type { ExploreJson } from "../explore.js";
import { runCli } from "../test-cli.js";
import { cutExplore } from "./jobs.js";
import { QUEUE_NAME, queueRunner, type RunningWorker, startQueueWorker } from "./queue.js";
import { parseQueueUrl } from "./queue-url.js";
import { freePort, RedisServer, redisServerPath } from "./redis-server.js";

const BIN = redisServerPath();
const IN_CI = process.env.CI === "true";
if (BIN === null && !IN_CI) {
  console.warn(
    "queue tests skipped: redis-server not found (Debian: apt-get install -y redis-server)",
  );
}
const CLI = new URL("../cli.ts", import.meta.url).pathname;

function withoutWall(text: string): unknown {
  const json = JSON.parse(text) as ExploreJson;
  return { ...json, results: json.results.map(({ wallMs: _w, ...r }) => r) };
}

/** `mmlab-bench worker` as its own process group (a dead machine: SIGKILL takes it all). */
function spawnWorker(url: string): { proc: ChildProcess; log: () => string } {
  let log = "";
  const proc = spawn(
    process.execPath,
    [
      "--conditions=@mmlab/source",
      "--import",
      "tsx",
      CLI,
      "worker",
      "--queue",
      url,
      "--concurrency",
      "1",
      "--lock",
      "1s",
    ],
    { detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  proc.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  return { proc, log: () => log };
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("--queue: bad or unreachable Redis exits 2 with one line (no server needed)", () => {
  it.each([
    ["http://127.0.0.1:6379", "protocol http: is not redis:"],
    ["redis://", "no host"],
    ["redis://127.0.0.1:99999", "not a URL"],
    ["redis://127.0.0.1:6379/a:b", 'prefix "a:b"'],
    ["nonsense", "not a URL"],
  ])("%s", async (url, what) => {
    for (const cmd of [["explore"], ["worker"]]) {
      const r = await runCli([...cmd, "--queue", url]);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(/^mmlab-bench: error: invalid --queue .*\n$/);
      expect(r.err).toContain(what);
    }
  });

  it("unreachable at start: `cannot reach redis://... (...)`, exit 2, for submitter and worker", async () => {
    const port = await freePort();
    for (const cmd of [["explore", "--schedules", "5"], ["worker"], ["sweep"], ["history"]]) {
      const r = await runCli([...cmd, "--queue", `redis://127.0.0.1:${port}/x`]);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toBe(
        `mmlab-bench: error: cannot reach redis://127.0.0.1:${port}/x (connect ECONNREFUSED 127.0.0.1:${port})\n`,
      );
    }
  });

  it("--fresh without --queue is a usage error", async () => {
    const r = await runCli(["explore", "--fresh"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--fresh only applies with --queue");
  });
});

describe.skipIf(BIN === null && !IN_CI)("BullMQ on a real redis-server", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    if (BIN === null)
      throw new Error(
        "redis-server is missing: CI must install it (apt-get install -y redis-server)",
      );
    redis = await RedisServer.start(BIN);
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  /** An in-process worker (its jobs still run on tinypool workers). */
  async function worker(prefix: string): Promise<{ w: RunningWorker; log: string[] }> {
    const log: string[] = [];
    const w = await startQueueWorker(parseQueueUrl(`${redis.url}/${prefix}`), {
      version: benchVersion(),
      concurrency: 1,
      lockMs: 1000,
      log: (l) => log.push(l),
    });
    return { w, log };
  }

  it("the merged result is the serial one; resubmitting reuses the results in Redis; --fresh runs again", async () => {
    const args = [
      "explore",
      "--scenario",
      "stack-expansion",
      "--strategy",
      "zapRlock",
      "--schedules",
      "40",
      "--chunk",
      "10",
      "--json",
    ];
    const serial = await runCli([...args, "--workers", "1"]);
    const { w } = await worker("reuse");
    try {
      // one job in flight: after the failure at seed 20 nothing else is issued, so counts are exact
      const q = ["--queue", `${redis.url}/reuse`, "--workers", "1"];
      const first = await runCli([...args, ...q]);
      expect(first.err).toBe("");
      expect(first.code).toBe(serial.code);
      expect(withoutWall(first.out)).toEqual(withoutWall(serial.out));
      const ran = w.completed();
      expect(ran).toBe(2); // seeds 1..10 and 11..20 (the race is at 20); 21..40 never issued
      const again = await runCli([...args, ...q]);
      expect(again.out).toBe(first.out); // the same results, wall times included: nothing ran
      expect(w.completed()).toBe(ran);
      const fresh = await runCli([...args, ...q, "--fresh"]);
      expect(withoutWall(fresh.out)).toEqual(withoutWall(serial.out));
      expect(w.completed()).toBe(2 * ran);
    } finally {
      await w.close();
    }
  }, 60_000);

  it("a worker of another version refuses the job, naming both versions; the submitter says so", async () => {
    const { w, log } = await worker("version");
    const runner = queueRunner(parseQueueUrl(`${redis.url}/version`), { concurrency: 1 });
    try {
      const [job] = cutExplore({
        version: "9.9.9-elsewhere",
        scenario: "stack-expansion",
        strategies: ["classic"],
        schedules: 1,
        firstSeed: 1,
        jitter: 0.5,
        shuffleTies: true,
        cost: "e5-2680-v4.18",
      });
      const mismatch = `version mismatch: the job was cut by mmlab 9.9.9-elsewhere, this worker runs mmlab ${benchVersion()}`;
      await expect(runner.run(job as NonNullable<typeof job>)).rejects.toThrow(mismatch);
      expect(log.join("\n")).toContain(mismatch);
    } finally {
      await runner.close();
      await w.close();
    }
  }, 30_000);

  it("a worker SIGKILLed mid-job: the stalled job moves to another worker, counted once, same result", async () => {
    const args = [
      "explore",
      "--scenario",
      "stack-expansion",
      "--strategy",
      "classic",
      "--schedules",
      "400",
      "--chunk",
      "200",
      "--json",
    ];
    const serial = await runCli([...args, "--workers", "1"]);
    const url = `${redis.url}/sigkill`;
    const doomed = spawnWorker(url);
    const queue = new Queue(QUEUE_NAME, {
      connection: { host: "127.0.0.1", port: redis.port },
      prefix: "sigkill",
    });
    let rescuer: RunningWorker | null = null;
    try {
      await until("the worker to start", () => doomed.log().includes("waiting for jobs"));
      const campaign = runCli([...args, "--queue", url]);
      await until("a job in progress", async () => (await queue.getActiveCount()) > 0);
      process.kill(-(doomed.proc.pid as number), "SIGKILL");
      rescuer = (await worker("sigkill")).w;
      const r = await campaign;
      expect(r.code).toBe(0);
      expect(withoutWall(r.out)).toEqual(withoutWall(serial.out));
      const jobs = await queue.getJobs(["completed"]);
      expect(jobs).toHaveLength(2);
      // BullMQ saw the stall and handed the job on; it finished once
      expect(jobs.some((j) => j.stalledCounter >= 1 || j.attemptsStarted >= 2)).toBe(true);
      expect(rescuer.completed()).toBe(2 - (doomed.log().match(/done explore/g) ?? []).length);
    } finally {
      if (doomed.proc.exitCode === null) {
        try {
          process.kill(-(doomed.proc.pid as number), "SIGKILL");
        } catch {}
      }
      await rescuer?.close();
      await queue.close();
    }
  }, 90_000);

  it("Redis stopped and restarted mid-campaign: everyone reconnects, nothing lost or counted twice", async () => {
    const args = [
      "explore",
      "--scenario",
      "stack-expansion",
      "--strategy",
      "classic",
      "--schedules",
      "120",
      "--chunk",
      "10",
      "--json",
    ];
    const serial = await runCli([...args, "--workers", "1"]);
    const { w } = await worker("restart");
    try {
      const campaign = runCli([...args, "--queue", `${redis.url}/restart`, "--workers", "4"]);
      await until("a few jobs done", () => w.completed() >= 2);
      await redis.stop();
      await new Promise((r) => setTimeout(r, 1500));
      await redis.resume();
      const r = await campaign;
      expect(r.code).toBe(0);
      expect(withoutWall(r.out)).toEqual(withoutWall(serial.out));
      expect(r.err).toMatch(/^mmlab-bench: redis: .*; retrying$/m);
    } finally {
      await w.close();
    }
  }, 90_000);
});
