/**
 * The report's two log-scale charts, as inline SVG:
 * - wait-time distributions per task group and strategy (BenchJson's Distribution: a line
 *   from min to max, a box from p50 to p99, a tick at p90), on one log axis so that ns and
 *   seconds sit on one picture;
 * - for a sweep, the munmap's exclusive hold against the mapping size for each strategy,
 *   beside the published figures (log-log).
 */
import type { BenchJson, Distribution, SweepResult } from "../types.js";
import { esc, fmtBytes, fmtInt, fmtNs, isNum } from "./format.js";

const WIDTH = 960;

export const STRATEGY_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

/** Okabe–Ito colours by strategy, in the order the strategies appear. */
export function strategyColour(strategies: readonly string[], s: string): string {
  const i = strategies.indexOf(s);
  return STRATEGY_COLOURS[Math.max(i, 0) % STRATEGY_COLOURS.length] as string;
}

export const WAIT_GROUPS = [
  { key: "psWait", label: "ps (reads /proc/PID/cmdline)" },
  { key: "faultWait", label: "faulters (page faults)" },
  { key: "writerWait", label: "writers (mmap + munmap)" },
] as const;

/** Decade ticks 10^a … 10^b covering every positive value (at least two decades). */
function decades(values: readonly number[]): [number, number] {
  const pos = values.filter((v) => isNum(v) && v > 0);
  if (pos.length === 0) return [0, 3];
  let lo = Math.floor(Math.log10(Math.min(...pos)));
  let hi = Math.ceil(Math.log10(Math.max(...pos)));
  if (hi - lo < 2) {
    lo = Math.min(lo, hi - 2);
    hi = Math.max(hi, lo + 2);
  }
  return [lo, hi];
}

