/**
 * The real probe, built with this machine's cc into a fresh cache directory and run once at
 * 256 MiB (a few seconds): its JSON must pass validation and make sense. Skipped where the
 * probe cannot run (not Linux x86_64, no cc); CI installs build-essential when cc is missing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  buildProbe,
  checkProbePlatform,
  ProbeUnavailable,
  probeSourcePath,
  runProbe,
  validateProbeOutput,
} from "./probe.js";

const canRun =
  process.platform === "linux" &&
  process.arch === "x64" &&
  spawnSync("cc", ["--version"]).status === 0;

const cache = mkdtempSync(path.join(os.tmpdir(), "mmlab-probe-"));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe.skipIf(!canRun)("munmap-probe on this kernel", () => {
  it("builds once per source, and its JSON at 256 MiB validates", () => {
    const env = { ...process.env, MMLAB_CACHE_DIR: cache };
    const bin = buildProbe(env);
    expect(path.dirname(bin)).toBe(cache);
    const built = statSync(bin).mtimeMs;
    expect(buildProbe(env)).toBe(bin); // cached: no rebuild
    expect(statSync(bin).mtimeMs).toBe(built);

    const out = runProbe(bin, {
      sizeBytes: 256 * 1024 ** 2,
      method: "munmap",
      actor: "mmapsmall",
      reps: 1,
      baselineMs: 20,
      thp: false,
    });
    expect(out).toMatchObject({ sizeBytes: 268435456, pages: 65536, method: "munmap" });
    expect(out.actor).toBe("mmapsmall");
    expect(out.runs).toHaveLength(1);
    const r = out.runs[0];
    if (r === undefined) throw new Error("no run");
    expect(r.teardownNs).toBeGreaterThan(0);
    expect(r.populateNs).toBeGreaterThan(0);
    expect(r.teardownCpuNs).toBeGreaterThan(0);
    expect(r.baseline.count).toBeGreaterThan(0); // 20 ms of mmap+munmap pairs
    expect(r.loadavg[0]).toBeGreaterThanOrEqual(0);
  }, 300_000);
});

describe("the probe's source and its JSON checks", () => {
  it("compiles without a warning under -Wall -Wextra", () => {
    if (!canRun) return;
    const cc = spawnSync(
      "cc",
      ["-O2", "-Wall", "-Wextra", "-pthread", "-fsyntax-only", probeSourcePath()],
      { encoding: "utf8" },
    );
    expect(cc.status).toBe(0);
    expect(cc.stderr).toBe("");
  });

  it("without cc: one line naming build-essential", () => {
    if (process.platform !== "linux" || process.arch !== "x64") return;
    const empty = mkdtempSync(path.join(os.tmpdir(), "mmlab-nocc-"));
    try {
      const env = { PATH: empty, MMLAB_CACHE_DIR: empty };
      expect(() => buildProbe(env)).toThrow(ProbeUnavailable);
      expect(() => buildProbe(env)).toThrow(/no C compiler.*build-essential/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("refuses other platforms with a clear message", () => {
    expect(() => checkProbePlatform("darwin", "arm64")).toThrow(ProbeUnavailable);
    expect(() => checkProbePlatform("darwin", "arm64")).toThrow(/Linux x86_64 only/);
    expect(() => checkProbePlatform("linux", "x64")).not.toThrow();
  });

  it("refuses malformed output, naming the field", () => {
    const fixture = JSON.parse(
      readFileSync(new URL("../../fixtures/host/linux-6.18-256m.json", import.meta.url), "utf8"),
    ) as { outputs: unknown[] };
    const good = fixture.outputs[0] as Record<string, unknown>;
    expect(validateProbeOutput(good).pages).toBe(65536);
    expect(() => validateProbeOutput({ ...good, probe: "other" })).toThrow(/output.probe/);
    expect(() => validateProbeOutput({ ...good, method: "zap" })).toThrow(/output.method/);
    expect(() => validateProbeOutput({ ...good, pages: 1 })).toThrow(/output.pages/);
    expect(() => validateProbeOutput({ ...good, runs: [] })).toThrow(/output.runs/);
    const runs = good.runs as Record<string, unknown>[];
    const bad = { ...runs[0], during: { count: 1, p50: 5, p99: 3, max: 9 } };
    expect(() => validateProbeOutput({ ...good, runs: [bad] })).toThrow(/runs\[0\].during/);
    const neg = { ...runs[0], teardownNs: -1 };
    expect(() => validateProbeOutput({ ...good, runs: [neg] })).toThrow(/teardownNs is negative/);
  });
});
