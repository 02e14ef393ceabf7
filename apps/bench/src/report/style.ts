import { esc } from "./format.js";

/** The report's stylesheet (inlined in a <style> element; light and dark schemes). */
export const REPORT_CSS = `
:root {
  --fg: #1d1d1f; --muted: #5b5b66; --bg: #ffffff; --panel: #f6f6f8; --odd: #f1f1f4;
  --grid: #dcdce2; --axis: #8a8a96; --wait: #CC79A7; --shared: #0072B2; --exclusive: #D55E00;
  --span: #4a4a52; --hung: #000000; --border: #d6d6dc;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e8e8ec; --muted: #a6a6b2; --bg: #16161a; --panel: #1f1f25; --odd: #23232a;
    --grid: #34343c; --axis: #70707c; --wait: #E08AC0; --shared: #4FA8E0; --exclusive: #F07A2A;
    --span: #c8c8d0; --hung: #ffffff; --border: #3a3a44;
  }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1040px; padding: 24px 20px 64px; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1.2rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 1px solid var(--border); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; }
h4 { font-size: .9rem; font-weight: 600; color: var(--muted); margin: .8rem 0 .2rem; }
p { margin: .4rem 0 .8rem; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.lede { color: var(--muted); max-width: 62em; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .8rem 0; font-size: .9rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.summary { font-size: 1.1rem; padding: .6rem .9rem; background: var(--panel); border-left: 4px solid var(--shared); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0 1rem; }
th, td { padding: .3rem .55rem; border-bottom: 1px solid var(--border); text-align: right; white-space: nowrap; }
th[scope="row"], thead th:first-child { text-align: left; }
thead th { color: var(--muted); font-weight: 600; vertical-align: bottom; }
td[data-field] { font-variant-numeric: tabular-nums; }
.kernel { font-weight: normal; color: var(--muted); font-size: .75rem; white-space: normal; max-width: 16em; }
.swatch { font-size: 1.1em; }
figure { margin: 0 0 1.5rem; padding: .4rem .8rem .6rem; background: var(--panel); border-radius: 6px; }
figcaption h3 { margin-top: .4rem; }
svg.timeline, svg.chart { display: block; width: 100%; height: auto; }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
svg text.tick { fill: var(--muted); font-size: 11px; }
svg .label .pid { fill: var(--muted); font-size: 10.5px; }
svg .grid { stroke: var(--grid); stroke-width: 1; }
svg .baseline { stroke: var(--axis); stroke-width: 1; }
svg .row-bg { fill: transparent; }
svg .row-bg.odd { fill: var(--odd); }
svg .bar.wait { fill: var(--wait); }
svg .bar.shared { fill: var(--shared); }
svg .bar.exclusive { fill: var(--exclusive); }
svg .span { fill: var(--span); }
svg .hung { fill: var(--hung); }
svg .whisker { stroke-width: 1.5; }
svg .box { fill-opacity: .35; }
svg .p99 { stroke-width: 2.5; }
svg .model { fill: none; stroke-width: 2; }
svg circle.model { stroke: none; }
svg .paper { fill: var(--bg); stroke-width: 2; }
svg polyline.paper { fill: none; stroke-dasharray: 5 4; }
svg .axis-title { fill: var(--muted); }
.legend { list-style: none; padding: 0; margin: .2rem 0 1rem; display: flex; flex-wrap: wrap; gap: .4rem 1.4rem; font-size: .9rem; }
.legend li { display: flex; align-items: center; gap: .4rem; }
.legend svg.key { width: 24px; height: 12px; }
details.data { margin: .6rem 0 0; }
details.data summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
.empty { color: var(--muted); }
`;

/**
 * The <head> every report page shares: self-contained (a CSP that allows no fetch), the shared
 * stylesheet and the page's own rules.
 */
export function reportHead(title: string, extraCss: string): string {
  return `<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>${REPORT_CSS}
${extraCss}</style>
</head>`;
}
