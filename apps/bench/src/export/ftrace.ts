/**
 * `--ftrace FILE`: the captures as a function_graph trace in the layout of `trace-cmd report`,
 * the form of the measurement in the patch (RFC v7 2/4):
 *
 *   munmap_test-15002 [008]   594.380146: funcgraph_entry:      !2485684 us |    unmap_region();
 *
 * Columns: comm right-aligned in 16, "-pid", the CPU, seconds.microseconds, the event, then
 * the graph: the overhead mark, the duration, "|", two spaces per depth, the function.
 * A span with nothing of its own task inside is a leaf (`name();` with its duration, on the
 * entry line); otherwise `name() {` ... `}` with the duration on the exit line. Lock events
 * and hung-task reports are trace_printk-style `bprint:` lines of the task concerned.
 *
 * Duration column and marks follow the kernel's function_graph output, which current
 * trace-cmd shows unchanged (kernel/trace/trace_functions_graph.c
 * trace_print_graph_duration(), kernel/trace/trace_output.c trace_find_mark(), v4.19–6.x):
 *
 *   "+" > 10 us   "!" > 100 us   "#" > 1 ms   "*" > 10 ms   "@" > 100 ms   "$" > 1 s
 *
 * (strictly greater). We use all six so that the seconds-long zap stands out from a
 * 100-us one. Older readers had fewer: the 2018 trace-cmd plugin that printed the patch's
 * "!2485684 us" knew only "+" and "!" (libtraceevent's plugin later added "#" and "$"), so
 * the same 2.49 s reads "$" here. The timestamp is virtual seconds since the capture's t0;
 * the simulation does not place tasks on CPUs, so the CPU column is always 000.
 */
import type { TraceCapture, TraceEvent } from "../types.js";

/** kernel/trace/trace_output.c: trace_find_mark() — v4.19: the overhead mark of `ns`. */
export function traceFindMark(ns: number): string {
  if (ns > 1e9) return "$";
  if (ns > 1e8) return "@";
  if (ns > 1e7) return "*";
  if (ns > 1e6) return "#";
  if (ns > 1e5) return "!";
  if (ns > 1e4) return "+";
  return " ";
}

/**
 * kernel/trace/trace_functions_graph.c: trace_print_graph_duration() — v4.19: microseconds,
 * then as many ns digits as fit in 7 characters, " us ", padded to 12 characters.
 */
export function tracePrintGraphDuration(ns: number): string {
  const whole = Math.max(0, Math.round(ns));
  const usecs = String(Math.floor(whole / 1000));
  let out = usecs;
  let len = usecs.length;
  if (len < 7) {
    // snprintf(nsecs_str, min(sizeof(nsecs_str), 8 - len), "%03lu", nsecs_rem)
    const digits = Math.min(5, 8 - len) - 1;
    const nsecs = String(whole % 1000)
      .padStart(3, "0")
      .slice(0, digits);
    out += `.${nsecs}`;
    len += nsecs.length + 1;
  }
  return `${out} us ${" ".repeat(Math.max(0, 8 - len))}`;
}

const EVENT_WIDTH = 22; // "funcgraph_entry:" and its padding, as trace-cmd prints it
const NO_DURATION = " ".repeat(14); // FLAGS_FILL_FULL: mark + duration columns left blank

/** Renders the captures (one section per strategy) as trace-cmd function_graph text. */
export function toFtrace(captures: readonly TraceCapture[]): string {
  const out: string[] = [
    "# tracer: function_graph",
    "#",
    "# mmlab-bench: the simulated munmap experiment, in the layout of `trace-cmd report`.",
    "# Timestamps: virtual seconds since t0, the start of the measured phase of each strategy.",
    "# CPU: not modelled (000). Lock events and hung-task reports: bprint lines.",
    "# Duration marks (kernel trace_find_mark): + >10us  ! >100us  # >1ms  * >10ms  @ >100ms  $ >1s",
  ];
  for (const capture of captures) {
    out.push("#", `# strategy: ${oneLine(capture.strategy)}`, "#");
    out.push("#           TASK-PID  CPU#      TIMESTAMP  FUNCTION");
    out.push("#              | |     |           |         |");
    renderCapture(capture, out);
  }
  out.push("");
  return out.join("\n");
}

