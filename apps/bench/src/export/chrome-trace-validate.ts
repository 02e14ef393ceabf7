/**
 * An executable checker for what toChromeTrace() promises a viewer (Perfetto, chrome://tracing):
 *
 * - the object survives JSON.stringify/parse unchanged (no NaN, Infinity, undefined, cycles);
 * - every event has a string name, a known phase and integer pid/tid; every non-metadata
 *   event a finite ts ≥ 0, every X a dur ≥ 0;
 * - per thread, ts never decreases in file order and B/E form a stack (each E closes the
 *   innermost open B of the same name; nothing stays open); b/e pairs match on (cat, id);
 * - every process has a process_name and every thread with events a thread_name.
 *
 * Throws an Error naming the first violation.
 */
import { isDeepStrictEqual } from "node:util";
import type { ChromeTrace, ChromeTraceEvent } from "./chrome-trace.js";

const PHASES = new Set(["B", "E", "X", "i", "b", "e", "M"]);

export function validateChromeTrace(trace: ChromeTrace): void {
  const fail = (msg: string, ev?: ChromeTraceEvent): never => {
    throw new Error(`chrome trace: ${msg}${ev === undefined ? "" : `: ${JSON.stringify(ev)}`}`);
  };
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(trace)), trace)) {
    fail("does not survive a JSON round trip");
  }
  if (!Array.isArray(trace.traceEvents)) fail("traceEvents is not an array");
  const lastTs = new Map<string, number>();
  const stacks = new Map<string, string[]>();
  const asyncOpen = new Map<string, number>();
  const processNames = new Set<number>();
  const threadNames = new Set<string>();
  const threadsWithEvents = new Map<string, ChromeTraceEvent>();
  for (const ev of trace.traceEvents) {
    if (typeof ev.name !== "string") fail("event without a name", ev);
    if (!PHASES.has(ev.ph)) fail("unknown phase", ev);
    if (!Number.isInteger(ev.pid) || !Number.isInteger(ev.tid)) fail("pid/tid not integers", ev);
    const thread = `${ev.pid}/${ev.tid}`;
    if (ev.ph === "M") {
      if (ev.name === "process_name") processNames.add(ev.pid);
      if (ev.name === "thread_name") threadNames.add(thread);
      continue;
    }
    const ts = ev.ts;
    if (typeof ts !== "number" || !Number.isFinite(ts) || ts < 0) fail("bad ts", ev);
    if (ev.ph === "X" && !(typeof ev.dur === "number" && ev.dur >= 0)) fail("X with dur < 0", ev);
    if ((lastTs.get(thread) ?? 0) > (ts as number)) fail("ts goes backwards on its thread", ev);
    lastTs.set(thread, ts as number);
    threadsWithEvents.set(thread, ev);
    if (ev.ph === "B") {
      const s = stacks.get(thread) ?? [];
      s.push(ev.name);
      stacks.set(thread, s);
    } else if (ev.ph === "E") {
      const s = stacks.get(thread);
      const top = s?.pop();
      if (top === undefined) fail("E without an open B", ev);
      if (top !== ev.name) fail(`E closes "${top}" out of order`, ev);
    } else if (ev.ph === "b" || ev.ph === "e") {
      const key = `${ev.cat}/${ev.id}`;
      const n = (asyncOpen.get(key) ?? 0) + (ev.ph === "b" ? 1 : -1);
      if (n < 0) fail("async e without its b", ev);
      asyncOpen.set(key, n);
    }
  }
  for (const [thread, s] of stacks) {
    if (s.length > 0) fail(`thread ${thread} leaves ${s.join(" > ")} open`);
  }
  for (const [key, n] of asyncOpen) if (n !== 0) fail(`async ${key} never ends`);
  for (const [thread, ev] of threadsWithEvents) {
    if (!processNames.has(ev.pid)) fail(`process ${ev.pid} has no process_name`);
    if (!threadNames.has(thread)) fail(`thread ${thread} has no thread_name`);
  }
}
