/**
 * Progress bars for the long phases (populate, zap) on stderr, and only when stderr is a
 * TTY: piped output and --json stay clean. A no-op object otherwise.
 */
import cliProgress from "cli-progress";
import type { Phase } from "./experiment.js";

export interface Progress {
  update(label: string, phase: Phase, done: number, total: number): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

export function createProgress(stream: NodeJS.WriteStream | null, enabled: boolean): Progress {
  if (stream === null || !enabled || stream.isTTY !== true) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: " {label} {phase} {bar} {percentage}% | {value}/{total} pages",
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let current = "";
  return {
    update(label, phase, done, total) {
      const key = `${label} ${phase}`;
      if (!started) {
        bar.start(total, done, { label, phase });
        started = true;
      } else if (key !== current) {
        bar.setTotal(total);
      }
      current = key;
      bar.update(done, { label, phase: phase.padEnd(8) });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
