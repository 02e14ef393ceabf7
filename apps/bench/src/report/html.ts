/**
 * `--report FILE.html`: one self-contained page (inline CSS and SVG, no script to run, a CSP
 * that forbids every fetch), readable offline and in any browser:
 *
 *   header    what ran: size, tasks, profile, model, seed, virtual time
 *   results   one row per strategy (every number also in data-value, raw ns / bytes)
 *   timelines per strategy: who waits for / holds mmap_sem, whole run + zoom on the munmap
 *   waits     wait-time distributions per task group (log scale) + table
 *   sweep     exclusive hold against size, model beside the paper (when a sweep is given)
 *
 * Every chart has a <title>/<desc> and a table with the same numbers; every caller-supplied
 * string is escaped. The BenchJson itself is embedded as application/json for scripts.
 */
import { type CaptureIntervals, captureIntervals } from "../export/intervals.js";
import type { BenchJson, BenchResult, Distribution, SweepResult, TraceCapture } from "../types.js";
import { STRATEGY_COLOURS, sweepChart, WAIT_GROUPS, waitDistributionChart } from "./charts.js";
import { esc, fmtBytes, fmtInt, fmtNs, fmtRatio, isNum, jsonForScript } from "./format.js";
import { reportHead } from "./style.js";
import { renderTimeline, type TimelineRow } from "./timeline.js";

/** Renders the whole report. `captures` may be empty (no timelines); `sweep` is optional. */
export function renderReport(
  json: BenchJson,
  captures: readonly TraceCapture[],
  sweep?: SweepResult,
): string {
  const strategies = json.results.map((r) => r.strategy);
  const p = json.context.params;
  const title = `mmlab-bench: munmap of ${fmtBytes(p.sizeBytes)} under ${listText(strategies) || "no strategy"}`;
  const body = [
    header(json, title),
    summary(json.results),
    resultsSection(json),
    timelinesSection(captures),
    waitsSection(json),
    sweep !== undefined && sweep.rows.length > 0 ? sweepSection(sweep, strategies) : "",
    hungSection(json.results, captures),
    howToRead(strategies),
  ].join("\n");
  return `<!doctype html>
<html lang="en">
${reportHead(title, STRATEGY_COLOURS.map((c, i) => `.s${i}{color:${c}}`).join(""))}
<body>
${body}
<script type="application/json" id="bench-json">${jsonForScript(sweep === undefined ? json : { ...json, sweep })}</script>
</body>
</html>
`;
}

/** "a", "a and b", "a, b and c". */
function listText(xs: readonly string[]): string {
  return xs.length <= 2 ? xs.join(" and ") : `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}`;
}

function header(json: BenchJson, title: string): string {
  const c = json.context;
  const p = c.params;
  const facts: Array<[string, string]> = [
    ["mapping", `${fmtBytes(p.sizeBytes)}, every 4 KiB page populated before t0`],
    [
      "tasks",
      `${p.readers} ps reader${p.readers === 1 ? "" : "s"} (every ${fmtNs(p.psIntervalNs)}), ${p.faulters} faulting thread${p.faulters === 1 ? "" : "s"}, ${p.writers} mmap/munmap writer${p.writers === 1 ? "" : "s"}`,
    ],
    ["profile", `${c.profile} — ${c.profileSource}`],
    ["model", `${c.model}; rwsem ${p.rwsem}, ${p.tree} VMA tree, ${p.levels}-level page tables`],
    [
      "hung-task watchdog",
      p.hungTaskTimeoutNs > 0 ? `${fmtNs(p.hungTaskTimeoutNs)} timeout` : "off",
    ],
    ["time", `${c.time}; CPUs ${p.cpus === null ? "one per task" : p.cpus}`],
    ["seed", String(c.seed)],
    [
      "ran on",
      `mmlab-bench ${c.version}, node ${c.machine.node}, ${c.machine.cpuModel} ×${c.machine.cpus}, ${c.machine.os}`,
    ],
  ];
  return `<header>
<h1>${esc(title)}</h1>
<p class="lede">The experiment of Yang Shi's "mm: mmap: zap pages with read mmap_sem in munmap" (linux-mm 2018), simulated: one thread munmaps a large populated mapping while <code>ps</code> reads <code>/proc/PID/cmdline</code> and other threads fault pages in the same address space. All times are virtual: what the modelled kernel would take, not how long this machine took to simulate it.</p>
<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
</header>`;
}