/** Wait-time distributions, one row per (group, strategy) with any samples. */
export function waitDistributionChart(json: BenchJson, id: string): string {
  const strategies = json.results.map((r) => r.strategy);
  const rows: Array<{ group: string; strategy: string; d: Distribution }> = [];
  for (const g of WAIT_GROUPS) {
    for (const r of json.results) {
      const d = r[g.key];
      if (d !== undefined && isNum(d.count) && d.count > 0) {
        rows.push({ group: g.label, strategy: r.strategy, d });
      }
    }
  }
  if (rows.length === 0) return `<p class="empty">No waits were recorded.</p>`;
  const all = rows.flatMap((r) => [r.d.min, r.d.p50, r.d.p90, r.d.p99, r.d.max]);
  const [lo0, hi] = decades(all);
  // Uncontended waits are 0 ns: start the axis at 1 ns then, so that "no wait" sits far left
  // of any real wait instead of at the smallest one.
  const lo = all.some((v) => v === 0) ? Math.min(lo0, 0) : lo0;
  const LABEL = 300;
  const RIGHT = 20;
  const TOP = 10;
  const ROW_H = 26;
  const AXIS_H = 34;
  const plotW = WIDTH - LABEL - RIGHT;
  const x = (v: number) => {
    if (!isNum(v) || v <= 10 ** lo) return LABEL;
    return LABEL + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  };
  const height = TOP + rows.length * ROW_H + AXIS_H;
  const out: string[] = [
    `<svg class="chart waits" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${id}-t ${id}-d">`,
    `<title id="${id}-t">mmap_sem wait times per task group and strategy (log scale)</title>`,
    `<desc id="${id}-d">For each group of tasks and each strategy: a thin line from the shortest to the longest wait, a light box from the median (p50, dot) to p90, a tick at p99 and a diamond at the longest wait. Waits of 0 ns (uncontended) sit at the left edge. The same numbers are in the table below.</desc>`,
    `<g class="axis" aria-hidden="true">`,
  ];
  const axisY = TOP + rows.length * ROW_H;
  for (let k = lo; k <= hi; k++) {
    const tx = x(10 ** k).toFixed(1);
    out.push(
      `<line class="grid" x1="${tx}" x2="${tx}" y1="${TOP}" y2="${axisY + 4}"/>`,
      `<text class="tick" x="${tx}" y="${axisY + 18}" text-anchor="middle">${k === lo ? "≤ " : ""}${esc(fmtNs(10 ** k))}</text>`,
    );
  }
  out.push(
    `<line class="baseline" x1="${LABEL}" x2="${WIDTH - RIGHT}" y1="${axisY}" y2="${axisY}"/>`,
    `</g>`,
  );
  rows.forEach((row, i) => {
    const y = TOP + i * ROW_H;
    const mid = y + ROW_H / 2;
    const c = strategyColour(strategies, row.strategy);
    const d = row.d;
    const title = `${row.group}, ${row.strategy}: ${fmtInt(d.count)} acquisitions; min ${fmtNs(d.min)}, p50 ${fmtNs(d.p50)}, p90 ${fmtNs(d.p90)}, p99 ${fmtNs(d.p99)}, max ${fmtNs(d.max)}, mean ${fmtNs(d.mean)}`;
    const bx = x(d.p50);
    const bw = Math.max(x(d.p90) - bx, 2);
    out.push(
      `<g class="dist" data-strategy="${esc(row.strategy)}" data-group="${esc(row.group)}">`,
      `<title>${esc(title)}</title>`,
      `<rect class="row-bg${i % 2 === 1 ? " odd" : ""}" x="0" y="${y}" width="${WIDTH - RIGHT}" height="${ROW_H}"/>`,
      `<text class="label" x="${LABEL - 8}" y="${mid + 4}" text-anchor="end">${esc(row.group)} · ${esc(row.strategy)}</text>`,
      `<line class="whisker" x1="${x(d.min).toFixed(1)}" x2="${Math.max(x(d.max), x(d.min) + 1).toFixed(1)}" y1="${mid}" y2="${mid}" stroke="${c}"/>`,
      `<rect class="box" x="${bx.toFixed(1)}" y="${mid - 6}" width="${bw.toFixed(1)}" height="12" fill="${c}"/>`,
      `<circle class="p50" cx="${bx.toFixed(1)}" cy="${mid}" r="3.5" fill="${c}"/>`,
      `<line class="p99" x1="${x(d.p99).toFixed(1)}" x2="${x(d.p99).toFixed(1)}" y1="${mid - 8}" y2="${mid + 8}" stroke="${c}"/>`,
      `<path class="max" d="M${x(d.max).toFixed(1)} ${mid - 5} l5 5 l-5 5 l-5 -5 z" fill="${c}"/>`,
      `</g>`,
    );
  });
  out.push(`</svg>`);
  return out.join("");
}

