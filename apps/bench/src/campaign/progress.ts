/**
 * The progress of a campaign on stderr (a TTY only, like the other bars): jobs done / total,
 * units (schedules, simulations, traces) per second, ETA. A no-op object otherwise.
 */
import cliProgress from "cli-progress";

export interface CampaignProgress {
  /** a job finished with `units` of work, or was skipped (units 0) */
  jobDone(units: number): void;
  stop(): void;
}

const NONE: CampaignProgress = { jobDone() {}, stop() {} };

export function createCampaignProgress(
  stream: NodeJS.WriteStream | null,
  enabled: boolean,
  total: number,
  unit: string,
): CampaignProgress {
  if (stream === null || !enabled || stream.isTTY !== true) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: ` jobs {bar} {value}/{total} | {rate} ${unit}/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  let units = 0;
  bar.start(total, 0, { rate: "0" });
  return {
    jobDone(n) {
      units += n;
      const s = (Date.now() - start) / 1000;
      bar.increment(1, { rate: s > 0 ? Math.round(units / s).toLocaleString("en-US") : "0" });
    },
    stop() {
      bar.stop();
    },
  };
}
