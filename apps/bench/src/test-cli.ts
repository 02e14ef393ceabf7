/** Runs the CLI in-process for tests: captures stdout and stderr, no TTY, --workers 1 unless given. */
import { main } from "./program.js";

export interface Ran {
  code: number;
  out: string;
  err: string;
}

export async function runCli(
  args: readonly string[],
  opts: { isTTY?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  let out = "";
  let err = "";
  const code = await main(args, {
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    progressStream: null,
    isTTY: opts.isTTY ?? false,
    env: opts.env ?? {},
    defaultWorkers: 1,
  });
  return { code, out, err };
}

/** The one-line usage error every command prints for a bad flag (exit code 2). */
export function isUsageError(r: Ran, what: string, hint: string): boolean {
  return (
    r.code === 2 &&
    r.out === "" &&
    r.err.endsWith("\n") &&
    r.err.trimEnd().split("\n").length === 1 &&
    r.err.startsWith("mmlab-bench: error: ") &&
    r.err.includes(what) &&
    r.err.includes(`(see '${hint}')`)
  );
}
