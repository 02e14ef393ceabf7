/**
 * The input contract under fire: random sequences of every system call with hostile arguments
 * (negative, NaN, fractions, 0, 2^53 and above, unaligned, overlapping, huge lengths, unknown
 * flags and prot bits) from 2-4 concurrent tasks, under every munmap strategy and both trees.
 * The rules checked after every call are in sys-fuzz.ts. A fixed seed keeps CI repeatable and
 * short; bench/sys-fuzz.ts runs the same property longer (figures in docs/benchmarks.md).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FuzzStats, fuzzCase, runFuzzCase } from "./sys-fuzz.js";

describe("hostile system calls from concurrent tasks", () => {
  it("every result follows the contract; locks free, validateMm and frame accounting exact whenever no task is in a call", () => {
    const stats: FuzzStats = { calls: 0, throws: 0, errnos: 0, successes: 0 };
    fc.assert(
      fc.property(fuzzCase(12), (c) => runFuzzCase(c, stats)),
      { seed: 20260117, numRuns: 150 },
    );
    // The run exercised every kind of outcome.
    expect(stats.calls).toBeGreaterThan(1_500);
    expect(stats.throws).toBeGreaterThan(250);
    expect(stats.errnos).toBeGreaterThan(250);
    expect(stats.successes).toBeGreaterThan(250);
  }, 60_000);
});
