import { describe, expect, it } from "vitest";
import { RWSEM_ACTIVE_WRITE_BIAS, RWSEM_WAITING_BIAS } from "./rwsem-core.js";
import { CoreHarness } from "./test-utils.js";

const GENS = ["v4.18", "v5.3"] as const;

describe("RwsemCore ordering rules", () => {
  it.each(GENS)("%s: a queued writer blocks later readers", (generation) => {
    const h = new CoreHarness({ generation });
    h.read("r1");
    h.now = 1;
    h.write("w1");
    h.now = 2;
    h.read("r2");
    h.core.validate();
    h.now = 3;
    h.up("r1");
    h.runWoken();
    h.now = 4;
    h.up("w1");
    h.core.validate(true);
    expect(h.log).toEqual([
      ["r1", 0, "acquire read"],
      ["w1", 1, "wait write"],
      ["r2", 2, "wait read"],
      ["r1", 3, "release read"],
      ["w1", 3, "acquire write"],
      ["w1", 4, "release write"],
      ["r2", 4, "acquire read"],
    ]);
  });

  it("v4.18: readers at the head are granted together, up to the first writer", () => {
    const h = new CoreHarness({ generation: "v4.18" });
    h.write("w0");
    for (const n of ["r1", "r2"]) h.read(n);
    h.write("w3");
    h.read("r4");
    expect(h.waiterNames()).toEqual(["r1", "r2", "w3", "r4"]);
    expect(h.core.count).toBe(RWSEM_ACTIVE_WRITE_BIAS + RWSEM_WAITING_BIAS);
    h.now = 10;
    h.up("w0");
    h.core.validate();
    expect(h.core.count).toBe(2 + RWSEM_WAITING_BIAS);
    h.now = 20;
    h.up("r1");
    h.up("r2");
    h.runWoken();
    h.now = 30;
    h.up("w3");
    h.core.validate(true);
    expect(h.log.slice(5)).toEqual([
      ["w0", 10, "release write"],
      ["r1", 10, "acquire read"],
      ["r2", 10, "acquire read"],
      ["r1", 20, "release read"],
      ["r2", 20, "release read"],
      ["w3", 20, "acquire write"],
      ["w3", 30, "release write"],
      ["r4", 30, "acquire read"],
    ]);
  });

  it("v5.3: up to 256 readers are granted from anywhere in the queue, skipping writers", () => {
    const h = new CoreHarness({ generation: "v5.3" });
    h.write("w0");
    h.read("r0");
    h.write("wq");
    for (let i = 1; i < 300; i++) h.read(`r${i}`);
    h.up("w0");
    h.core.validate();
    expect(h.core.readers).toBe(256);
    expect(h.grantOrder).toEqual(Array.from({ length: 256 }, (_, i) => `r${i}`));
    expect(h.waiterNames()).toEqual(["wq", ...Array.from({ length: 44 }, (_, i) => `r${i + 256}`)]);
  });

  it("v4.18: downgrade lets head readers in at once; the head writer waits for all", () => {
    const h = new CoreHarness({ generation: "v4.18" });
    h.write("w0");
    h.read("r1");
    h.read("r2");
    h.write("w3");
    h.read("r4");
    h.now = 5;
    h.downgrade("w0");
    h.core.validate();
    h.now = 6;
    h.up("r1");
    h.up("r2");
    h.runWoken();
    h.now = 7;
    h.up("w0"); // the downgraded read hold: the last reader out wakes w3
    h.runWoken();
    h.now = 8;
    h.up("w3");
    h.core.validate(true);
    expect(h.log.slice(5)).toEqual([
      ["w0", 5, "downgrade"],
      ["r1", 5, "acquire read"],
      ["r2", 5, "acquire read"],
      ["r1", 6, "release read"],
      ["r2", 6, "release read"],
      ["w0", 7, "release read"],
      ["w3", 7, "acquire write"],
      ["w3", 8, "release write"],
      ["r4", 8, "acquire read"],
    ]);
  });

  it("v5.3: downgrade grants readers from the whole queue; the writer waits for all", () => {
    const h = new CoreHarness({ generation: "v5.3" });
    h.write("w0");
    h.read("r1");
    h.read("r2");
    h.write("w3");
    h.read("r4");
    h.now = 5;
    h.downgrade("w0");
    h.core.validate();
    h.now = 6;
    h.up("r1");
    h.up("r2");
    h.up("w0");
    h.runWoken();
    h.now = 7;
    h.up("r4");
    h.runWoken();
    h.core.validate(true);
    expect(h.log.slice(5)).toEqual([
      ["w0", 5, "downgrade"],
      ["r1", 5, "acquire read"],
      ["r2", 5, "acquire read"],
      ["r4", 5, "acquire read"],
      ["r1", 6, "release read"],
      ["r2", 6, "release read"],
      ["w0", 6, "release read"],
      ["r4", 7, "release read"],
      ["w3", 7, "acquire write"],
    ]);
  });

  it.each(GENS)("%s: downgrade with a writer at the head wakes nobody", (generation) => {
    const h = new CoreHarness({ generation });
    h.write("w0");
    h.write("w1");
    h.read("r2");
    h.downgrade("w0");
    expect(h.woken).toEqual([]);
    expect(h.waiterNames()).toEqual(["w1", "r2"]);
    expect(h.core.readers).toBe(1);
    h.up("w0");
    h.runWoken();
    expect(h.holders.get("w1")).toBe("write");
  });

  it.each(GENS)(
    "%s: an aborted killable writer at the head lets the readers behind it in",
    (generation) => {
      const h = new CoreHarness({ generation });
      h.read("r0");
      h.now = 1;
      h.write("w1");
      h.now = 2;
      h.read("r2");
      h.read("r3");
      h.now = 3;
      h.abort("w1");
      h.core.validate(true);
      expect(h.log).toEqual([
        ["r0", 0, "acquire read"],
        ["w1", 1, "wait write"],
        ["r2", 2, "wait read"],
        ["r3", 2, "wait read"],
        ["w1", 3, "abort"],
        ["r2", 3, "acquire read"],
        ["r3", 3, "acquire read"],
      ]);
    },
  );

  it("v4.18: an aborted reader wakes nobody; v5.3: an aborted head wakes the new head", () => {
    for (const generation of GENS) {
      const h = new CoreHarness({ generation });
      h.write("w0");
      h.read("r1");
      h.write("w2");
      h.abort("r1");
      // v5.3 wakes the new head w2 (rwsem_del_wake_waiter), which finds w0 holding it
      expect(h.woken.map((w) => w.data)).toEqual(generation === "v4.18" ? [] : ["w2"]);
      h.runWoken();
      expect(h.waiterNames()).toEqual(["w2"]);
      h.up("w0");
      h.runWoken();
      expect(h.holders.get("w2")).toBe("write");
      h.core.validate(true);
    }
  });

  it("v4.18: a writer steals the lock from a woken writer that has not run yet", () => {
    const h = new CoreHarness({ generation: "v4.18" });
    h.write("w0");
    h.write("w1");
    h.now = 1;
    h.up("w0"); // wakes w1
    h.write("thief"); // runs before w1 does
    h.runWoken();
    h.now = 2;
    h.read("r"); // queues behind w1 (a new reader never overtakes a waiter)
    h.up("thief");
    h.runWoken();
    h.core.validate(true);
    expect(h.log).toEqual([
      ["w0", 0, "acquire write"],
      ["w1", 0, "wait write"],
      ["w0", 1, "release write"],
      ["thief", 1, "acquire write"],
      ["w1", 1, "retry failed"],
      ["r", 2, "wait read"],
      ["thief", 2, "release write"],
      ["w1", 2, "acquire write"],
    ]);
  });

  it("writerStealing: false keeps writers in FIFO order", () => {
    const h = new CoreHarness({ generation: "v4.18", writerStealing: false });
    h.write("w0");
    h.write("w1");
    h.up("w0");
    h.write("w2");
    expect(h.core.downWriteTrylock()).toBe(false);
    h.runWoken();
    expect(h.holders.get("w1")).toBe("write");
    expect(h.waiterNames()).toEqual(["w2"]);
  });

  it("v5.3: a reader steals a free lock ahead of a woken writer; v4.18 queues it", () => {
    for (const generation of GENS) {
      const h = new CoreHarness({ generation });
      h.write("w0");
      h.write("w1");
      h.up("w0");
      h.read("r");
      h.runWoken();
      if (generation === "v5.3") {
        expect(h.holders.get("r")).toBe("read");
        expect(h.waiterNames()).toEqual(["w1"]);
        h.up("r");
      } else {
        expect(h.holders.get("w1")).toBe("write");
        expect(h.waiterNames()).toEqual(["r"]);
        h.up("w1");
      }
      h.runWoken();
      h.core.validate(true);
      expect(h.queued.size).toBe(0);
    }
  });

  it("v5.3: HANDOFF after RWSEM_WAIT_TIMEOUT stops writer stealing; v4.18 keeps stealing", () => {
    for (const generation of GENS) {
      const h = new CoreHarness({ generation });
      h.write("t0");
      h.write("w1"); // queued at t=0
      let holder = "t0";
      for (let i = 1; i <= 7; i++) {
        h.now = i * 1e6;
        h.up(holder);
        holder = `t${i}`;
        h.write(holder); // a writer arrives before the woken w1 runs
        h.runWoken();
        if (h.holders.get("w1") === "write") break;
      }
      if (generation === "v4.18") {
        expect(h.holders.get("w1")).toBeUndefined();
        expect(h.holders.get("t7")).toBe("write");
        continue;
      }
      expect(h.log).toEqual([
        ["t0", 0, "acquire write"],
        ["w1", 0, "wait write"],
        ["t0", 1e6, "release write"],
        ["t1", 1e6, "acquire write"],
        ["w1", 1e6, "retry failed"],
        ["t1", 2e6, "release write"],
        ["t2", 2e6, "acquire write"],
        ["w1", 2e6, "retry failed"],
        ["t2", 3e6, "release write"],
        ["t3", 3e6, "acquire write"],
        ["w1", 3e6, "retry failed"],
        ["t3", 4e6, "release write"],
        ["t4", 4e6, "acquire write"],
        ["w1", 4e6, "retry failed"], // waited exactly 4 ms: not yet after the timeout
        ["t4", 5e6, "release write"],
        ["t5", 5e6, "acquire write"],
        ["w1", 5e6, "retry failed"], // sets HANDOFF
        ["t5", 6e6, "release write"],
        ["t6", 6e6, "wait write"], // HANDOFF: no more stealing
        ["w1", 6e6, "acquire write"],
      ]);
      expect(h.core.handoff).toBe(false);
      expect(h.waiterNames()).toEqual(["t6"]);
    }
  });

  it("v5.3: a head reader that waited past the timeout sets HANDOFF, which blocks stealers", () => {
    const h = new CoreHarness({ generation: "v5.3" });
    h.write("w0");
    h.read("r1"); // queued at 0
    h.write("w2");
    h.now = 5e6;
    h.core.rwsemMarkWake(0, h.now); // e.g. a spurious rwsem_wake while w0 still holds
    expect(h.core.handoff).toBe(true);
    h.up("w0"); // grants r1 and clears HANDOFF
    expect(h.holders.get("r1")).toBe("read");
    expect(h.core.handoff).toBe(false); // cleared because a reader was woken
    expect(h.waiterNames()).toEqual(["w2"]);
    h.up("r1");
    h.runWoken();
    expect(h.holders.get("w2")).toBe("write");
    h.core.validate(true);
  });
});

describe("RwsemCore count encoding", () => {
  it("v4.18 uses the x86_64 biases", () => {
    const h = new CoreHarness({ generation: "v4.18" });
    expect(h.core.count).toBe(0);
    h.read("a");
    h.read("b");
    expect(h.core.count).toBe(2);
    h.write("w");
    expect(h.core.count).toBe(2 + RWSEM_WAITING_BIAS);
  });
  it("v5.3 uses READER_BIAS and flag bits", () => {
    const h = new CoreHarness({ generation: "v5.3" });
    h.read("a");
    h.write("w");
    expect(h.core.count).toBe(256 + 2);
    h.up("a");
    expect(h.core.count).toBe(2);
    h.runWoken();
    expect(h.core.count).toBe(1);
  });
});
