/**
 * The first-touch floor of the default run (issue 18, goal 1). On a VM that gives freed memory
 * back to its host (virtio-balloon free page reporting), a process pays in sys time for every
 * MiB it touches for the first time; no code in this repository can avoid paying for the
 * memory the model must hold. This script measures that price beside the default run:
 *
 *   floor  a C program (first-touch.c, built here with cc) touching the least memory the
 *          faithful layout needs at --size: one 8-byte PTE and one 2-byte struct page word
 *          per 4 KiB page (640 + 160 MiB at 320 GiB), and nothing else
 *   bench  `mmlab-bench --quiet --size SIZE` (the built CLI), measured by the same C program
 *          through RUSAGE_CHILDREN (the CLI re-runs itself with huge pages; that child counts)
 *
 * The two alternate, each after --idle seconds without a run (default 20: long enough for
 * this VM to report the previous run's memory free again, as before a user's first run), and
 * the script prints median (min–max) of wall, user, sys, faults and peak RSS per side.
 *
 *   pnpm turbo run build --filter=@mmlab/bench...   # the script runs the built CLI
 *   pnpm exec tsx apps/bench/bench/first-touch.ts [--runs 5] [--idle 20] [--size 320]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

const CLI = new URL("../dist/cli.js", import.meta.url).pathname;
const SOURCE = new URL("first-touch.c", import.meta.url).pathname;

function arg(name: string, fallback: number, least: number): number {
  const i = process.argv.indexOf(name);
  const v = Number(i >= 0 ? process.argv[i + 1] : fallback);
  if (!Number.isInteger(v) || v < least) {
    console.error(`first-touch: ${name} wants an integer of at least ${least}`);
    process.exit(2);
  }
  return v;
}
const runs = arg("--runs", 5, 1);
const idleS = arg("--idle", 20, 0);
const sizeGiB = arg("--size", 320, 1);

/** The faithful layout's least memory: a PTE (8 B) and a struct page word (2 B) per page. */
const pages = (sizeGiB * 2 ** 30) / 4096;
const floorMiB = Math.ceil((pages * (8 + 2)) / 2 ** 20);

interface Usage {
  wall: number;
  user: number;
  sys: number;
  faults: number;
  maxrssMiB: number;
}

const dir = mkdtempSync(join(os.tmpdir(), "mmlab-first-touch-"));
const bin = join(dir, "first-touch");
try {
  execFileSync("cc", ["-O2", "-o", bin, SOURCE], { stdio: "inherit" });
} catch {
  console.error("first-touch: needs a C compiler (cc) to build first-touch.c");
  process.exit(2);
}
readFileSync(CLI); // fail early, with the path, if the CLI is not built

function measure(args: string[]): Usage {
  const out = execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] as string) as Usage;
}

const sides: Record<string, { args: string[]; runs: Usage[] }> = {
  [`floor: touch ${floorMiB} MiB (C)`]: { args: [String(floorMiB)], runs: [] },
  "bench: mmlab-bench --quiet": {
    args: ["--", process.execPath, CLI, "--quiet", "--size", `${sizeGiB}G`],
    runs: [],
  },
};

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
for (let r = 0; r < runs; r++) {
  for (const [name, side] of Object.entries(sides)) {
    await sleep(idleS);
    const load = os.loadavg()[0]?.toFixed(2);
    const u = measure(side.args);
    side.runs.push(u);
    console.error(
      `run ${r + 1}/${runs} ${name}: sys ${u.sys.toFixed(2)} s, wall ${u.wall.toFixed(2)} s (load ${load})`,
    );
  }
}

function stat(xs: number[], digits: number): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)] as number;
  const f = (x: number) =>
    x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return `${f(med)} (${f(s[0] as number)}–${f(s[s.length - 1] as number)})`;
}

console.log(
  `- Machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model.trim()}, Node ${process.version}, Linux ${os.release()}`,
);
console.log(
  `- Size ${sizeGiB} GiB (${pages.toLocaleString("en-US")} pages); ${runs} runs per side, ${idleS} s idle before each; median (min–max)`,
);
console.log("");
console.log("| side | wall s | user s | sys s | page faults | peak RSS MiB |");
console.log("|---|---|---|---|---|---|");
for (const [name, side] of Object.entries(sides)) {
  const col = (k: keyof Usage, d: number) =>
    stat(
      side.runs.map((u) => u[k]),
      d,
    );
  console.log(
    `| ${name} | ${col("wall", 2)} | ${col("user", 2)} | ${col("sys", 2)} | ${col("faults", 0)} | ${col("maxrssMiB", 0)} |`,
  );
}
