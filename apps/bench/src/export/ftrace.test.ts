import { describe, expect, it } from "vitest";
import type { TraceCapture } from "../types.js";
import { toFtrace, traceFindMark, tracePrintGraphDuration } from "./ftrace.js";
import { smallRun } from "./test-run.js";

describe("trace_find_mark / trace_print_graph_duration", () => {
  it("marks strictly above 10 us, 100 us, 1 ms, 10 ms, 100 ms, 1 s", () => {
    const at = [1e4, 1e4 + 1, 1e5, 1e5 + 1, 1e6 + 1, 1e7 + 1, 1e8 + 1, 1e9, 1e9 + 1, 17.92e9];
    expect(at.map(traceFindMark).join("")).toBe(" ++!#*@@$$");
  });

  it("prints µs with as many ns digits as fit in 7 characters, padded to 12", () => {
    expect(tracePrintGraphDuration(8000)).toBe("8.000 us    ");
    expect(tracePrintGraphDuration(231_088)).toBe("231.088 us  ");
    expect(tracePrintGraphDuration(123_456_789)).toBe("123456.7 us ");
    // the patch's unmap_region() of 80 GB, and a 320 GB classic munmap
    expect(tracePrintGraphDuration(2_485_684_000)).toBe("2485684 us  ");
    expect(tracePrintGraphDuration(17_920_000_001)).toBe("17920000 us ");
  });
});

// A tiny deterministic run: 4 MiB populated, one faulting thread, ps every 100 us, the
// watchdog at 100 us; the munmap starts 100 us after t0 (profile e5-2680-v4.18).
const tiny = smallRun(["classic", "zapRlock"], {
  sizeBytes: 4 * 1024 * 1024,
  faulters: 1,
  writers: 0,
  psIntervalNs: 100e3,
  hungTaskTimeoutNs: 100e3,
});
const [classic, zapRlock] = tiny.captures as [TraceCapture, TraceCapture];

describe("toFtrace on a tiny run", () => {
  it("zapRlock: the whole section, golden", () => {
    const text = toFtrace([zapRlock]);
    expect(text).toBe(`# tracer: function_graph
#
# mmlab-bench: the simulated munmap experiment, in the layout of \`trace-cmd report\`.
# Timestamps: virtual seconds since t0, the start of the measured phase of each strategy.
# CPU: not modelled (000). Lock events and hung-task reports: bprint lines.
# Duration marks (kernel trace_find_mark): + >10us  ! >100us  # >1ms  * >10ms  @ >100ms  $ >1s
#
# strategy: zapRlock
#
#           TASK-PID  CPU#      TIMESTAMP  FUNCTION
#              | |     |           |         |
        faulter0-15002 [000]     0.000000: bprint:               down_read: mmap_sem acquired (read)
        faulter0-15002 [000]     0.000004: bprint:               up_read: mmap_sem released, held shared 4.000 us
              ps-14018 [000]     0.000051: bprint:               down_read: mmap_sem acquired (read)
              ps-14018 [000]     0.000056: bprint:               up_read: mmap_sem released, held shared 5.500 us
     munmap_test-15001 [000]     0.000101: funcgraph_entry:                    |  SyS_munmap() {
     munmap_test-15001 [000]     0.000101: bprint:               down_write: mmap_sem acquired (write)
     munmap_test-15001 [000]     0.000109: bprint:               downgrade_write: mmap_sem downgraded, held exclusively 8.000 us
     munmap_test-15001 [000]     0.000109: funcgraph_entry:      ! 223.088 us  |    unmap_region();
        faulter0-15002 [000]     0.000154: bprint:               down_read: mmap_sem acquired (read)
        faulter0-15002 [000]     0.000158: bprint:               up_read: mmap_sem released, held shared 4.000 us
              ps-14018 [000]     0.000158: bprint:               down_read: mmap_sem acquired (read)
              ps-14018 [000]     0.000163: bprint:               up_read: mmap_sem released, held shared 5.500 us
              ps-14018 [000]     0.000265: bprint:               down_read: mmap_sem acquired (read)
              ps-14018 [000]     0.000270: bprint:               up_read: mmap_sem released, held shared 5.500 us
        faulter0-15002 [000]     0.000308: bprint:               down_read: mmap_sem acquired (read)
        faulter0-15002 [000]     0.000312: bprint:               up_read: mmap_sem released, held shared 4.000 us
     munmap_test-15001 [000]     0.000333: bprint:               up_read: mmap_sem released, held shared 224.588 us
     munmap_test-15001 [000]     0.000334: funcgraph_exit:       ! 233.088 us  |  }
              ps-14018 [000]     0.000372: bprint:               down_read: mmap_sem acquired (read)
              ps-14018 [000]     0.000377: bprint:               up_read: mmap_sem released, held shared 5.500 us
        faulter0-15002 [000]     0.000462: bprint:               down_read: mmap_sem acquired (read)
        faulter0-15002 [000]     0.000466: bprint:               up_read: mmap_sem released, held shared 4.000 us
              ps-14018 [000]     0.000479: bprint:               down_read: mmap_sem acquired (read)
              ps-14018 [000]     0.000484: bprint:               up_read: mmap_sem released, held shared 5.500 us
`);
  });

  it("classic: ps and the faulter wait for the whole do_munmap, and the watchdog reports both", () => {
    const lines = toFtrace([classic, zapRlock]).split("\n");
    expect(lines.filter((l) => l.startsWith("# strategy:"))).toEqual([
      "# strategy: classic",
      "# strategy: zapRlock",
    ]);
    const section = lines.slice(0, lines.indexOf("# strategy: zapRlock"));
    expect(section.filter((l) => /munmap_test|check_hung_task|waiting/.test(l))).toEqual([
      "     munmap_test-15001 [000]     0.000101: funcgraph_entry:                    |  SyS_munmap() {",
      "     munmap_test-15001 [000]     0.000101: bprint:               down_write: mmap_sem acquired (write)",
      "     munmap_test-15001 [000]     0.000101: funcgraph_entry:      ! 231.088 us  |    do_munmap();",
      "        faulter0-15002 [000]     0.000154: bprint:               down_read: mmap_sem contended, waiting (read)",
      "              ps-14018 [000]     0.000158: bprint:               down_read: mmap_sem contended, waiting (read)",
      "              ps-14018 [000]     0.000272: bprint:               check_hung_task: INFO: task ps:14018 blocked for more than 0.0001 seconds.",
      "        faulter0-15002 [000]     0.000272: bprint:               check_hung_task: INFO: task faulter0:15002 blocked for more than 0.0001 seconds.",
      "     munmap_test-15001 [000]     0.000332: bprint:               up_write: mmap_sem released, held exclusively 231.588 us",
      "        faulter0-15002 [000]     0.000332: bprint:               down_read: mmap_sem acquired (read) after waiting 178.588 us",
      "              ps-14018 [000]     0.000332: bprint:               down_read: mmap_sem acquired (read) after waiting 174.588 us",
      "     munmap_test-15001 [000]     0.000333: funcgraph_exit:       ! 232.088 us  |  }",
    ]);
  });
});

