import { describe, expect, it } from "vitest";
import { smallRun } from "../export/test-run.js";
import type { BenchJson, SweepResult, TraceCapture } from "../types.js";
import { fmtNs, niceTicks, tickLabel } from "./format.js";
import { renderReport } from "./html.js";

const run = smallRun();

describe("format helpers", () => {
  it("formats durations with units and 1-2-5 ticks", () => {
    expect([0, 999, 8000, 3_512_408, 17.92e9].map(fmtNs)).toEqual([
      "0 ns",
      "999 ns",
      "8 µs",
      "3.51 ms",
      "17.9 s",
    ]);
    expect(fmtNs(null)).toBe("–");
    expect(niceTicks(0, 3.7e6, 8)).toEqual([0, 5e5, 1e6, 1.5e6, 2e6, 2.5e6, 3e6, 3.5e6]);
    expect(tickLabel(1.5e6, 5e5)).toBe("1.5 ms");
    expect(tickLabel(120e3, 20e3)).toBe("120 µs");
    expect(tickLabel(10e9, 2e9)).toBe("10 s");
  });
});

describe("renderReport", () => {
  it("is one self-contained page: no external URL, a CSP that forbids fetching, no script to run", () => {
    const html = renderReport(run.json, run.captures);
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/\b(src|href)="(?!data:)/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`,
    );
    expect(html.match(/<script\b[^>]*>/g)).toEqual([
      '<script type="application/json" id="bench-json">',
    ]);
  });

  it("labels the per-result peak RSS as the process's peak so far (the runs share one process)", () => {
    const html = renderReport(run.json, run.captures);
    expect(html).toContain("process peak RSS so far");
    expect(html).not.toMatch(/>peak RSS</);
  });

  it("draws one timeline row per task, per strategy and panel", () => {
    const html = renderReport(run.json, run.captures);
    for (const c of run.captures) {
      for (const panel of ["overview", "zoom"]) {
        const svg = html.match(
          new RegExp(
            `<svg class="timeline" data-panel="${panel}" data-strategy="${c.strategy}".*?</svg>`,
          ),
        )?.[0];
        expect(svg).toBeDefined();
        const pids = [...(svg as string).matchAll(/<g class="row" data-pid="(\d+)"/g)].map((m) =>
          Number(m[1]),
        );
        expect(pids).toEqual(c.tasks.map((t) => t.pid));
      }
    }
  });

  it("escapes every caller-supplied string, also inside the embedded JSON", () => {
    const evil = `<script>alert("x")</script>&'`;
    const json: BenchJson = structuredClone(run.json);
    (json.results[0] as BenchJson["results"][number]).strategy = evil;
    json.context.profileSource = evil;
    const captures: TraceCapture[] = run.captures.map((c, i) =>
      i === 0 ? { ...c, strategy: evil, tasks: c.tasks.map((t) => ({ ...t, comm: evil })) } : c,
    );
    const html = renderReport(json, captures);
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
    const embedded = html.match(
      /<script type="application\/json" id="bench-json">(.*?)<\/script>/s,
    )?.[1];
    expect(embedded).not.toContain("</script>");
    expect(JSON.parse(embedded as string)).toEqual(JSON.parse(JSON.stringify(json)));
  });

  it("shows – for a group without samples (NaN, or null after a JSON round trip) and renders without captures", () => {
    const json: BenchJson = JSON.parse(JSON.stringify(run.json));
    const r = json.results[0] as BenchJson["results"][number];
    r.writerWait = {
      count: 0,
      total: 0,
      min: Number.NaN,
      max: Number.NaN,
      mean: Number.NaN,
      p50: Number.NaN,
      p90: Number.NaN,
      p99: Number.NaN,
    };
    const html = renderReport(json, []);
    expect(html).not.toContain('class="timeline"');
    expect(html).toMatch(
      /<td data-strategy="classic" data-field="writerWait.max" data-value="">–<\/td>/,
    );
    expect(html).not.toMatch(/NaN|undefined|Infinity/);
  });

  it("plots a sweep: a model point per row and the paper's figure where there is one", () => {
    const GiB = 1024 ** 3;
    const sweep: SweepResult = {
      rows: [
        {
          sizeBytes: 80 * GiB,
          strategy: "classic",
          munmapLatencyNs: 4.48e9,
          exclusiveHoldNs: 4.48e9,
          paper: { munmapNs: 5.01e9 },
          ratio: 0.894,
        },
        {
          sizeBytes: 320 * GiB,
          strategy: "classic",
          munmapLatencyNs: 17.92e9,
          exclusiveHoldNs: 17.92e9,
          paper: { munmapNs: 17.92e9 },
          ratio: 1,
        },
        {
          sizeBytes: 80 * GiB,
          strategy: "zapRlock",
          munmapLatencyNs: 4.48e9,
          exclusiveHoldNs: 8000,
          paper: { exclusiveHoldNs: 8000 },
          ratio: 1,
        },
        {
          sizeBytes: 320 * GiB,
          strategy: "zapRlock",
          munmapLatencyNs: 17.92e9,
          exclusiveHoldNs: 9000,
        },
      ],
    };
    const html = renderReport(run.json, run.captures, sweep);
    const model = [
      ...html.matchAll(/<circle class="point model" data-size="(\d+)" data-value="([\d.e+]+)"/g),
    ];
    expect(model.map((m) => [Number(m[1]) / GiB, Number(m[2])])).toEqual([
      [80, 4.48e9],
      [320, 17.92e9],
      [80, 8000],
      [320, 9000],
    ]);
    const paper = [
      ...html.matchAll(/<rect class="point paper" data-size="(\d+)" data-value="([\d.e+]+)"/g),
    ];
    expect(paper.map((m) => [Number(m[1]) / GiB, Number(m[2])])).toEqual([
      [80, 5.01e9],
      [320, 17.92e9],
      [80, 8000],
    ]);
    expect(html).toContain('<td data-field="ratio" data-value="0.894">0.89</td>');
  });
});
