/**
 * `replay` with several traces: one job per trace. Every file is read and parsed here first
 * (bad input: exit 2, nothing submitted), then shipped inside the job. With several traces,
 * each one's maps are the files beside it named as the fixtures are: NAME.strace,
 * NAME.start.maps, NAME.final.maps (those that exist).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { benchVersion } from "../context.js";
import { UsageError } from "../params.js";
import {
  loadReplayInput,
  parseGeneration,
  parseMinAddr,
  parseStrategyList,
  type ReplayCommandOptions,
} from "../replay/command.js";
import { parseReplay, type ReplayInput } from "../replay/replay.js";
import type { JobFile, ReplayJob } from "./jobs.js";

function file(path: string): JobFile {
  try {
    return { name: basename(path), text: readFileSync(path, "utf8") };
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** The maps options of one trace: the flags (one trace) or the files beside it (several). */
function mapsOf(trace: string, o: ReplayCommandOptions, several: boolean): ReplayCommandOptions {
  if (!several) return o;
  const stem = trace.replace(/\.strace$/, "");
  const start = `${stem}.start.maps`;
  const final = `${stem}.final.maps`;
  return {
    ...o,
    ...(existsSync(start) ? { maps: start } : {}),
    expectMaps: existsSync(final) ? [final] : [],
  };
}

export function loadReplayJobs(
  traces: readonly string[],
  o: ReplayCommandOptions,
): Array<{ input: ReplayInput; job: ReplayJob }> {
  const several = traces.length > 1;
  if (several && (o.maps !== undefined || (o.expectMaps ?? []).length > 0)) {
    throw new UsageError(
      "--maps and --expect-maps name one trace's files; with several traces, NAME.start.maps and NAME.final.maps beside each NAME.strace are used",
    );
  }
  const generation = parseGeneration(o.generation);
  const mmapMinAddr = parseMinAddr(o.mmapMinAddr);
  const strategies = parseStrategyList(o.strategies);
  const version = benchVersion();
  return traces.map((trace) => {
    const opts = mapsOf(trace, o, several);
    const input = loadReplayInput(trace, opts);
    parseReplay(input); // every line checked before anything is submitted
    const job: ReplayJob = {
      kind: "replay",
      version,
      trace: file(trace),
      startMaps: opts.maps === undefined ? null : file(opts.maps),
      expectMaps: (opts.expectMaps ?? []).map((spec) => {
        const m = /^(\d+)=(.+)$/.exec(spec);
        return {
          pid: m === null ? null : Number(m[1]),
          ...file(m === null ? spec : (m[2] as string)),
        };
      }),
      generation,
      mmapMinAddr: mmapMinAddr ?? null,
      strategies,
    };
    return { input, job };
  });
}
