/**
 * --json / --export-json / --trace / --ftrace / --report: writing the files. The renderers
 * (export/, report/) are loaded only when a flag asks for them.
 */
import { writeFileSync } from "node:fs";
import type { BenchJson, SweepResult, TraceCapture } from "./types.js";

export interface OutputFiles {
  exportJson?: string;
  trace?: string;
  ftrace?: string;
  report?: string;
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
