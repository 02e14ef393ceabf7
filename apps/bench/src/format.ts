/** Number formatting for the human output: hyperfine-style units, grouped integers. */

/** A virtual duration in the unit that keeps 3-4 significant digits: "17.92 s", "8.00 µs". */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return "—";
  const a = Math.abs(ns);
  if (a === 0) return "0 ns";
  if (a < 1e3) return `${ns.toFixed(0)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

/** 83886080 -> "83,886,080". */
export function group(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Bytes in binary units: "320 GiB", "1.02 GiB", "512 MiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = Number.isInteger(v) ? String(v) : v.toFixed(2);
  return `${text} ${units[i]}`;
}

/** Wall milliseconds: "2.41 s" or "794 ms". */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/** A ratio a / b as "2,239,493x", or "—" when it is undefined. */
export function formatRatio(a: number, b: number): string {
  if (!(b > 0) || !Number.isFinite(a / b)) return "—";
  const r = a / b;
  return r >= 100 ? `${group(r)}x` : `${r.toFixed(2)}x`;
}
