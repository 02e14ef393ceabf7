// The consumer check: what would be published, installed and used as a user would, outside the
// workspace. Run after `pnpm build`: `node scripts/consumer-check.mjs [--keep]`.
//
// 1. `pnpm pack` every package into a temp folder and check each tarball: LICENSE, README.md,
//    no tests, source maps whose sources are inside the package, README links to files the
//    tarball holds; print its size.
// 2. In a fresh directory outside the workspace, `npm install` only the tarballs (every
//    @mmlab/* package from its tarball, one copy each; other dependencies from the registry).
// 3. Run each library README's first example, copied verbatim from the README, as ESM (.mjs)
//    and through require() (.cjs), and compare its stdout with the README's "Output" block.
// 4. One program with two copies of @mmlab/sched (its ESM build and, through a CJS
//    @mmlab/rwsem, its CJS build).
// 5. `tsc --noEmit` of a small consumer under moduleResolution node16 and bundler.
// 6. The installed `mmlab-bench`: --help, a bad flag, --size 1G --json against the documented
//    schema, replay of a fixture shipped in the package, an unwritable --report.
//
// Every failure names the package and the step; the exit code is 1 if any step failed.
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const keep = process.argv.includes("--keep");
const started = Date.now();
const failures = [];

/** Record a failure of one step of one package; never throws. */
function fail(pkg, step, detail) {
  failures.push(`${pkg}: ${step}: ${detail}`);
  process.stdout.write(`  FAIL ${pkg}: ${step}: ${detail}\n`);
}

function ok(pkg, step, note = "") {
  process.stdout.write(`  ok   ${pkg}: ${step}${note === "" ? "" : ` (${note})`}\n`);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 2 ** 20, ...opts });
}

function firstLines(text, n = 6) {
  return text.trim().split("\n").slice(0, n).join(" | ");
}

// ── 1. pack ──────────────────────────────────────────────────────────────────────────────────
const dirs = [
  "packages/sched",
  "packages/rwsem",
  "packages/vma-tree",
  "packages/page-table",
  "packages/mm-core",
  "apps/bench",
];
const tmp = mkdtempSync(path.join(tmpdir(), "mmlab-consumer-"));
const packDir = path.join(tmp, "tarballs");
mkdirSync(packDir);
const pkgs = [];
process.stdout.write(`consumer check in ${tmp}\n\npack and inspect\n`);
for (const dir of dirs) {
  const manifest = JSON.parse(readFileSync(path.join(root, dir, "package.json"), "utf8"));
  const name = manifest.name;
  if (!existsSync(path.join(root, dir, "dist"))) {
    fail(name, "pack", `${dir}/dist is missing: run pnpm build first`);
    continue;
  }
  const r = run("pnpm", ["pack", "--pack-destination", packDir], { cwd: path.join(root, dir) });
  const tarball = r.stdout
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .findLast((l) => l.endsWith(".tgz"));
  if (r.status !== 0 || tarball === undefined) {
    fail(name, "pack", firstLines(r.stderr || r.stdout));
    continue;
  }
  const pkg = { name, dir, manifest, tarball: path.resolve(packDir, tarball) };
  pkgs.push(pkg);
  inspectTarball(pkg);
}

