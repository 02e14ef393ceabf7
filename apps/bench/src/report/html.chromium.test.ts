/**
 * The report in a real browser: Debian's chromium, driven by playwright-core, loads the page
 * from file:// and we read what it rendered. Skipped when /usr/bin/chromium is absent
 * (.ci/run installs it).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { smallRun } from "../export/test-run.js";
import type { SweepResult, TraceCapture } from "../types.js";
import { renderReport } from "./html.js";

const CHROMIUM = "/usr/bin/chromium";
/** The one SVG method we call in the page (the test compiles without the DOM lib). */
interface Graphics {
  getBBox(): { width: number };
}
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const MiB = 1024 * 1024;

/** Waits, shared holds and exclusive holds per pid, counted straight from the raw events. */
function expectedBars(capture: TraceCapture): Map<number, Record<string, number>> {
  const out = new Map<number, Record<string, number>>();
  const add = (pid: number, kind: "wait" | "shared" | "exclusive") => {
    const r = out.get(pid) ?? { wait: 0, shared: 0, exclusive: 0 };
    r[kind] = (r[kind] ?? 0) + 1;
    out.set(pid, r);
  };
  for (const e of capture.events) {
    if (e.type === "lock-wait") add(e.pid, "wait");
    if (e.type === "lock-acquire") add(e.pid, e.mode === "write" ? "exclusive" : "shared");
    if (e.type === "lock-downgrade") add(e.pid, "shared");
  }
  return out;
}

/** "3.51 ms" → 3.51e6 ns. */
function parseNs(text: string): number {
  const m = /^([\d.]+) (ns|µs|ms|s)$/.exec(text);
  if (m === null) throw new Error(`not a duration: ${text}`);
  const scale = { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] as "ns"];
  return Number(m[1]) * scale;
}