function summary(results: readonly BenchResult[]): string {
  const holds = results.filter((r) => isNum(r.exclusiveHoldNs) && r.exclusiveHoldNs > 0);
  if (holds.length < 2) return "";
  const sorted = [...holds].sort((a, b) => a.exclusiveHoldNs - b.exclusiveHoldNs);
  const best = sorted[0] as BenchResult;
  const worst = sorted[sorted.length - 1] as BenchResult;
  return `<p class="summary" id="summary"><strong>${esc(best.strategy)}</strong> holds mmap_sem exclusively <strong>${esc(fmtRatio(worst.exclusiveHoldNs / best.exclusiveHoldNs))}</strong> shorter than <strong>${esc(worst.strategy)}</strong> (${esc(fmtNs(best.exclusiveHoldNs))} against ${esc(fmtNs(worst.exclusiveHoldNs))}).</p>`;
}

interface Column {
  head: string;
  field: string;
  value: (r: BenchResult) => number | null | undefined;
  format: (v: number | null | undefined) => string;
}

/** The results table's columns; `field` names the BenchJson path of data-value. */
export const RESULT_COLUMNS: readonly Column[] = [
  { head: "pages", field: "pages", value: (r) => r.pages, format: fmtInt },
  {
    head: "munmap latency",
    field: "munmapLatencyNs",
    value: (r) => r.munmapLatencyNs,
    format: fmtNs,
  },
  {
    head: "exclusive hold",
    field: "exclusiveHoldNs",
    value: (r) => r.exclusiveHoldNs,
    format: fmtNs,
  },
  { head: "shared hold", field: "sharedHoldNs", value: (r) => r.sharedHoldNs, format: fmtNs },
  { head: "ps wait p99", field: "psWait.p99", value: (r) => r.psWait.p99, format: fmtNs },
  { head: "ps wait max", field: "psWait.max", value: (r) => r.psWait.max, format: fmtNs },
  { head: "fault wait p99", field: "faultWait.p99", value: (r) => r.faultWait.p99, format: fmtNs },
  { head: "fault wait max", field: "faultWait.max", value: (r) => r.faultWait.max, format: fmtNs },
  {
    head: "faults without mmap_sem",
    field: "vmaLock.lockFreeFaults",
    value: (r) => r.vmaLock?.lockFreeFaults,
    format: fmtInt,
  },
  {
    head: "writer wait max",
    field: "writerWait.max",
    value: (r) => r.writerWait.max,
    format: fmtNs,
  },
  {
    head: "hung-task reports",
    field: "hungTaskReports.length",
    value: (r) => r.hungTaskReports.length,
    format: fmtInt,
  },
  {
    head: "wall: populate",
    field: "sim.wallMs.populate",
    value: (r) => r.sim.wallMs.populate,
    format: fmtMs,
  },
  {
    head: "wall: measured",
    field: "sim.wallMs.measured",
    value: (r) => r.sim.wallMs.measured,
    format: fmtMs,
  },
  {
    // process.resourceUsage().maxRSS when the result was taken: the process's peak so far, so a
    // later row includes every earlier one (the simulations share one process).
    head: "process peak RSS so far",
    field: "sim.peakRssBytes",
    value: (r) => r.sim.peakRssBytes,
    format: fmtBytes,
  },
];

