/**
 * --json / --export-json / --trace / --ftrace / --report: writing the files. The renderers
 * (export/, report/) are loaded only when a flag asks for them.
 */
import { accessSync, constants, type Stats, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UsageError } from "./params.js";
import type { BenchJson, SweepResult, TraceCapture } from "./types.js";

export interface OutputFiles {
  exportJson?: string;
  trace?: string;
  ftrace?: string;
  report?: string;
  /** host: the fitted cost profile, the probe outputs */
  saveProfile?: string;
  saveProbe?: string;
}

const OUTPUT_FLAGS: ReadonlyArray<readonly [keyof OutputFiles, string]> = [
  ["exportJson", "--export-json"],
  ["trace", "--trace"],
  ["ftrace", "--ftrace"],
  ["report", "--report"],
  ["saveProfile", "--save-profile"],
  ["saveProbe", "--save-probe"],
];

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/**
 * Refuses an output file that could not be written, before anything runs (a 320 GB run takes
 * seconds; failing after it wastes them): UsageError naming the flag and the path.
 */
export function checkOutputPaths(files: OutputFiles): void {
  for (const [key, flag] of OUTPUT_FLAGS) {
    const path = files[key];
    if (path === undefined) continue;
    const where = `cannot write ${flag} "${path}"`;
    const target = resolve(path);
    const file = statOrNull(target);
    if (file?.isDirectory() === true) throw new UsageError(`${where}: it is a directory`);
    const dir = dirname(target);
    const parent = statOrNull(dir);
    if (parent === null) throw new UsageError(`${where}: directory ${dir} does not exist`);
    if (!parent.isDirectory()) throw new UsageError(`${where}: ${dir} is not a directory`);
    try {
      accessSync(file === null ? dir : target, constants.W_OK);
    } catch {
      throw new UsageError(`${where}: permission denied`);
    }
  }
}

/** Writes the files the flags name; returns the lines to tell the user ("wrote ..."). */
export async function writeOutputs(
  files: OutputFiles,
  json: object,
  captures: TraceCapture[],
  sweep?: SweepResult,
): Promise<string[]> {
  const wrote: string[] = [];
  if (files.exportJson !== undefined) {
    writeFileSync(files.exportJson, `${JSON.stringify(json, null, 2)}\n`);
    wrote.push(`JSON results: ${files.exportJson}`);
  }
  if (files.trace !== undefined) {
    const { toChromeTrace } = await import("./export/chrome-trace.js");
    writeFileSync(files.trace, JSON.stringify(toChromeTrace(captures)));
    wrote.push(`Chrome trace (Perfetto, chrome://tracing): ${files.trace}`);
  }
  if (files.ftrace !== undefined) {
    const { toFtrace } = await import("./export/ftrace.js");
    writeFileSync(files.ftrace, toFtrace(captures));
    wrote.push(`function_graph text: ${files.ftrace}`);
  }
  if (files.report !== undefined) {
    const { renderReport } = await import("./report/html.js");
    writeFileSync(files.report, renderReport(json as BenchJson, captures, sweep));
    wrote.push(`HTML report: ${files.report}`);
  }
  return wrote;
}
