/**
 * Text helpers of the HTML report: escaping (every caller-supplied string goes through esc),
 * durations with units, and the 1-2-5 ticks of the time axes.
 */

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML/SVG element content and quoted attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** A JSON value made safe inside <script type="application/json">. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** True for a real measurement (JSON turns NaN into null). */
export function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** A duration in ns with a unit and 3 significant digits: "8.00 µs", "17.9 s", "0 ns". */
export function fmtNs(ns: number | null | undefined): string {
  if (!isNum(ns)) return "–";
  const a = Math.abs(ns);
  if (a < 1e3) return `${sig(ns)} ns`;
  if (a < 1e6) return `${sig(ns / 1e3)} µs`;
  if (a < 1e9) return `${sig(ns / 1e6)} ms`;
  return `${sig(ns / 1e9)} s`;
}

function sig(x: number): string {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (Number.isInteger(x) && a < 1000) return String(x);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return x.toFixed(digits);
}

/** Bytes in binary units: "320 GiB", "64 MiB". */
export function fmtBytes(b: number | null | undefined): string {
  if (!isNum(b)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = b;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** An integer with thousands separators: "83,886,080". */
export function fmtInt(n: number | null | undefined): string {
  if (!isNum(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

/** A ratio for the summary line: "2,239,000×" style, 3 significant digits. */
export function fmtRatio(r: number): string {
  if (!isNum(r)) return "–";
  if (r >= 1000) return `${Math.round(Number(r.toPrecision(3))).toLocaleString("en-US")}×`;
  return `${Number(r.toPrecision(3))}×`;
}

const UNITS: Array<[number, string]> = [
  [1e9, "s"],
  [1e6, "ms"],
  [1e3, "µs"],
  [1, "ns"],
];

/** Ticks every 1, 2 or 5 × 10^k ns over [from, to], about `target` of them. */
export function niceTicks(from: number, to: number, target: number): number[] {
  const span = Math.max(to - from, 1);
  const raw = span / Math.max(target, 1);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to + step * 1e-9; t += step) {
    ticks.push(Math.round(t / step) * step);
  }
  return ticks;
}

/** A tick label in the unit that suits the tick step: "2.5 ms", "120 µs", "10 s". */
export function tickLabel(t: number, step: number): string {
  // the unit of the next step up, so that 500 µs steps read 0.5 ms, 1.0 ms, 1.5 ms
  const [scale, unit] = UNITS.find(([s]) => step * 2 >= s) ?? [1, "ns"];
  const v = t / scale;
  const decimals = Math.max(0, Math.ceil(-Math.log10(step / scale) + 1e-9));
  return `${v.toFixed(Math.min(decimals, 3))} ${unit}`;
}