describe.skipIf(!HAVE_CHROMIUM)("the HTML report in headless Chromium", () => {
  const run = smallRun();
  // a small real sweep: 16 / 32 / 64 MiB by both strategies
  const sweep: SweepResult = { rows: [] };
  for (const size of [16 * MiB, 32 * MiB, 64 * MiB]) {
    const r = smallRun(["classic", "zapRlock"], {
      sizeBytes: size,
      readers: 0,
      faulters: 0,
      writers: 0,
    });
    for (const res of r.json.results) {
      sweep.rows.push({
        sizeBytes: size,
        strategy: res.strategy,
        munmapLatencyNs: res.munmapLatencyNs,
        exclusiveHoldNs: res.exclusiveHoldNs,
      });
    }
  }
  let dir = "";
  let browser: Browser;
  let page: Page;
  const consoleProblems: string[] = [];
  const requests: string[] = [];
  const failed: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mmlab-report-"));
    const file = join(dir, "report.html");
    writeFileSync(file, renderReport(run.json, run.captures, sweep));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") consoleProblems.push(m.text());
    });
    page.on("pageerror", (e) => consoleProblems.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    page.on("requestfailed", (r) => failed.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("loads with no console errors, no failed requests and nothing fetched but itself", () => {
    expect(consoleProblems).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests.filter((u) => !u.startsWith("file://") && !u.startsWith("data:"))).toEqual([]);
  });

  it("draws one row per task and as many bars as the trace has waits and holds", async () => {
    for (const capture of run.captures) {
      const drawn = await page.$$eval(
        `svg.timeline[data-panel="overview"][data-strategy="${capture.strategy}"] g.row`,
        (rows) =>
          rows.map((g) => {
            const n = (kind: string) =>
              [...g.querySelectorAll(`rect.bar.${kind}`)].reduce(
                (s, r) => s + Number(r.getAttribute("data-n")),
                0,
              );
            const widths = [...g.querySelectorAll("rect.bar")].map(
              (r) => (r as unknown as Graphics).getBBox().width,
            );
            return {
              pid: Number(g.getAttribute("data-pid")),
              wait: n("wait"),
              shared: n("shared"),
              exclusive: n("exclusive"),
              narrowest: Math.min(...widths, 1),
            };
          }),
      );
      expect(drawn.map((d) => d.pid)).toEqual(capture.tasks.map((t) => t.pid));
      const expected = expectedBars(capture);
      for (const d of drawn) {
        const e = expected.get(d.pid) ?? { wait: 0, shared: 0, exclusive: 0 };
        expect({ pid: d.pid, wait: d.wait, shared: d.shared, exclusive: d.exclusive }).toEqual({
          pid: d.pid,
          ...e,
        });
        expect(d.narrowest).toBeGreaterThanOrEqual(1); // every bar is visible
      }
      expect(drawn.reduce((s, d) => s + d.wait + d.shared + d.exclusive, 0)).toBeGreaterThan(10);
    }
  });

  it("shows zapRlock's µs exclusive hold at full size in the zoom panel", async () => {
    const width = (panel: string) =>
      page.$eval(
        `svg.timeline[data-panel="${panel}"][data-strategy="zapRlock"] g.row[data-pid="15001"] rect.bar.exclusive`,
        (r) => r.getBoundingClientRect().width,
      );
    const overview = await width("overview");
    const zoom = await width("zoom");
    expect(overview).toBeLessThan(3);
    expect(zoom).toBeGreaterThan(20);
  });

  it("shows the JSON's numbers in the results table", async () => {
    const cells = await page.$$eval("table.results td[data-field]", (tds) =>
      tds.map((td) => ({
        strategy: td.getAttribute("data-strategy") ?? "",
        field: td.getAttribute("data-field") ?? "",
        value: td.getAttribute("data-value") ?? "",
        text: td.textContent ?? "",
      })),
    );
    expect(cells.length).toBe(run.json.results.length * 14);
    for (const r of run.json.results) {
      const get = (field: string) =>
        cells.find((c) => c.strategy === r.strategy && c.field === field);
      for (const [field, value] of [
        ["munmapLatencyNs", r.munmapLatencyNs],
        ["exclusiveHoldNs", r.exclusiveHoldNs],
        ["sharedHoldNs", r.sharedHoldNs],
        ["psWait.max", r.psWait.max],
        ["faultWait.p99", r.faultWait.p99],
      ] as const) {
        const c = get(field);
        expect(Number(c?.value)).toBe(value);
        // the text is the same number, rounded to 3 significant digits
        expect(Math.abs(parseNs(c?.text ?? "") - value)).toBeLessThanOrEqual(
          Math.max(value * 0.01, 0.5),
        );
      }
      expect(get("pages")?.text).toBe(r.pages.toLocaleString("en-US"));
      expect(Number(get("hungTaskReports.length")?.text)).toBe(r.hungTaskReports.length);
    }
    const summary = await page.textContent("#summary");
    expect(summary).toMatch(/zapRlock holds mmap_sem exclusively [\d,]+× shorter than classic/);
    const embedded = await page.$eval("#bench-json", (s) => JSON.parse(s.textContent ?? ""));
    expect(embedded.results).toEqual(JSON.parse(JSON.stringify(run.json.results)));
  });

  it("plots the sweep and the wait distributions", async () => {
    const points = await page.$$eval("svg.chart.sweep circle.point.model", (cs) =>
      cs.map((c) => [c.getAttribute("data-size"), c.getAttribute("data-value")]),
    );
    expect(points.map(([s, v]) => [Number(s), Number(v)])).toEqual(
      [...sweep.rows]
        .sort((a, b) => a.strategy.localeCompare(b.strategy) || a.sizeBytes - b.sizeBytes)
        .map((r) => [r.sizeBytes, r.exclusiveHoldNs]),
    );
    const dists = await page.$$eval("svg.chart.waits g.dist", (gs) =>
      gs.map((g) => `${g.getAttribute("data-group")} / ${g.getAttribute("data-strategy")}`),
    );
    expect(dists).toEqual([
      "ps (reads /proc/PID/cmdline) / classic",
      "ps (reads /proc/PID/cmdline) / zapRlock",
      "faulters (page faults) / classic",
      "faulters (page faults) / zapRlock",
      "writers (mmap + munmap) / classic",
      "writers (mmap + munmap) / zapRlock",
    ]);
    // every chart is labelled for assistive technology
    const unlabelled = await page.$$eval(
      "svg[role=img]",
      (svgs) =>
        svgs.filter((s) => {
          const ids = (s.getAttribute("aria-labelledby") ?? "").split(" ");
          const doc = s.ownerDocument;
          return !ids.every((id: string) => (doc.getElementById(id)?.textContent ?? "") !== "");
        }).length,
    );
    expect(unlabelled).toBe(0);
  });
});