/** LICENSE, README, no tests, maps inside the package, README links present; prints the size. */
function inspectTarball(pkg) {
  const list = execFileSync("tar", ["-tzf", pkg.tarball], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l !== "" && !l.endsWith("/"))
    .map((l) => l.replace(/^package\//, ""));
  const files = new Set(list);
  const problems = [];
  for (const required of ["LICENSE", "README.md", "package.json"]) {
    if (!files.has(required)) problems.push(`no ${required}`);
  }
  // what npm shows and links to: license, repository, homepage, bugs; CHANGELOG.md is published
  const m = pkg.manifest;
  if (m.license !== "MIT") problems.push(`license is ${m.license}, not MIT`);
  for (const field of ["repository", "homepage", "bugs"]) {
    if (m[field] === undefined) problems.push(`no "${field}" in package.json`);
  }
  if (!(m.files ?? []).includes("CHANGELOG.md")) problems.push(`"files" leaves out CHANGELOG.md`);
  if (m.private === true) problems.push("private: true (it would not be published)");
  const tests = list.filter((f) =>
    /(^|\/)[^/]*\.(test|spec)\.[cm]?[jt]sx?$|(^|\/)test-utils\./.test(f),
  );
  if (tests.length > 0) problems.push(`tests in the tarball: ${tests.slice(0, 3).join(", ")}`);
  const maps = list.filter((f) => f.endsWith(".map"));
  const extract = path.join(tmp, "extract", pkg.name.replace("/", "+"));
  mkdirSync(extract, { recursive: true });
  execFileSync("tar", ["-xzf", pkg.tarball, "-C", extract]);
  const base = path.join(extract, "package");
  for (const map of maps) {
    const json = JSON.parse(readFileSync(path.join(base, map), "utf8"));
    for (const source of json.sources ?? []) {
      const abs = path.resolve(path.dirname(path.join(base, map)), json.sourceRoot ?? "", source);
      const rel = path.relative(base, abs);
      if (rel.startsWith("..") || path.isAbsolute(rel)) {
        problems.push(`${map} points outside the package: ${source}`);
      } else if (!files.has(rel.split(path.sep).join("/"))) {
        problems.push(`${map} points to ${rel}, not in the tarball`);
      }
    }
  }
  // Relative links of the README (npm shows it on the package page) must be in the tarball.
  const readme = files.has("README.md") ? readFileSync(path.join(base, "README.md"), "utf8") : "";
  for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:|^#/.test(target)) continue;
    const rel = path.normalize(target.replace(/#.*$/, "")).replace(/\/$/, "");
    const inside = !rel.startsWith("..");
    const present = files.has(rel) || list.some((f) => f.startsWith(`${rel}/`));
    if (!inside || !present) problems.push(`README links to ${target}, not in the tarball`);
  }
  const size = statSync(pkg.tarball).size;
  const unpacked = list.reduce((sum, f) => sum + statSync(path.join(base, f)).size, 0);
  const note = `${path.basename(pkg.tarball)}: ${(size / 1024).toFixed(1)} kB packed, ${(unpacked / 1024).toFixed(1)} kB unpacked, ${list.length} files`;
  if (problems.length > 0) for (const p of problems) fail(pkg.name, "tarball contents", p);
  else ok(pkg.name, "tarball contents", note);
}

// ── 2. install the tarballs in a fresh project ─────────────────────────────────────────────
const app = path.join(tmp, "app");
mkdirSync(app);
writeFileSync(
  path.join(app, "package.json"),
  `${JSON.stringify({ name: "mmlab-consumer", version: "1.0.0", private: true }, null, 2)}\n`,
);
process.stdout.write(`\nnpm install of the ${pkgs.length} tarballs in ${app}\n`);
const install = run(
  "npm",
  [
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...pkgs.map((p) => p.tarball),
  ],
  { cwd: app },
);
let installed = install.status === 0;
if (!installed) fail("all packages", "npm install", firstLines(install.stderr || install.stdout));
else {
  // Every @mmlab/* package from its tarball, once: no registry copy, no nested copy.
  const lock = JSON.parse(readFileSync(path.join(app, "package-lock.json"), "utf8"));
  for (const [where, entry] of Object.entries(lock.packages ?? {})) {
    const m = /node_modules\/(@mmlab\/[^/]+)$/.exec(where);
    if (m === null) continue;
    if (where !== `node_modules/${m[1]}`) {
      fail(m[1], "npm install", `a second copy at ${where}`);
      installed = false;
    } else if (!String(entry.resolved ?? "").startsWith("file:")) {
      fail(m[1], "npm install", `not installed from its tarball (${entry.resolved})`);
      installed = false;
    }
  }
  if (installed) ok("all packages", "npm install", "each @mmlab/* package once, from its tarball");
}

// ── 3. README examples, ESM and CJS ────────────────────────────────────────────────────────
/** The README's first ```js block and the ``` block after the next paragraph saying "Output". */
function readmeExample(readme) {
  const blocks = [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)];
  const i = blocks.findIndex((b) => b[1] === "js" || b[1] === "mjs");
  if (i < 0) return null;
  const code = blocks[i][2];
  const next = blocks[i + 1];
  const between =
    next === undefined ? "" : readme.slice(blocks[i].index + blocks[i][0].length, next.index);
  const output =
    next !== undefined && /\bOutput\b/.test(between) && next[1] === "" ? next[2] : null;
  return { code, output };
}

/** import declarations to require() calls, for the CJS run of the same example. */
function toCjs(code) {
  return code.replace(
    /^import\s+(\{[\s\S]*?\}|\*\s+as\s+[\w$]+)\s+from\s+("[^"]+"|'[^']+');?/gm,
    (_, what, from) => {
      const binding = what.startsWith("*")
        ? what.replace(/^\*\s+as\s+/, "")
        : what.replace(/([\w$]+)\s+as\s+([\w$]+)/g, "$1: $2");
      return `const ${binding} = require(${from});`;
    },
  );
}

function sameOutput(actual, expected) {
  const norm = (s) =>
    s
      .split("\n")
      .map((l) => l.trimEnd())
      .join("\n")
      .trim();
  return norm(actual) === norm(expected);
}

function firstDifference(actual, expected) {
  const a = actual.trimEnd().split("\n");
  const e = expected.trimEnd().split("\n");
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if ((a[i] ?? "").trimEnd() !== (e[i] ?? "").trimEnd()) {
      return `line ${i + 1}: README "${e[i] ?? "(none)"}", got "${a[i] ?? "(none)"}"`;
    }
  }
  return "";
}

if (installed) {
  process.stdout.write("\nREADME examples (ESM and CJS)\n");
  mkdirSync(path.join(app, "examples"));
  for (const pkg of pkgs) {
    if (pkg.manifest.bin !== undefined) continue; // the CLI: checked below
    const readme = readFileSync(path.join(root, pkg.dir, "README.md"), "utf8");
    const example = readmeExample(readme);
    if (example === null) {
      fail(pkg.name, "README example", "no ```js block in README.md");
      continue;
    }
    if (example.output === null) {
      fail(pkg.name, "README example", "no Output block after the first ```js block");
    }
    const stem = path.join(app, "examples", pkg.name.replace("@mmlab/", ""));
    const variants = [["ESM", `${stem}.mjs`, example.code]];
    if (pkg.manifest.exports?.["."]?.require !== undefined) {
      variants.push(["CJS require()", `${stem}.cjs`, toCjs(example.code)]);
    }
    for (const [kind, file, code] of variants) {
      writeFileSync(file, code);
      const t0 = Date.now();
      const r = run(process.execPath, [file], { cwd: app });
      const step = `README example (${kind}, ${path.basename(file)})`;
      if (r.status !== 0) fail(pkg.name, step, `exit ${r.status}: ${firstLines(r.stderr)}`);
      else if (example.output !== null && !sameOutput(r.stdout, example.output)) {
        fail(
          pkg.name,
          step,
          `output differs from the README, ${firstDifference(r.stdout, example.output)}`,
        );
      } else ok(pkg.name, step, `${Date.now() - t0} ms`);
    }
  }

  // ── 4. two copies of @mmlab/sched: the app's ESM import, rwsem's CJS require ──────────────
  const dual = path.join(app, "two-copies.mjs");
  writeFileSync(
    dual,
    `import { createRequire } from "node:module";
import { cpu, Sim } from "@mmlab/sched";
const require = createRequire(import.meta.url);
const { RwSemaphore } = require("@mmlab/rwsem");
const cjsSched = require("@mmlab/sched");
if (cjsSched.Sim === Sim) throw new Error("expected two copies (ESM and CJS builds)");
const sim = new Sim();
const sem = new RwSemaphore(sim, { name: "mmap_sem" });
for (const comm of ["a", "b"]) {
  sim.spawn(comm, function* () {
    yield* sem.downWrite();
    yield cpu(1000);
    sem.upWrite();
  });
}
sim.run();
console.log(sem.history.map((r) => \`\${r.comm}:\${r.acquiredAt}\`).join(" "));
`,
  );
  const r = run(process.execPath, [dual], { cwd: app });
  if (r.status !== 0 || r.stdout.trim() !== "a:0 b:1000") {
    fail(
      "@mmlab/sched",
      "two copies in one program (ESM sched, CJS rwsem)",
      firstLines(r.stderr || r.stdout),
    );
  } else ok("@mmlab/sched", "two copies in one program (ESM sched, CJS rwsem)");

  // ── 5. tsc --noEmit under node16 and bundler ──────────────────────────────────────────────
  process.stdout.write("\ntypes\n");
  const consumer = `import { type Task, Sim, cpu } from "@mmlab/sched";
import { type AcquisitionRecord, RwSemaphore } from "@mmlab/rwsem";
import { createVmaTree, type VmaTree } from "@mmlab/vma-tree";
import { type FrameKind, PageTable, PhysMem } from "@mmlab/page-table";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, Process, sysMmap, sysMunmap } from "@mmlab/mm-core";

const sim = new Sim({ seed: 1 });
const sem = new RwSemaphore(sim, { name: "mmap_sem" });
const history: ReadonlyArray<AcquisitionRecord> = sem.history;
const task: Task = sim.spawn("t", function* () {
  yield cpu(1);
});
const tree: VmaTree = createVmaTree("maple");
const kind: FrameKind = "shmem";
const pt = new PageTable(new PhysMem({ bytes: 2 ** 30 }));
const proc = new Process(sim, { comm: "app", munmap: "zapRlock" });
proc.spawnThread("app", function* () {
  const addr: number = yield* sysMmap(proc.mm, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  const err: number = yield* sysMunmap(proc.mm, addr, 4096);
  return err;
});
export const used = [history, task, tree, kind, pt];
`;
  writeFileSync(path.join(app, "consumer.mts"), consumer);
  writeFileSync(path.join(app, "consumer.cts"), consumer);
  const common = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: "ES2022",
    lib: ["ES2023", "DOM"],
    types: [],
  };
  const configs = {
    node16: { ...common, module: "node16", moduleResolution: "node16" },
    bundler: { ...common, module: "esnext", moduleResolution: "bundler" },
  };
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  for (const [name, compilerOptions] of Object.entries(configs)) {
    const files = name === "node16" ? ["consumer.mts", "consumer.cts"] : ["consumer.mts"];
    const config = `tsconfig.${name}.json`;
    writeFileSync(path.join(app, config), JSON.stringify({ compilerOptions, files }, null, 2));
    const t = run(process.execPath, [tsc, "-p", config], { cwd: app });
    const step = `tsc --noEmit, moduleResolution ${name} (${files.join(", ")})`;
    if (t.status !== 0) fail("all packages", step, firstLines(t.stdout || t.stderr, 10));
    else ok("all packages", step);
  }

  // ── 6. the installed mmlab-bench ──────────────────────────────────────────────────────────
  process.stdout.write("\nmmlab-bench\n");
  const bin = path.join(app, "node_modules", ".bin", "mmlab-bench");
  const bench = (args) => run(bin, args, { cwd: app, env: { ...process.env, NO_COLOR: "1" } });
  const B = "@mmlab/bench";
  const help = bench(["--help"]);
  if (help.status !== 0 || !help.stdout.startsWith("Usage: mmlab-bench")) {
    fail(B, "mmlab-bench --help", `exit ${help.status}: ${firstLines(help.stdout || help.stderr)}`);
  } else ok(B, "mmlab-bench --help");

  const oneLineError = (step, r, what) => {
    const lines = r.stderr.trimEnd().split("\n");
    if (
      r.status !== 2 ||
      lines.length !== 1 ||
      !lines[0].startsWith("mmlab-bench: error: ") ||
      !r.stderr.includes(what)
    ) {
      fail(
        B,
        step,
        `expected exit 2 and one line naming ${what}; got exit ${r.status}: ${firstLines(r.stderr)}`,
      );
    } else ok(B, step, lines[0]);
  };
  oneLineError("mmlab-bench --no-such-flag", bench(["--no-such-flag"]), "--no-such-flag");
  const t0 = Date.now();
  const unwritable = bench(["--report", "/nonexistent/x.html"]);
  oneLineError("mmlab-bench --report /nonexistent/x.html", unwritable, "/nonexistent");
  if (Date.now() - t0 > 5000)
    fail(
      B,
      "mmlab-bench --report /nonexistent/x.html",
      "took over 5 s: the path is not checked before the run",
    );

  const j = bench(["--size", "1G", "--json"]);
  if (j.status !== 0)
    fail(B, "mmlab-bench --size 1G --json", `exit ${j.status}: ${firstLines(j.stderr)}`);
  else {
    const problems = benchJsonProblems(j.stdout, pkgs.find((p) => p.name === B)?.manifest.version);
    if (problems.length > 0) fail(B, "mmlab-bench --size 1G --json (schema)", problems.join("; "));
    else ok(B, "mmlab-bench --size 1G --json", "valid JSON, documented schema");
  }

  const fx = path.join(app, "node_modules", "@mmlab", "bench", "fixtures");
  const rp = bench([
    "replay",
    path.join(fx, "c-threads.strace"),
    "--maps",
    path.join(fx, "c-threads.start.maps"),
    "--expect-maps",
    path.join(fx, "c-threads.final.maps"),
    "--mmap-min-addr",
    "4096",
  ]);
  if (rp.status !== 0 || !/layout:\s+c-threads\.final\.maps matched/.test(rp.stdout)) {
    fail(
      B,
      "mmlab-bench replay of the shipped fixture c-threads",
      `exit ${rp.status}: ${firstLines(rp.stdout + rp.stderr)}`,
    );
  } else
    ok(
      B,
      "mmlab-bench replay of the shipped fixture c-threads",
      "every return value and the layout matched",
    );
}

