// Runs publint and @arethetypeswrong/cli over every built library package; exits 1 on the first problem.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";

const packages = readdirSync("packages", { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => `packages/${d.name}`);
for (const dir of packages) {
  for (const [cmd, args] of [
    ["publint", [dir, "--strict"]],
    ["attw", ["--pack", dir, "--profile", "node16"]],
  ]) {
    process.stdout.write(`\n$ ${cmd} ${args.join(" ")}\n`);
    execFileSync(cmd, args, { stdio: "inherit" });
  }
}