function fmtMs(ms: number | null | undefined): string {
  return isNum(ms) ? `${ms.toFixed(ms >= 100 ? 0 : 1)} ms` : "–";
}

function cell(v: number | null | undefined, text: string, field: string): string {
  return `<td data-field="${esc(field)}" data-value="${isNum(v) ? v : ""}">${esc(text)}</td>`;
}

function resultsSection(json: BenchJson): string {
  const strategies = json.results.map((r) => r.strategy);
  // One column per strategy, one row per figure: two strategies side by side read best.
  const head = json.results.map(
    (r, i) =>
      `<th scope="col" data-strategy="${esc(r.strategy)}"><span class="swatch s${i % STRATEGY_COLOURS.length}">■</span> ${esc(r.strategy)}<div class="kernel">${esc(r.kernel)}</div></th>`,
  );
  const rows = RESULT_COLUMNS.map((c) => {
    const cells = json.results.map((r) =>
      cell(c.value(r), c.format(c.value(r)), c.field).replace(
        "<td ",
        `<td data-strategy="${esc(r.strategy)}" `,
      ),
    );
    return `<tr data-field="${esc(c.field)}"><th scope="row">${esc(c.head)}</th>${cells.join("")}</tr>`;
  });
  return `<section id="results">
<h2>Results</h2>
<p>Virtual times from the simulation (the wall and RSS rows are the simulator's own cost). The munmap's holds come from mmap_sem's acquisition records: exclusive from down_write to downgrade_write (or up_write), shared from the downgrade to up_read. Waits: from down_* to the grant.</p>
<div class="scroll"><table class="results" data-strategies="${esc(strategies.join(" "))}">
<thead><tr><th scope="col">figure</th>${head.join("")}</tr></thead>
<tbody>${rows.join("\n")}</tbody>
</table></div>
</section>`;
}

