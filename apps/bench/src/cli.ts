#!/usr/bin/env node
/**
 * The `mmlab-bench` program (bin: dist/cli.js). The commands are in program.ts (`main()`,
 * which the tests call in-process); this entry first decides whether to run itself again with
 * huge pages (huge-pages.ts), before it loads them: the parent of that re-run then costs a
 * Node start and nothing more, instead of loading every command's modules twice.
 */
import { rerunWithHugePages } from "./huge-pages.js";

const rerun = rerunWithHugePages();
if (rerun !== null) process.exitCode = rerun;
else {
  const { main } = await import("./program.js");
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`mmlab-bench: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