/** The README's BenchJson schema (apps/bench/README.md, "JSON schema"), checked field by field. */
function benchJsonProblems(text, version) {
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return [`not JSON: ${e.message}`];
  }
  const problems = [];
  const need = (obj, where, fields) => {
    for (const [key, type] of Object.entries(fields)) {
      const v = obj?.[key];
      const actual = Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
      if (!type.split("|").includes(actual))
        problems.push(`${where}.${key} is ${actual}, not ${type}`);
    }
  };
  need(json, "", { context: "object", results: "array" });
  const c = json.context;
  need(c, "context", {
    version: "string",
    seed: "number",
    profile: "string",
    profileSource: "string",
    model: "string",
    time: "string",
    machine: "object",
    params: "object",
  });
  if (c?.time !== "virtual (ns)") problems.push(`context.time is ${c?.time}`);
  if (version !== undefined && c?.version !== version)
    problems.push(`context.version ${c?.version}, package ${version}`);
  need(c?.machine, "context.machine", {
    node: "string",
    cpus: "number",
    cpuModel: "string",
    os: "string",
  });
  need(c?.params, "context.params", {
    sizeBytes: "number",
    readers: "number",
    faulters: "number",
    writers: "number",
    rwsem: "string",
    tree: "string",
    levels: "number",
    cpus: "number|null",
    hungTaskTimeoutNs: "number",
    psIntervalNs: "number",
  });
  if (c?.params?.sizeBytes !== 2 ** 30)
    problems.push(`context.params.sizeBytes ${c?.params?.sizeBytes}, expected 1G`);
  const strategies = (json.results ?? []).map((r) => r.strategy).join(",");
  if (strategies !== "classic,zapRlock")
    problems.push(`results are ${strategies}, expected classic,zapRlock`);
  const dist = {
    count: "number",
    total: "number",
    min: "number",
    max: "number",
    mean: "number",
    p50: "number",
    p90: "number",
    p99: "number",
  };
  for (const [i, r] of (json.results ?? []).entries()) {
    const w = `results[${i}]`;
    need(r, w, {
      strategy: "string",
      kernel: "string",
      pages: "number",
      munmapLatencyNs: "number",
      exclusiveHoldNs: "number",
      sharedHoldNs: "number",
      psWait: "object",
      faultWait: "object",
      writerWait: "object",
      hungTaskReports: "array",
      sim: "object",
    });
    for (const d of ["psWait", "faultWait", "writerWait"]) {
      // an empty distribution has null min, max, mean and percentiles (as documented)
      const empty = r?.[d]?.count === 0;
      need(
        r?.[d],
        `${w}.${d}`,
        empty
          ? Object.fromEntries(
              Object.entries(dist).map(([k, t]) => [
                k,
                k === "count" || k === "total" ? t : "null",
              ]),
            )
          : dist,
      );
    }
    need(r?.sim, `${w}.sim`, { wallMs: "object", peakRssBytes: "number" });
    if (r?.pages !== 2 ** 18) problems.push(`${w}.pages ${r?.pages}, expected 262144`);
  }
  return problems;
}

// ── summary ───────────────────────────────────────────────────────────────────────────────
if (!keep) rmSync(tmp, { recursive: true, force: true });
const secs = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  process.stdout.write(`\nconsumer check FAILED (${failures.length}), ${secs} s:\n`);
  for (const f of failures) process.stdout.write(`  ${f}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(
    `\nconsumer check passed: ${pkgs.length} packages, ${secs} s${keep ? `; kept ${tmp}` : ""}\n`,
  );
}