function renderCapture(capture: TraceCapture, out: string[]): void {
  const events = capture.events.filter((e) => e.type !== "task-start" && e.type !== "task-exit");
  const comms = new Map<number, string>();
  for (const t of capture.tasks) comms.set(t.pid, t.comm);
  for (const e of capture.events) {
    if ((e.type === "task-start" || e.type === "hung-task") && !comms.has(e.pid)) {
      comms.set(e.pid, e.comm);
    }
  }
  // The next event of the same task, to tell a leaf from a function with children.
  const next = new Int32Array(events.length).fill(-1);
  const later = new Map<number, number>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as TraceEvent;
    next[i] = later.get(e.pid) ?? -1;
    later.set(e.pid, i);
  }
  const stacks = new Map<number, Array<{ name: string; time: number }>>();
  const skip = new Uint8Array(events.length);
  const prefix = (e: TraceEvent) => {
    const comm = oneLine(comms.get(e.pid) ?? (e.pid === 0 ? "<idle>" : "<...>"));
    return `${comm.padStart(16)}-${String(e.pid).padEnd(5)} [000] ${timestamp(e.time - capture.t0).padStart(12)}: `;
  };
  const graph = (event: string, duration: string, depth: number, text: string) =>
    `${`${event}:`.padEnd(EVENT_WIDTH)}${duration}|  ${"  ".repeat(depth)}${text}`;
  const bprint = (func: string, msg: string) =>
    `${"bprint:".padEnd(EVENT_WIDTH)}${func}: ${oneLine(msg)}`;

  for (let i = 0; i < events.length; i++) {
    if (skip[i] === 1) continue;
    const e = events[i] as TraceEvent;
    let stack = stacks.get(e.pid);
    if (stack === undefined) {
      stack = [];
      stacks.set(e.pid, stack);
    }
    switch (e.type) {
      case "span-begin": {
        const n = next[i] as number;
        const after = n >= 0 ? (events[n] as TraceEvent) : undefined;
        const name = oneLine(e.name);
        if (after !== undefined && after.type === "span-end" && after.name === e.name) {
          const d = after.time - e.time;
          const dur = `${traceFindMark(d)} ${tracePrintGraphDuration(d)}`;
          out.push(prefix(e) + graph("funcgraph_entry", dur, stack.length, `${name}();`));
          skip[n] = 1;
        } else {
          out.push(prefix(e) + graph("funcgraph_entry", NO_DURATION, stack.length, `${name}() {`));
          stack.push({ name: e.name, time: e.time });
        }
        break;
      }
      case "span-end": {
        let k = stack.length - 1;
        while (k >= 0 && (stack[k] as { name: string }).name !== e.name) k--;
        if (k < 0) {
          // entered before the capture: duration unknown, name it as funcgraph-tail does
          out.push(
            prefix(e) + graph("funcgraph_exit", NO_DURATION, 0, `} /* ${oneLine(e.name)} */`),
          );
          break;
        }
        while (stack.length > k + 1) stack.pop(); // entries whose exits were never traced
        const s = stack.pop() as { time: number };
        const d = e.time - s.time;
        const dur = `${traceFindMark(d)} ${tracePrintGraphDuration(d)}`;
        out.push(prefix(e) + graph("funcgraph_exit", dur, stack.length, "}"));
        break;
      }
      case "lock-wait":
        out.push(prefix(e) + bprint(downName(e.mode), `${e.lock} contended, waiting (${e.mode})`));
        break;
      case "lock-acquire": {
        const waited = e.waitNs > 0 ? ` after waiting ${us(e.waitNs)}` : "";
        out.push(prefix(e) + bprint(downName(e.mode), `${e.lock} acquired (${e.mode})${waited}`));
        break;
      }
      case "lock-abort":
        out.push(
          prefix(e) +
            bprint(`${downName(e.mode)}_killable`, `${e.lock} wait aborted after ${us(e.waitNs)}`),
        );
        break;
      case "lock-downgrade":
        out.push(
          prefix(e) +
            bprint("downgrade_write", `${e.lock} downgraded, held exclusively ${us(e.holdNs)}`),
        );
        break;
      case "lock-release": {
        const how = e.mode === "write" ? "exclusively" : "shared";
        out.push(
          prefix(e) +
            bprint(
              e.mode === "write" ? "up_write" : "up_read",
              `${e.lock} released, held ${how} ${us(e.holdNs)}`,
            ),
        );
        break;
      }
      case "hung-task":
        out.push(prefix(e) + bprint("check_hung_task", e.message));
        break;
      case "mark": {
        const args = Object.entries(e.args ?? {}).map(([k, v]) => `${k}=${v}`);
        out.push(prefix(e) + bprint(e.name, args.join(" ")));
        break;
      }
      default:
        break;
    }
  }
}

/** "%5lu.%06lu" of trace-cmd: seconds and microseconds (truncated) of `ns`. */
function timestamp(ns: number): string {
  const usecs = Math.floor(Math.max(0, ns) / 1000);
  return `${Math.floor(usecs / 1e6)}.${String(usecs % 1e6).padStart(6, "0")}`;
}

/** A duration for the bprint messages: microseconds with the ns as three decimals. */
function us(ns: number): string {
  return `${(Math.round(ns) / 1000).toFixed(3)} us`;
}

function downName(mode: "read" | "write"): string {
  return mode === "read" ? "down_read" : "down_write";
}

/** Keeps every record on one line (names and messages are caller data). */
function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, " ");
}
