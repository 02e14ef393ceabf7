import { describe, expect, it } from "vitest";
import {
  GiB,
  MiB,
  parseChoice,
  parseCount,
  parseDuration,
  parseProfile,
  parseSeed,
  parseSize,
  parseSizes,
  parseStrategies,
  UsageError,
} from "./params.js";

describe("flag value parsers", () => {
  it("reads sizes in binary units, as the patch's 320GB = 83,886,080 pages", () => {
    expect(parseSize("320G")).toBe(320 * GiB);
    expect(parseSize("320GB") / 4096).toBe(83_886_080);
    expect(parseSize("4GiB")).toBe(4 * GiB);
    expect(parseSize("512m")).toBe(512 * MiB);
    expect(parseSize("1.5G")).toBe(1.5 * GiB);
    expect(parseSize("8192")).toBe(8192);
    expect(parseSizes("80G,160G, 320G")).toEqual([80 * GiB, 160 * GiB, 320 * GiB]);
  });

  it.each([
    ["abc", /invalid --size "abc"/],
    ["4X", /invalid --size "4X"/],
    ["0", /positive multiple of 4 KiB/],
    ["1000", /positive multiple of 4 KiB/],
    ["500G", /384 GiB/],
    ["-4G", /invalid --size/],
  ])("rejects --size %s", (text, msg) => {
    expect(() => parseSize(text)).toThrow(UsageError);
    expect(() => parseSize(text)).toThrow(msg);
  });

  it("rejects bad lists, counts, choices, durations, seeds, strategies and profiles", () => {
    expect(() => parseSizes("80G,80G")).toThrow(/listed twice/);
    expect(() => parseSizes(",")).toThrow(UsageError);
    expect(parseCount("4", "--readers")).toBe(4);
    expect(() => parseCount("-1", "--readers")).toThrow(/--readers "-1"/);
    expect(() => parseCount("1.5", "--readers")).toThrow(UsageError);
    expect(() => parseCount("65", "--readers", 0, 64)).toThrow(/from 0 to 64/);
    expect(parseChoice("v5.3", "--rwsem", ["v4.18", "v5.3"])).toBe("v5.3");
    expect(() => parseChoice("v6", "--rwsem", ["v4.18", "v5.3"])).toThrow(/v4.18 or v5.3/);
    expect(parseDuration("10ms", "ms", "--ps-interval")).toBe(10e6);
    expect(parseDuration("2", "s", "--hung-task-timeout")).toBe(2e9);
    expect(parseDuration("500us", "ms", "--ps-interval")).toBe(500e3);
    expect(() => parseDuration("soon", "s", "--hung-task-timeout")).toThrow(/seconds/);
    expect(parseSeed("4294967295")).toBe(4294967295);
    expect(() => parseSeed("4294967296")).toThrow(UsageError);
    expect(parseStrategies("zapRlock,classic")).toEqual(["zapRlock", "classic"]);
    expect(() => parseStrategies("classic,classic")).toThrow(/twice/);
    expect(() => parseStrategies("fast")).toThrow(/known: classic, zapRlock/);
    expect(parseProfile("e5-2680-v4.18-v6run")).toBe("e5-2680-v4.18-v6run");
    expect(() => parseProfile("xeon")).toThrow(/known: e5-2680-v4.18/);
  });
});
