/** Colours on only for a TTY without NO_COLOR (https://no-color.org) and never with --json. */
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

export function colorsFor(isTTY: boolean, env: NodeJS.ProcessEnv): Colors {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  return pc.createColors(isTTY && !noColor && env.TERM !== "dumb");
}
