/**
 * `replay` with several traces: one job per trace. Every file is read and parsed here first
 * (bad input: exit 2, nothing submitted), then shipped inside the job. With several traces,
 * each one's maps are the files beside it named as the fixtures are: NAME.strace,
 * NAME.start.maps, NAME.PID[.K].start.maps (a process after its (K-th) execve),
 * NAME.final.maps and NAME.PID.final.maps (those that exist).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
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
  // a process tree's other processes: NAME.PID[.K].start.maps, NAME.PID.final.maps
  const name = basename(stem).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const beside = (kind: string) =>
    readdirSync(dirname(trace))
      .map((f) => new RegExp(`^${name}\\.(\\d+)(?:\\.(\\d+))?\\.${kind}\\.maps$`).exec(f))
      .filter((m) => m !== null)
      .map((m) => ({ pid: Number(m[1]), k: Number(m[2] ?? 1), file: m[0] }))
      .sort((a, b) => a.pid - b.pid || a.k - b.k)
      .map((m) => `${m.pid}=${join(dirname(trace), m.file)}`);
  return {
    ...o,
    maps: [...(existsSync(start) ? [start] : []), ...beside("start")],
    expectMaps: [...(existsSync(final) ? [final] : []), ...beside("final")],
  };
}

/** The one --maps given without a pid (the first process's start). */
function unpid(maps: readonly string[] | undefined): string {
  return (maps ?? []).find((spec) => !/^\d+=/.test(spec)) as string;
}

export function loadReplayJobs(
  traces: readonly string[],
  o: ReplayCommandOptions,
): Array<{ input: ReplayInput; job: ReplayJob }> {
  const several = traces.length > 1;
  if (several && ((o.maps ?? []).length > 0 || (o.expectMaps ?? []).length > 0)) {
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
      startMaps: input.startMaps === undefined ? null : file(unpid(opts.maps)),
      execMaps: (opts.maps ?? []).flatMap((spec) => {
        const m = /^(\d+)=(.+)$/.exec(spec);
        return m === null ? [] : [{ pid: Number(m[1]), ...file(m[2] as string) }];
      }),
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