describe("toFtrace on hand-written events", () => {
  it("nests, marks seconds-long leaves, closes exits entered before the capture, one line per record", () => {
    const text = toFtrace([
      {
        strategy: "classic\nsecond line",
        t0: 5e9,
        tasks: [{ pid: 42, tgid: 42, comm: "a-very-long-command-name" }],
        events: [
          { type: "span-end", time: 5e9 + 10, pid: 42, name: "SyS_read" },
          { type: "span-begin", time: 6e9, pid: 42, name: "SyS_munmap" },
          { type: "span-begin", time: 6e9 + 1000, pid: 42, name: "do_munmap" },
          { type: "span-begin", time: 6e9 + 2000, pid: 42, name: "unmap_region" },
          { type: "span-end", time: 6e9 + 2000 + 17.92e9, pid: 42, name: "unmap_region" },
          { type: "span-end", time: 6e9 + 3000 + 17.92e9, pid: 42, name: "do_munmap" },
          { type: "mark", time: 6e9 + 3000 + 17.92e9, pid: 42, name: "note", args: { k: "v\nw" } },
          { type: "span-end", time: 6e9 + 4000 + 17.92e9, pid: 42, name: "SyS_munmap" },
        ],
        hungTaskReports: [],
      },
    ]);
    expect(text.split("\n").filter((l) => !l.startsWith("#"))).toEqual([
      "a-very-long-command-name-42    [000]     0.000000: funcgraph_exit:                     |  } /* SyS_read */",
      "a-very-long-command-name-42    [000]     1.000000: funcgraph_entry:                    |  SyS_munmap() {",
      "a-very-long-command-name-42    [000]     1.000001: funcgraph_entry:                    |    do_munmap() {",
      "a-very-long-command-name-42    [000]     1.000002: funcgraph_entry:      $ 17920000 us |      unmap_region();",
      "a-very-long-command-name-42    [000]    18.920003: funcgraph_exit:       $ 17920002 us |    }",
      "a-very-long-command-name-42    [000]    18.920003: bprint:               note: k=v w",
      "a-very-long-command-name-42    [000]    18.920004: funcgraph_exit:       $ 17920004 us |  }",
      "",
    ]);
    expect(text).toContain("# strategy: classic second line\n");
  });
});
