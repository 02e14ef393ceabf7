/**
 * Campaign figures (issue 12): `explore` of the default scenario under `classic` (no
 * failure: every schedule runs) in three modes: in-process (`--workers 1`), 2 local tinypool
 * workers (`--workers 2`), and 2 BullMQ workers (`mmlab-bench worker --concurrency 1`, two
 * processes) on a local redis-server. For each schedule count: wall time, schedules/s, peak
 * RSS (GNU time's maximum resident set) of the submitter and of each worker. Then the queue's
 * per-job overhead against in-process, from one-schedule jobs. The merged JSON of the three
 * modes (wall times removed) must be byte-identical: the script exits 1 loudly otherwise.
 *
 *   pnpm turbo run build --filter=@mmlab/bench...   # the script runs the built CLI
 *   pnpm exec tsx apps/bench/bench/campaign.ts [--sizes 10000,100000] [--overhead-jobs 1000]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { RedisServer, redisServerPath } from "../src/campaign/redis-server.js";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;
const TIME = "/usr/bin/time";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const sizes = arg("--sizes", "10000,100000").split(",").map(Number);
const overheadJobs = Number(arg("--overhead-jobs", "1000"));

interface Ran {
  stdout: string;
  stderr: string;
  wallS: number;
  maxRssKiB: number;
  code: number;
}

/** Runs the built CLI under GNU time; its last stderr line is "maxRSS wall". */
function start(args: string[]): { proc: ChildProcess; done: Promise<Ran>; err: () => string } {
  // its own process group: GNU time ignores SIGINT, so Ctrl-C goes to the group
  const proc = spawn(TIME, ["-f", "%M %e", process.execPath, CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  proc.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Ran>((resolve) => {
    proc.on("exit", (code) => {
      const lines = stderr.trimEnd().split("\n");
      const [rss, wall] = (lines.pop() ?? "0 0").split(" ").map(Number);
      resolve({
        stdout,
        stderr: lines.join("\n"),
        wallS: wall ?? 0,
        maxRssKiB: rss ?? 0,
        code: code ?? -1,
      });
    });
  });
  return { proc, done, err: () => stderr };
}

/** The merged JSON without wall times: what must be byte-identical across modes. */
function comparable(json: string): string {
  const x = JSON.parse(json) as { results: Array<{ wallMs?: number }> };
  for (const r of x.results) delete r.wallMs;
  return JSON.stringify(x);
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

async function withWorkers<T>(
  url: string,
  n: number,
  body: () => Promise<T>,
): Promise<{ value: T; workers: Ran[] }> {
  const ws = Array.from({ length: n }, () =>
    start(["worker", "--queue", url, "--concurrency", "1"]),
  );
  // wait until each says it is waiting for jobs
  for (const w of ws) {
    while (!w.err().includes("waiting for jobs")) {
      if (w.proc.exitCode !== null) throw new Error(`worker exited: ${w.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const value = await body();
  for (const w of ws) process.kill(-(w.proc.pid as number), "SIGINT"); // Ctrl-C: finish, stop
  return { value, workers: await Promise.all(ws.map((w) => w.done)) };
}

async function main(): Promise<number> {
  if (!existsSync(CLI)) throw new Error(`build first: ${CLI} is missing`);
  const bin = redisServerPath();
  if (bin === null) throw new Error("redis-server is missing (apt-get install -y redis-server)");
  const redis = await RedisServer.start(bin);
  const version = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  console.log(
    `# campaign figures: ${new Date().toISOString()}, mmlab ${version.version}, node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, redis ${bin}`,
  );
  let ok = true;
  try {
    // per-job overhead: one-schedule jobs, in-process against 1 BullMQ worker
    const jobs = [
      "explore",
      "--strategy",
      "classic",
      "--schedules",
      String(overheadJobs),
      "--chunk",
      "1",
      "--json",
    ];
    const before = load();
    const inproc = await start([...jobs, "--workers", "1"]).done;
    const url = `${redis.url}/overhead-${Date.now()}`;
    const q = await withWorkers(url, 1, () => start([...jobs, "--queue", url]).done);
    if (comparable(inproc.stdout) !== comparable(q.value.stdout)) {
      ok = false;
      console.error("\n!!! MISMATCH in the overhead run (JSON without wall times)\n");
    }
    const per = ((q.value.wallS - inproc.wallS) * 1000) / overheadJobs;
    console.log(
      `\nper-job overhead, ${overheadJobs} one-schedule jobs: in-process ${inproc.wallS.toFixed(1)} s, 1 BullMQ worker ${q.value.wallS.toFixed(1)} s → ${per.toFixed(2)} ms per job (load ${before} → ${load()})`,
    );
    console.log(
      "\n| schedules | mode | wall | schedules/s | peak RSS submitter | peak RSS workers | load before → after |",
    );
    console.log("|---|---|---|---|---|---|---|");
    for (const n of sizes) {
      const base = ["explore", "--strategy", "classic", "--schedules", String(n), "--json"];
      const outputs: Array<[string, string]> = [];
      const row = (mode: string, r: Ran, workers: string, before: string) => {
        if (r.code !== 0) throw new Error(`${mode} exited ${r.code}: ${r.stderr}`);
        outputs.push([mode, comparable(r.stdout)]);
        console.log(
          `| ${n.toLocaleString("en-US")} | ${mode} | ${r.wallS.toFixed(1)} s | ${Math.round(n / r.wallS).toLocaleString("en-US")} | ${mib(r.maxRssKiB)} | ${workers} | ${before} → ${load()} |`,
        );
      };
      let before = load();
      const one = await start([...base, "--workers", "1"]).done;
      row("in-process (--workers 1)", one, "–", before);
      before = load();
      const two = await start([...base, "--workers", "2"]).done;
      row("2 local workers (--workers 2)", two, "(threads of the submitter)", before);
      before = load();
      const url = `${redis.url}/bench-${n}-${Date.now()}`;
      const q = await withWorkers(url, 2, () => start([...base, "--queue", url]).done);
      row(
        "2 BullMQ workers (--queue)",
        q.value,
        q.workers.map((w) => mib(w.maxRssKiB)).join(", "),
        before,
      );
      const [first, ...rest] = outputs;
      for (const [mode, json] of rest) {
        if (json !== first?.[1]) {
          ok = false;
          console.error(
            `\n!!! MISMATCH at ${n} schedules: ${mode} differs from ${first?.[0]} (JSON without wall times)\n`,
          );
        }
      }
      if (ok) {
        console.log(
          `|  | merged JSON (wall times removed) of the 3 modes: byte-identical, ${first?.[1].length} bytes | | | | | |`,
        );
      }
    }
  } finally {
    await redis.destroy();
  }
  if (!ok) console.error("FAILED: the modes' merged results differ");
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
