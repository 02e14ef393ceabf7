/**
 * The mmap_sem timeline of one capture as inline SVG: one row per task, bars for lock waits,
 * shared holds and exclusive holds, a thin line under them for the task's outermost
 * syscalls, ▼ for hung-task reports, and a time axis in virtual time.
 *
 *   label      │ 0 ms        5 ms        10 ms
 *   ps 14018   │ ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒█                wait ▒  shared █  exclusive ▓
 *   munmap 15001 ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓
 *
 * Seconds-long runs and microsecond holds do not fit one linear axis, so the report draws
 * two panels: the whole measured phase, and a zoom around the munmap's down_write. Within a
 * panel, intervals of one kind closer than a pixel are merged into one bar whose data-n says
 * how many intervals it stands for (so the DOM can be checked against the trace), and every
 * bar is at least 1 px wide, so an 8 µs exclusive hold stays visible in an 18 s panel.
 */
import type { CaptureIntervals, LockInterval, LockIntervalKind } from "../export/intervals.js";
import { esc, fmtNs, niceTicks, tickLabel } from "./format.js";

export interface TimelineRow {
  pid: number;
  tgid: number;
  comm: string;
}

export interface TimelineOptions {
  /** unique id prefix for title/desc ids */
  id: string;
  panel: "overview" | "zoom";
  title: string;
  description: string;
  rows: readonly TimelineRow[];
  iv: CaptureIntervals;
  /** the visible window, ns since t0 */
  from: number;
  to: number;
}

const WIDTH = 960;
const LABEL_W = 168;
const RIGHT = 14;
const TOP = 10;
const ROW_H = 24;
const BAR_H = 14;
const AXIS_H = 30;
const PLOT_W = WIDTH - LABEL_W - RIGHT;
const KINDS: readonly LockIntervalKind[] = ["wait", "shared", "exclusive"];
export const KIND_LABEL: Record<LockIntervalKind, string> = {
  wait: "wait",
  shared: "shared hold",
  exclusive: "exclusive hold",
};

interface Bar {
  start: number;
  end: number;
  n: number;
  total: number;
  first: LockInterval | null;
}

