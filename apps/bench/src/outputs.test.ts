import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isUsageError, runCli } from "./test-cli.js";

describe("output paths are checked before anything runs (one line, exit code 2)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "mmlab-outputs-"));
  const file = path.join(dir, "a-file");
  writeFileSync(file, "");
  const cases: Array<[string[], string, string]> = [
    [
      ["--report", "/nonexistent/x.html"],
      '--report "/nonexistent/x.html": directory /nonexistent does not exist',
      "mmlab-bench --help",
    ],
    [["--trace", dir], `--trace "${dir}": it is a directory`, "mmlab-bench --help"],
    [["--ftrace", path.join(file, "x.txt")], `${file} is not a directory`, "mmlab-bench --help"],
    [
      ["--export-json", "/nonexistent/r.json"],
      '--export-json "/nonexistent/r.json"',
      "mmlab-bench --help",
    ],
    [
      ["history", "--report", "/nonexistent/h.html"],
      '--report "/nonexistent/h.html"',
      "mmlab-bench history --help",
    ],
    [
      ["sweep", "--report", "/nonexistent/s.html"],
      '--report "/nonexistent/s.html"',
      "mmlab-bench sweep --help",
    ],
    [
      ["hung-task", "--ftrace", "/nonexistent/f.txt"],
      '--ftrace "/nonexistent/f.txt"',
      "mmlab-bench hung-task --help",
    ],
  ];
  for (const [args, what, hint] of cases) {
    it(`${args.join(" ")}`, async () => {
      // a 383G run would take seconds: the check must come first
      const started = Date.now();
      const r = await runCli([...args, "--size", "383G"]);
      expect(isUsageError(r, what, hint), r.err).toBe(true);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  }
});
