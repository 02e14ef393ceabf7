// Runs publint and @arethetypeswrong/cli over every published package (the five libraries and
// the @mmlab/bench CLI); exits 1 on the first problem. The bench has no importable API, only its
// bin and ./package.json, so attw checks that one entrypoint.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

// changesets' built-in prettier garbles CHANGELOG markdown (backticks, underscores): keep it off;
// `pnpm version-packages` formats with Biome instead.
const changesets = JSON.parse(readFileSync(".changeset/config.json", "utf8"));
if (changesets.prettier !== false) {
  process.stderr.write('check-publish: .changeset/config.json must set "prettier": false\n');
  process.exit(1);
}

const packages = readdirSync("packages", { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({ dir: `packages/${d.name}`, attw: [] }));
packages.push({ dir: "apps/bench", attw: ["--entrypoints", "./package.json"] });
for (const { dir, attw } of packages) {
  for (const [cmd, args] of [
    ["publint", [dir, "--strict"]],
    ["attw", ["--pack", dir, "--profile", "node16", ...attw]],
  ]) {
    process.stdout.write(`\n$ ${cmd} ${args.join(" ")}\n`);
    execFileSync(cmd, args, { stdio: "inherit" });
  }
}