/** The SVG of one panel. */
export function renderTimeline(o: TimelineOptions): string {
  const span = Math.max(o.to - o.from, 1);
  const x = (t: number) => LABEL_W + ((t - o.from) / span) * PLOT_W;
  const mergeGap = (span / PLOT_W) * 0.75; // closer than ~1 px: one bar
  const height = TOP + o.rows.length * ROW_H + AXIS_H;
  const t0 = o.iv.t0;
  const parts: string[] = [];
  parts.push(
    `<svg class="timeline" data-panel="${o.panel}" data-strategy="${esc(o.iv.strategy)}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${o.id}-t ${o.id}-d" preserveAspectRatio="xMinYMin meet">`,
    `<title id="${o.id}-t">${esc(o.title)}</title>`,
    `<desc id="${o.id}-d">${esc(o.description)}</desc>`,
  );

  // axis and grid
  const ticks = niceTicks(o.from, o.to, 8);
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : span;
  const axisY = TOP + o.rows.length * ROW_H;
  parts.push(`<g class="axis" aria-hidden="true">`);
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    parts.push(
      `<line class="grid" x1="${tx}" x2="${tx}" y1="${TOP}" y2="${axisY + 4}"/>`,
      `<text class="tick" x="${tx}" y="${axisY + 18}" text-anchor="middle">${esc(tickLabel(t, step))}</text>`,
    );
  }
  parts.push(
    `<line class="baseline" x1="${LABEL_W}" x2="${WIDTH - RIGHT}" y1="${axisY}" y2="${axisY}"/>`,
    `</g>`,
  );

  o.rows.forEach((row, r) => {
    const y = TOP + r * ROW_H;
    const barY = y + (ROW_H - BAR_H) / 2;
    parts.push(
      `<g class="row" data-pid="${row.pid}" data-comm="${esc(row.comm)}">`,
      `<rect class="row-bg${r % 2 === 1 ? " odd" : ""}" x="0" y="${y}" width="${WIDTH - RIGHT}" height="${ROW_H}"/>`,
      `<text class="label" x="${LABEL_W - 8}" y="${y + ROW_H / 2 + 4}" text-anchor="end">${esc(row.comm)} <tspan class="pid">${row.pid}</tspan></text>`,
    );
    // outermost syscalls as a thin line under the bars
    const spans = o.iv.spans.filter(
      (s) => s.pid === row.pid && s.end >= t0 + o.from && s.start <= t0 + o.to,
    );
    for (const s of outermost(spans)) {
      const x1 = x(Math.max(s.start - t0, o.from));
      const x2 = Math.max(x(Math.min(s.end - t0, o.to)), x1 + 1);
      parts.push(
        `<rect class="span" x="${x1.toFixed(2)}" y="${barY + BAR_H + 1}" width="${(x2 - x1).toFixed(2)}" height="2"><title>${esc(`${row.comm} ${row.pid}: ${s.name}() ${fmtNs(s.end - s.start)}`)}</title></rect>`,
      );
    }
    for (const kind of KINDS) {
      const mine = o.iv.locks.filter(
        (l) => l.pid === row.pid && l.kind === kind && l.end >= t0 + o.from && l.start <= t0 + o.to,
      );
      for (const bar of mergeBars(mine, t0, mergeGap)) {
        const x1 = x(Math.max(bar.start, o.from));
        const x2 = Math.max(x(Math.min(bar.end, o.to)), x1 + 1);
        parts.push(
          `<rect class="bar ${kind}" data-n="${bar.n}" x="${x1.toFixed(2)}" y="${barY}" width="${(x2 - x1).toFixed(2)}" height="${BAR_H}"><title>${esc(barTitle(row, kind, bar))}</title></rect>`,
        );
      }
    }
    for (const h of o.iv.instants) {
      if (h.pid !== row.pid || h.kind !== "hung-task") continue;
      const t = h.time - t0;
      if (t < o.from || t > o.to) continue;
      const hx = x(t);
      parts.push(
        `<path class="hung" d="M${(hx - 5).toFixed(1)} ${y + 1} h10 l-5 7 z"><title>${esc(`${String(h.args.message)} (at ${fmtNs(t)})`)}</title></path>`,
      );
    }
    parts.push(`</g>`);
  });
  parts.push(`</svg>`);
  return parts.join("");
}

/** Intervals (absolute times) of one kind merged when closer than `gap`; times since t0. */
function mergeBars(intervals: readonly LockInterval[], t0: number, gap: number): Bar[] {
  const bars: Bar[] = [];
  let cur: Bar | null = null;
  for (const l of [...intervals].sort((a, b) => a.start - b.start)) {
    const s = l.start - t0;
    const e = l.end - t0;
    if (cur !== null && s - cur.end <= gap) {
      cur.end = Math.max(cur.end, e);
      cur.n++;
      cur.total += e - s;
      cur.first = null;
    } else {
      cur = { start: s, end: e, n: 1, total: e - s, first: l };
      bars.push(cur);
    }
  }
  return bars;
}

function barTitle(row: TimelineRow, kind: LockIntervalKind, bar: Bar): string {
  const who = `${row.comm} ${row.pid}`;
  const when = `${fmtNs(bar.start)} → ${fmtNs(bar.end)}`;
  if (bar.first !== null) {
    const l = bar.first;
    const what =
      kind === "wait" ? `waits for ${l.lock} (${l.mode})` : `${KIND_LABEL[kind]} of ${l.lock}`;
    const how = l.outcome === "open" ? ", still going at the end of the capture" : "";
    return `${who}: ${what} ${fmtNs(l.end - l.start)}, ${when}${how}`;
  }
  return `${who}: ${bar.n} × ${KIND_LABEL[kind]}, ${fmtNs(bar.total)} in all, ${when}`;
}

/** Spans not inside another span of the list (the syscalls, not the functions they call). */
function outermost<T extends { start: number; end: number }>(spans: readonly T[]): T[] {
  const out: T[] = [];
  let reach = Number.NEGATIVE_INFINITY;
  for (const s of [...spans].sort((a, b) => a.start - b.start || b.end - a.end)) {
    if (s.start >= reach) {
      out.push(s);
      reach = s.end;
    } else if (s.end > reach) {
      reach = s.end;
    }
  }
  return out;
}