function timelinesSection(captures: readonly TraceCapture[]): string {
  if (captures.length === 0) return "";
  // mmap_sem only: per-VMA locks (perVmaLock's "vm_lock") are not drawn in these lanes, so a
  // fault that never touched mmap_sem leaves its lane empty; the results count those faults.
  const ivs = captures.map((c) => mmapSemOnly(captureIntervals(c)));
  // One zoom width for every strategy, sized from the shortest munmap exclusive hold, so the
  // panels compare like with like.
  const focuses = ivs.map(munmapFocus);
  const excl = focuses.flatMap((f) => (f === null ? [] : [f.holdNs]));
  const zoomWidth = niceUp(Math.max(20 * Math.min(...excl, Number.POSITIVE_INFINITY), 20e3));
  const panels = captures.map((capture, i) => {
    const iv = ivs[i] as CaptureIntervals;
    const rows = rowsOf(capture, iv);
    const runEnd = Math.max(iv.end - iv.t0, 1);
    const id = `tl${i}`;
    const overview = renderTimeline({
      id: `${id}a`,
      panel: "overview",
      title: `${capture.strategy}: mmap_sem over the whole measured phase (0 to ${fmtNs(runEnd)})`,
      description: `One row per task. Purple: waiting for mmap_sem; blue: holding it shared (read); vermillion: holding it exclusively (write). Grey line: the task's system calls. Triangles: hung-task reports. Bars closer than a pixel are drawn as one.`,
      rows,
      iv,
      from: 0,
      to: runEnd,
    });
    const f = focuses[i];
    let zoom = "";
    if (f != null && Number.isFinite(zoomWidth) && zoomWidth < runEnd * 0.5) {
      const from = Math.max(0, f.start - 0.15 * zoomWidth);
      zoom = `<h4>Zoom: ${esc(fmtNs(zoomWidth))} from ${esc(fmtNs(from))}, around the munmap's down_write</h4>${renderTimeline(
        {
          id: `${id}b`,
          panel: "zoom",
          title: `${capture.strategy}: mmap_sem around the munmap's down_write (${fmtNs(from)} to ${fmtNs(from + zoomWidth)})`,
          description: `The same rows, ${fmtNs(zoomWidth)} of virtual time around the moment the munmap took mmap_sem for writing; its exclusive hold lasted ${fmtNs(f.holdNs)}.`,
          rows,
          iv,
          from,
          to: from + zoomWidth,
        },
      )}`;
    }
    return `<figure class="timeline-figure" data-strategy="${esc(capture.strategy)}">
<figcaption><h3>${esc(capture.strategy)}</h3></figcaption>
<h4>Whole measured phase</h4>${overview}${zoom}
${taskTable(capture, iv, rows)}
</figure>`;
  });
  return `<section id="timelines">
<h2>Who holds and who waits for mmap_sem</h2>
${legend()}
${panels.join("\n")}
</section>`;
}

function legend(): string {
  const item = (cls: string, label: string) =>
    `<li><svg class="key" viewBox="0 0 24 12" aria-hidden="true"><rect class="bar ${cls}" x="0" y="0" width="24" height="12"/></svg>${esc(label)}</li>`;
  return `<ul class="legend">${item("wait", "waits for mmap_sem")}${item("shared", "holds it shared (read)")}${item("exclusive", "holds it exclusively (write)")}<li><svg class="key" viewBox="0 0 24 12" aria-hidden="true"><rect class="span" x="0" y="5" width="24" height="2"/></svg>in a system call</li><li><svg class="key" viewBox="0 0 24 12" aria-hidden="true"><path class="hung" d="M7 1 h10 l-5 7 z"/></svg>hung-task report</li></ul>`;
}

function mmapSemOnly(iv: CaptureIntervals): CaptureIntervals {
  return { ...iv, locks: iv.locks.filter((l) => l.lock === "mmap_sem") };
}

/** The capture's tasks (in its order), plus any pid that only appears in its events. */
function rowsOf(capture: TraceCapture, iv: CaptureIntervals): TimelineRow[] {
  const rows: TimelineRow[] = capture.tasks.map((t) => ({
    pid: t.pid,
    tgid: t.tgid,
    comm: t.comm,
  }));
  const seen = new Set(rows.map((r) => r.pid));
  for (const l of iv.locks) {
    if (!seen.has(l.pid)) {
      seen.add(l.pid);
      rows.push({ pid: l.pid, tgid: l.pid, comm: `pid ${l.pid}` });
    }
  }
  return rows;
}

/** The munmap: the longest *munmap* span, and its task's first exclusive hold inside it. */
function munmapFocus(iv: CaptureIntervals): { start: number; holdNs: number } | null {
  let best: CaptureIntervals["spans"][number] | null = null;
  for (const s of iv.spans) {
    if (/munmap/i.test(s.name) && (best === null || s.end - s.start > best.end - best.start))
      best = s;
  }
  if (best === null) return null;
  const b = best;
  const hold = iv.locks.find(
    (l) => l.pid === b.pid && l.kind === "exclusive" && l.start >= b.start && l.start <= b.end,
  );
  if (hold === undefined) return null;
  return { start: hold.start - iv.t0, holdNs: hold.end - hold.start };
}

/** 1, 2 or 5 × 10^k at or above `v`. */
function niceUp(v: number): number {
  if (!Number.isFinite(v) || v <= 0) return v;
  const pow = 10 ** Math.floor(Math.log10(v));
  return (
    ([1, 2, 5, 10].map((m) => m * pow).find((s) => s >= v * (1 - 1e-12)) as number) ?? 10 * pow
  );
}

/** The text alternative of a timeline: per task, what the bars add up to. */
function taskTable(
  capture: TraceCapture,
  iv: CaptureIntervals,
  rows: readonly TimelineRow[],
): string {
  const body = rows.map((row) => {
    const mine = iv.locks.filter((l) => l.pid === row.pid);
    const of = (k: string) => mine.filter((l) => l.kind === k).map((l) => l.end - l.start);
    const waits = of("wait");
    const shared = of("shared");
    const exclusive = of("exclusive");
    const hung = iv.instants.filter((i) => i.pid === row.pid && i.kind === "hung-task").length;
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const c = (field: string, v: number, text: string) => cell(v, text, field);
    return `<tr data-pid="${row.pid}"><th scope="row">${esc(row.comm)} ${row.pid}</th>${[
      c("waits", waits.length, fmtInt(waits.length)),
      c("waitTotalNs", sum(waits), fmtNs(sum(waits))),
      c("waitMaxNs", Math.max(0, ...waits), fmtNs(Math.max(0, ...waits))),
      c("sharedHolds", shared.length, fmtInt(shared.length)),
      c("sharedTotalNs", sum(shared), fmtNs(sum(shared))),
      c("exclusiveHolds", exclusive.length, fmtInt(exclusive.length)),
      c("exclusiveTotalNs", sum(exclusive), fmtNs(sum(exclusive))),
      c("hungTaskReports", hung, fmtInt(hung)),
    ].join("")}</tr>`;
  });
  return `<details class="data"><summary>Data table: ${esc(capture.strategy)}, per task</summary>
<div class="scroll"><table class="tasks" data-strategy="${esc(capture.strategy)}">
<thead><tr><th scope="col">task</th><th scope="col">waits</th><th scope="col">total wait</th><th scope="col">longest wait</th><th scope="col">shared holds</th><th scope="col">total shared</th><th scope="col">exclusive holds</th><th scope="col">total exclusive</th><th scope="col">hung-task reports</th></tr></thead>
<tbody>${body.join("\n")}</tbody></table></div></details>`;
}

function waitsSection(json: BenchJson): string {
  const strategies = json.results.map((r) => r.strategy);
  const rows: string[] = [];
  for (const g of WAIT_GROUPS) {
    for (const r of json.results) {
      const d: Distribution = r[g.key];
      const f = (k: keyof Distribution) =>
        cell(d[k], k === "count" ? fmtInt(d[k]) : fmtNs(d[k]), `${g.key}.${k}`);
      rows.push(
        `<tr data-strategy="${esc(r.strategy)}" data-group="${g.key}"><th scope="row">${esc(g.label)}</th><td><span class="swatch s${strategies.indexOf(r.strategy) % STRATEGY_COLOURS.length}">■</span> ${esc(r.strategy)}</td>${(["count", "min", "p50", "p90", "p99", "max", "mean"] as const).map(f).join("")}</tr>`,
      );
    }
  }
  return `<section id="waits">
<h2>Wait-time distributions</h2>
<p>How long each group of tasks waited for mmap_sem, every acquisition of the measured phase (uncontended ones wait 0 ns). Log scale.</p>
${waitDistributionChart(json, "waits")}
<div class="scroll"><table class="waits">
<thead><tr><th scope="col">tasks</th><th scope="col">strategy</th><th scope="col">count</th><th scope="col">min</th><th scope="col">p50</th><th scope="col">p90</th><th scope="col">p99</th><th scope="col">max</th><th scope="col">mean</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table></div>
</section>`;
}

function sweepSection(sweep: SweepResult, strategies: readonly string[]): string {
  const all = [...new Set([...strategies, ...sweep.rows.map((r) => r.strategy)])];
  const rows = sweep.rows.map((r) => {
    const paper =
      r.paper?.munmapNs !== undefined
        ? `munmap ${fmtNs(r.paper.munmapNs)}`
        : r.paper?.exclusiveHoldNs !== undefined
          ? `exclusive ~${fmtNs(r.paper.exclusiveHoldNs)}`
          : "–";
    return `<tr data-strategy="${esc(r.strategy)}" data-size="${r.sizeBytes}"><td>${esc(fmtBytes(r.sizeBytes))}</td><td><span class="swatch s${all.indexOf(r.strategy) % STRATEGY_COLOURS.length}">■</span> ${esc(r.strategy)}</td>${cell(r.munmapLatencyNs, fmtNs(r.munmapLatencyNs), "munmapLatencyNs")}${cell(r.exclusiveHoldNs, fmtNs(r.exclusiveHoldNs), "exclusiveHoldNs")}<td>${esc(paper)}</td>${cell(r.ratio, isNum(r.ratio) ? r.ratio.toFixed(2) : "–", "ratio")}</tr>`;
  });
  return `<section id="sweep">
<h2>Exclusive hold against size</h2>
<p>The munmap's exclusive hold of mmap_sem for each size and strategy, beside the patch series' figures (RFC v1 cover: pristine SyS_munmap of 80 / 160 / 320 GB took 5.01 / 9.13 / 17.92 s, all of it under the write lock; RFC v6/v7 ftrace: about 8 µs exclusive with the patch, traced at 80 GB only).</p>
${sweepChart(sweep, all, "sweepchart")}
<div class="scroll"><table class="sweep">
<thead><tr><th scope="col">size</th><th scope="col">strategy</th><th scope="col">munmap</th><th scope="col">exclusive hold</th><th scope="col">paper</th><th scope="col">model / paper</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table></div>
</section>`;
}

function hungSection(results: readonly BenchResult[], captures: readonly TraceCapture[]): string {
  const items = results.map((r) => {
    const t0 = captures.find((c) => c.strategy === r.strategy)?.t0;
    const at = (time: number) =>
      t0 === undefined ? `at sim time ${fmtNs(time)}` : `${fmtNs(time - t0)} after t0`;
    const list =
      r.hungTaskReports.length === 0
        ? "<p>No hung-task reports.</p>"
        : `<ul>${r.hungTaskReports.map((h) => `<li><code>${esc(h.message)}</code> ${esc(at(h.time))} (blocked ${esc(fmtNs(h.blockedNs))})</li>`).join("")}</ul>`;
    return `<h3>${esc(r.strategy)}</h3>${list}`;
  });
  return `<section id="hung-tasks"><h2>Hung-task watchdog</h2>${items.join("\n")}</section>`;
}

function howToRead(strategies: readonly string[]): string {
  const later = strategies.filter((s) => s === "v4.20" || s === "v5.8" || s === "perVmaLock");
  const history =
    later.length === 0
      ? ""
      : `<li>The later designs: <code>v4.20</code> is the patch as merged (downgrade for every munmap), <code>v5.8</code> keeps the write lock when the VMA above the range is a VM_GROWSDOWN stack (the 246c320a8cfe fix), <code>perVmaLock</code> (v6.4) lets page faults take their VMA's own lock: those faults never touch mmap_sem, so the faulters' lanes stay empty and the results count them as "faults without mmap_sem".</li>`;
  return `<section id="how-to-read"><h2>How to read this page</h2>
<ul>${history}
<li>Each timeline row is one task. While the munmap holds mmap_sem exclusively (vermillion), every other task that needs it waits (purple). With <code>classic</code> that is the whole munmap; with <code>zapRlock</code> it is the few microseconds it takes to detach the VMAs, after which the zap runs under the shared lock (blue) next to ps and the faults.</li>
<li>The first panel covers the whole measured phase; microsecond bars are drawn at least one pixel wide there. The zoom panel shows the same rows around the munmap's down_write, where the exclusive hold of <code>zapRlock</code> is visible at full size.</li>
<li>Hover a bar for its exact times; the data tables under each timeline list the same numbers.</li>
<li>The mmap_sem rules at work: a writer waits for every reader, and on a v4.18 rwsem a reader arriving behind a queued writer waits too. That is why a writer arriving during the zap still blocks ps under <code>zapRlock</code>.</li>
</ul></section>`;
}
