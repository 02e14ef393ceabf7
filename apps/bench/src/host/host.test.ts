/**
 * The model side of `mmlab-bench host`, on recorded probe outputs (fixtures/host/, recorded on
 * this project's Linux 6.18 machine with `host --save-probe`), so these tests are
 * deterministic: the fit, the model's verdicts, the table, the exit code, the saved profile.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { costModelFromJson, costProfile } from "@mmlab/mm-core";
import { describe, expect, it } from "vitest";
import { isUsageError, runCli } from "../test-cli.js";
import type { HostJson } from "./compare.js";
import { fitProfile } from "./fit.js";
import { closestModel } from "./kernels.js";
import { modelOpNs } from "./model.js";
import { validateProbeOutput } from "./probe.js";

const FIXTURE = fileURLPath("../../fixtures/host/linux-6.18-256m.json");

function fileURLPath(rel: string): string {
  return new URL(rel, import.meta.url).pathname;
}

function fixtureOutputs() {
  const f = JSON.parse(readFileSync(FIXTURE, "utf8")) as { release: string; outputs: unknown[] };
  return { release: f.release, outputs: f.outputs.map(validateProbeOutput) };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "mmlab-host-"));

describe("the fit", () => {
  it("makes the model's own operations take what the probe measured", () => {
    const { release, outputs } = fixtureOutputs();
    const kernel = closestModel(release);
    const fit = fitProfile(outputs, kernel, "host-test");
    const p = fit.profile;
    // Each single-field fit reproduces its baseline p50 in the model, to the rounding.
    const fault = fit.inputs.baselineP50Ns.fault;
    const procread = fit.inputs.baselineP50Ns.procread;
    const small = fit.inputs.baselineP50Ns.mmapsmall;
    if (fault === null || procread === null || small === null)
      throw new Error("fixture lacks an actor");
    expect(Math.abs(modelOpNs("fault", p, kernel) - fault)).toBeLessThan(2);
    expect(Math.abs(modelOpNs("procread", p, kernel) - procread)).toBeLessThan(2);
    expect(Math.abs(modelOpNs("mmapsmall", p, kernel) - small) / small).toBeLessThan(0.01);
    expect(p.populatePage).toBeCloseTo(fit.inputs.populateNsPerPage ?? -1, 0);
    expect(p.name).toBe("host-test");
    expect(p.source).toContain(release);
  }, 300_000);
});

describe("mmlab-bench host --from-probe (the model side, deterministic)", () => {
  it("runs the model of 6.18 (v6.5) beside the recording and names what differs", async () => {
    const r = await runCli(["host", "--from-probe", FIXTURE, "--json"]);
    const json = JSON.parse(r.out) as HostJson;
    expect(json.context.kernel.strategy).toBe("v6.5");
    expect(json.context.kernel.why).toMatch(/>= v6\.5/);
    expect(json.context.profile.fitted).toBe(true);
    expect(json.rows).toHaveLength(9);
    // The model's verdicts: who waits for the teardown in a 6.x kernel as mm-core models it.
    const model = Object.fromEntries(
      json.rows.map((x) => [`${x.method}/${x.actor}`, x.model.blocked]),
    );
    expect(model).toEqual({
      "munmap/procread": false, // munmap downgrades: ps reads under the read lock
      "munmap/fault": false, // per-VMA lock
      "munmap/mmapsmall": true, // mmap needs the write lock, held for read through the zap
      "mapfixed/procread": true, // MAP_FIXED zaps under the write lock, no downgrade
      "mapfixed/fault": false,
      "mapfixed/mmapsmall": true,
      "dontneed/procread": false, // MADV_DONTNEED zaps under the read lock
      "dontneed/fault": false,
      "dontneed/mmapsmall": true, // v4.19's madvise: the read lock, which mmap waits for
    });
    expect(json.disagreements).toEqual(
      json.rows
        .filter((x) => !x.agree)
        .map((x) => `${x.method}/${x.actor}${x.measured.blocked === null ? " (not judged)" : ""}`),
    );
    expect(r.code).toBe(json.disagreements.length === 0 ? 0 : 1);
    for (const row of json.rows) {
      expect(row.teardownRatio).toBeGreaterThan(0);
      expect(row.measured.reps).toBe(3);
    }
  }, 300_000);

  it("prints one table per method, the fit, and the verdict; saves a profile every command loads", async () => {
    const file = path.join(tmp, "host.json");
    const r = await runCli(["host", "--from-probe", FIXTURE, "--save-profile", file]);
    expect(r.err).toBe("");
    expect(r.out).toContain("munmap(2)");
    expect(r.out).toContain("mmap(MAP_FIXED, PROT_NONE) over the mapping");
    expect(r.out).toContain("madvise(MADV_DONTNEED)");
    expect(r.out).toMatch(/blocked\? measured/);
    expect(r.out).toContain("Fit");
    expect(r.out).toMatch(/why: 6\.18\.\S+ >= v6\.5/);
    expect(r.out).toMatch(/every blocked \/ not-blocked verdict agrees|verdicts differ for /);
    expect(existsSync(file)).toBe(true);
    const saved = costModelFromJson(JSON.parse(readFileSync(file, "utf8")));
    expect(saved.name).toMatch(/^host-6\.18/);

    // --profile FILE: the default command, and host itself without a fit
    const d = await runCli(["--size", "64M", "--profile", file, "--json", "--quiet"]);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).context.profile).toBe(saved.name);
    expect(costProfile(file)).toEqual(saved);
    const h = await runCli(["host", "--from-probe", FIXTURE, "--profile", file, "--json"]);
    const hj = JSON.parse(h.out) as HostJson;
    expect(hj.fit).toBeNull();
    expect(hj.context.profile).toMatchObject({ name: saved.name, fitted: false });
  }, 300_000);

  it("--strategy overrides uname's choice and says so; --report writes the comparison", async () => {
    const report = path.join(tmp, "host.html");
    const r = await runCli([
      "host",
      "--from-probe",
      FIXTURE,
      "--strategy",
      "classic",
      "--methods",
      "munmap",
      "--actors",
      "procread,fault",
      "--json",
      "--report",
      report,
    ]);
    const json = JSON.parse(r.out) as HostJson;
    expect(json.context.kernel.strategy).toBe("classic");
    expect(json.context.strategyOverride).toBe(true);
    expect(json.context.kernel.why).toMatch(/^--strategy classic \(uname picked v6\.5/);
    // classic: the whole munmap under the write lock, and faults take mmap_sem
    expect(json.rows.map((x) => [x.actor, x.model.blocked])).toEqual([
      ["procread", true],
      ["fault", true],
    ]);
    const html = readFileSync(report, "utf8");
    expect(html).toContain('id="host-munmap"');
    expect(html).toContain('data-actor="procread"');
    expect(html).toContain('id="host-json"');
  }, 300_000);

  it("refuses bad input with one line and exit code 2", async () => {
    const hint = "mmlab-bench host --help";
    for (const [args, what] of [
      [["--reps", "0"], "--reps"],
      [["--methods", "zap"], "--methods"],
      [["--actors", "fault,fault"], "listed twice"],
      [["--baseline", "0ms"], "--baseline"],
      [["--strategy", "v9.9"], "--strategy"],
      [["--from-probe", path.join(tmp, "missing.json")], "--from-probe"],
      [["--profile", path.join(tmp, "missing.json")], "--profile"],
      [["--size", "300G"], "--size"],
      [["--save-profile", path.join(tmp, "no", "such", "dir.json")], "--save-profile"],
    ] as const) {
      const r = await runCli(["host", ...args]);
      expect(isUsageError(r, what, hint), `${args.join(" ")}: ${r.err}`).toBe(true);
    }
  }, 60_000);
});
