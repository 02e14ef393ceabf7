/**
 * The `history` report (five strategies) in headless Chromium: every strategy gets its
 * column, timeline and wait rows; the page does not overflow sideways; perVmaLock's lock-free
 * faults are counted and its faulters' lanes show only their mmap_sem acquisitions. Skipped
 * when /usr/bin/chromium is absent.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchContext } from "../context.js";
import { runExperiment } from "../experiment.js";
import { HISTORY_MODEL, HISTORY_STRATEGIES } from "../history.js";
import { DEFAULTS, MiB } from "../params.js";
import type { BenchJson, TraceCapture } from "../types.js";
import { renderReport } from "./html.js";

const CHROMIUM = "/usr/bin/chromium";

describe.skipIf(!existsSync(CHROMIUM))("the history report in headless Chromium", () => {
  const params = { ...DEFAULTS, sizeBytes: 64 * MiB, faulters: 2, writers: 1 };
  const runs = HISTORY_STRATEGIES.map((s) => runExperiment(params, s, { trace: true }));
  const json: BenchJson = {
    context: benchContext(params, HISTORY_MODEL),
    results: runs.map((r) => r.result),
  };
  const captures = runs.map((r) => r.capture as TraceCapture);
  let dir = "";
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mmlab-history-report-"));
    const file = join(dir, "history.html");
    writeFileSync(file, renderReport(json, captures));
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
      if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("lays out five strategies without console errors or sideways overflow", async () => {
    expect(problems).toEqual([]);
    // a string: the test compiles without the DOM lib
    const layout = (await page.evaluate(`({
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      heads: [...document.querySelectorAll("table.results thead th[data-strategy]")].map((th) =>
        th.getAttribute("data-strategy")),
      figures: [...document.querySelectorAll("figure.timeline-figure")].map((f) =>
        f.getAttribute("data-strategy")),
      title: document.querySelector("h1")?.textContent,
    })`)) as { page: number; heads: string[]; figures: string[]; title: string };
    expect(layout.page).toBe(0);
    expect(layout.heads).toEqual([...HISTORY_STRATEGIES]);
    expect(layout.figures).toEqual([...HISTORY_STRATEGIES]);
    expect(layout.title).toBe(
      "mmlab-bench: munmap of 64 MiB under classic, zapRlock, v4.20, v5.8 and perVmaLock",
    );
    const dists = await page.$$eval("svg.chart.waits g.dist", (gs) =>
      gs.map((g) => g.getAttribute("data-strategy")),
    );
    for (const s of HISTORY_STRATEGIES) expect(dists).toContain(s);
  });

  it("counts perVmaLock's faults without mmap_sem and draws only mmap_sem in the lanes", async () => {
    const v = json.results[4]?.vmaLock;
    expect(v?.lockFreeFaults).toBeGreaterThan(0);
    const cell = await page.$eval(
      'table.results td[data-strategy="perVmaLock"][data-field="vmaLock.lockFreeFaults"]',
      (td) => [td.getAttribute("data-value"), td.textContent],
    );
    expect(cell).toEqual([String(v?.lockFreeFaults), v?.lockFreeFaults.toLocaleString("en-US")]);
    for (const t of v?.tasks ?? []) {
      const bars = await page.$$eval(
        `svg.timeline[data-panel="overview"][data-strategy="perVmaLock"] g.row[data-pid="${t.pid}"] rect.bar.shared`,
        (rs) => rs.reduce((s, r) => s + Number(r.getAttribute("data-n")), 0),
      );
      // one shared hold per mmap_sem acquisition; the lock-free faults add none
      expect(bars).toBe(t.mmapSemAcquisitions);
      expect(t.lockFreeFaults).toBeGreaterThan(t.mmapSemAcquisitions);
    }
  });
});
