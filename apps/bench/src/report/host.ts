/**
 * `mmlab-bench host --report FILE.html`: the host comparison as a self-contained page in the
 * report's style (inline CSS, no script to run, a CSP that forbids every fetch): what ran and
 * which model stands for the kernel, one table per teardown method (measured beside model,
 * every number also in data-value as raw ns), the fit and the verdict. The HostJson is
 * embedded as application/json for scripts.
 */
import type { HostJson, HostRow } from "../host/compare.js";
import { METHODS } from "../host/probe.js";
import { esc, fmtBytes, fmtNs, jsonForScript } from "./format.js";
import { reportHead } from "./style.js";

const METHOD_TITLES = {
  munmap: "munmap(2)",
  mapfixed: "mmap(MAP_FIXED, PROT_NONE) over the mapping",
  dontneed: "madvise(MADV_DONTNEED)",
} as const;

function ns(v: number, field: string): string {
  return `<td data-field="${esc(field)}" data-value="${esc(v)}">${esc(fmtNs(v))}</td>`;
}

function verdict(b: boolean | null): string {
  return b === null ? "n/a" : b ? "yes" : "no";
}

function row(r: HostRow): string {
  const busy =
    r.measured.busy.length > 0
      ? ` <small title="${esc(r.measured.busy.join("; "))}">(busy)</small>`
      : "";
  return `<tr data-method="${esc(r.method)}" data-actor="${esc(r.actor)}" data-agree="${r.agree}">
<th scope="row">${esc(r.actor)}${busy}</th>${ns(r.measured.p99Ns, "measured.p99Ns")}${ns(r.measured.maxNs, "measured.maxNs")}${ns(r.model.p99Ns, "model.p99Ns")}${ns(r.model.maxNs, "model.maxNs")}
<td>${verdict(r.measured.blocked)} (${r.measured.blockedReps}/${r.measured.judgedReps})</td><td${r.agree ? "" : ' class="differs"'}>${verdict(r.model.blocked)}${r.agree ? "" : " ≠"}</td>
<td data-value="${esc(r.teardownRatio)}">${esc(Number.isFinite(r.teardownRatio) ? `${r.teardownRatio.toFixed(2)}x` : "—")}</td></tr>`;
}

/** The host comparison's own page. */
export function renderHostReport(json: HostJson): string {
  const x = json.context;
  const title = `mmlab-bench host: ${fmtBytes(x.sizeBytes)} on ${x.machine.os} beside ${x.kernel.strategy}`;
  const facts: Array<[string, string]> = [
    ["kernel", `${x.machine.os} (${x.machine.cpuModel} ×${x.machine.cpus})`],
    [
      "model",
      `${x.kernel.strategy}, rwsem ${x.kernel.rwsem}, ${x.kernel.tree} tree, generation ${x.kernel.generation}`,
    ],
    ["why", x.kernel.why],
    [
      "mapping",
      `${fmtBytes(x.sizeBytes)} anonymous, ${x.thp ? "THP" : "4 KiB pages"}; ${x.reps} repetition(s); baseline ${fmtNs(x.baselineNs)}`,
    ],
    ["profile", `${x.profile.name} — ${x.profile.source}`],
    ["time", x.time],
  ];
  const sections = METHODS.filter((m) => json.rows.some((r) => r.method === m)).map((m) => {
    const rows = json.rows.filter((r) => r.method === m);
    return `<section id="host-${esc(m)}">
<h2>${esc(METHOD_TITLES[m])}</h2>
<div class="scroll"><table class="results">
<thead><tr><th scope="col">actor</th><th scope="col">measured p99</th><th scope="col">measured max</th><th scope="col">model p99</th><th scope="col">model max</th><th scope="col">blocked? measured</th><th scope="col">model</th><th scope="col">teardown model/measured</th></tr></thead>
<tbody>${rows.map(row).join("\n")}</tbody>
</table></div>
</section>`;
  });
  const busy = json.rows.filter((r) => r.measured.busy.length > 0).length;
  const verdictText =
    json.disagreements.length === 0
      ? `Every blocked / not-blocked verdict agrees (${json.rows.length} runs).`
      : `Verdicts differ for ${json.disagreements.join(", ")}.`;
  const fit =
    json.fit === null
      ? ""
      : `<section id="host-fit"><h2>Fit</h2><ul>${json.fit.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul></section>`;
  return `<!doctype html>
<html lang="en">
${reportHead(title, ".differs{color:#b00020;font-weight:600}")}
<body>
<header>
<h1>${esc(title)}</h1>
<p class="lede">The munmap experiment run for real on this machine's kernel by a small C probe, beside the model of the closest modelled kernel. An actor is <em>blocked</em> when one of its operations that overlaps the teardown waited at least half of the teardown's time.${busy > 0 ? ` ${busy} of ${json.rows.length} runs were measured on a busy machine: their latencies include time spent waiting for a CPU.` : ""}</p>
<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
<p class="summary" id="summary">${esc(verdictText)}</p>
</header>
${sections.join("\n")}
${fit}
<script type="application/json" id="host-json">${jsonForScript(json)}</script>
</body>
</html>
`;
}