/** Exclusive hold against size per strategy, model and paper, log-log. */
export function sweepChart(sweep: SweepResult, strategies: readonly string[], id: string): string {
  const rows = sweep.rows;
  const sizes = [...new Set(rows.map((r) => r.sizeBytes))].sort((a, b) => a - b);
  const paperNs = (r: SweepResult["rows"][number]) =>
    r.paper?.exclusiveHoldNs ?? (r.strategy === "classic" ? r.paper?.munmapNs : undefined);
  const values = rows.flatMap((r) => [r.exclusiveHoldNs, paperNs(r) ?? Number.NaN]);
  const [lo, hi] = decades(values);
  const LEFT = 80;
  const RIGHT = 200;
  const TOP = 14;
  const H = 300;
  const BOTTOM = 40;
  const plotW = WIDTH - LEFT - RIGHT;
  const lx0 = Math.log2(sizes[0] ?? 1);
  const lx1 = Math.log2(sizes[sizes.length - 1] ?? 2);
  const pad = lx1 > lx0 ? (lx1 - lx0) * 0.08 : 1;
  const x = (b: number) => LEFT + ((Math.log2(b) - lx0 + pad) / (lx1 - lx0 + 2 * pad)) * plotW;
  const y = (ns: number) => TOP + H - ((Math.log10(Math.max(ns, 10 ** lo)) - lo) / (hi - lo)) * H;
  const all = [...new Set([...strategies, ...rows.map((r) => r.strategy)])];
  const out: string[] = [
    `<svg class="chart sweep" viewBox="0 0 ${WIDTH} ${TOP + H + BOTTOM}" role="img" aria-labelledby="${id}-t ${id}-d">`,
    `<title id="${id}-t">Exclusive mmap_sem hold of the munmap against mapping size (log-log)</title>`,
    `<desc id="${id}-d">Filled circles joined by lines: the model. Hollow squares joined by dashed lines: the patch series' published figures (for classic, the pristine munmap time, all of it under the write lock; for zapRlock, about 8 µs, traced at 80 GB). The same numbers are in the table below.</desc>`,
    `<g class="axis" aria-hidden="true">`,
  ];
  for (let k = lo; k <= hi; k++) {
    const ty = y(10 ** k).toFixed(1);
    out.push(
      `<line class="grid" x1="${LEFT}" x2="${LEFT + plotW}" y1="${ty}" y2="${ty}"/>`,
      `<text class="tick" x="${LEFT - 6}" y="${Number(ty) + 4}" text-anchor="end">${esc(fmtNs(10 ** k))}</text>`,
    );
  }
  for (const s of sizes) {
    const tx = x(s).toFixed(1);
    out.push(
      `<line class="grid" x1="${tx}" x2="${tx}" y1="${TOP}" y2="${TOP + H}"/>`,
      `<text class="tick" x="${tx}" y="${TOP + H + 18}" text-anchor="middle">${esc(fmtBytes(s))}</text>`,
    );
  }
  out.push(
    `<text class="axis-title" x="${LEFT + plotW / 2}" y="${TOP + H + 36}" text-anchor="middle">mapping size</text>`,
    `</g>`,
  );
  all.forEach((strategy, k) => {
    const c = strategyColour(all, strategy);
    const mine = rows
      .filter((r) => r.strategy === strategy)
      .sort((a, b) => a.sizeBytes - b.sizeBytes);
    if (mine.length === 0) return;
    out.push(`<g class="series" data-strategy="${esc(strategy)}">`);
    const withPaper = mine.filter((r) => paperNs(r) !== undefined);
    if (withPaper.length > 1) {
      const pts = withPaper.map(
        (r) => `${x(r.sizeBytes).toFixed(1)},${y(paperNs(r) as number).toFixed(1)}`,
      );
      out.push(`<polyline class="paper" points="${pts.join(" ")}" stroke="${c}"/>`);
    }
    for (const r of withPaper) {
      const p = paperNs(r) as number;
      out.push(
        `<rect class="point paper" data-size="${r.sizeBytes}" data-value="${p}" x="${(x(r.sizeBytes) - 5).toFixed(1)}" y="${(y(p) - 5).toFixed(1)}" width="10" height="10" stroke="${c}"><title>${esc(`${strategy}, ${fmtBytes(r.sizeBytes)}: paper ${fmtNs(p)}`)}</title></rect>`,
      );
    }
    const model = mine.map(
      (r) => `${x(r.sizeBytes).toFixed(1)},${y(r.exclusiveHoldNs).toFixed(1)}`,
    );
    out.push(`<polyline class="model" points="${model.join(" ")}" stroke="${c}"/>`);
    for (const r of mine) {
      out.push(
        `<circle class="point model" data-size="${r.sizeBytes}" data-value="${r.exclusiveHoldNs}" cx="${x(r.sizeBytes).toFixed(1)}" cy="${y(r.exclusiveHoldNs).toFixed(1)}" r="5" fill="${c}"><title>${esc(`${strategy}, ${fmtBytes(r.sizeBytes)}: model exclusive hold ${fmtNs(r.exclusiveHoldNs)}`)}</title></circle>`,
      );
    }
    const ly = TOP + 10 + k * 40;
    const lx = LEFT + plotW + 20;
    out.push(
      `<g class="legend"><circle cx="${lx}" cy="${ly}" r="5" fill="${c}"/><text x="${lx + 12}" y="${ly + 4}">${esc(strategy)} (model)</text>`,
      `<rect class="paper" x="${lx - 5}" y="${ly + 13}" width="10" height="10" stroke="${c}"/><text x="${lx + 12}" y="${ly + 22}">${esc(strategy)} (paper)</text></g>`,
      `</g>`,
    );
  });
  out.push(`</svg>`);
  return out.join("");
}
