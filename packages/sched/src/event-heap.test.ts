import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventHeap, NORMAL, PRIORITY_SCALE, URGENT } from "./event-heap.js";

describe("EventHeap", () => {
  it("pops by time, then priority, then seq", () => {
    const h = new EventHeap<string>(4);
    let seq = 0;
    const push = (t: number, prio: number, name: string) =>
      h.push(t, prio * PRIORITY_SCALE + seq++, 0, name);
    push(5, NORMAL, "t5-normal-a");
    push(5, URGENT, "t5-urgent");
    push(1, NORMAL, "t1");
    push(5, NORMAL, "t5-normal-b");
    push(0, NORMAL, "t0");
    h.validate();
    const out: (string | null)[] = [];
    while (h.size > 0) {
      out.push(h.payload[0] ?? null);
      h.pop();
      h.validate();
    }
    expect(out).toEqual(["t0", "t1", "t5-urgent", "t5-normal-a", "t5-normal-b"]);
    expect(h.peekTime()).toBe(Number.POSITIVE_INFINITY);
  });

  it("matches a sorted-array oracle under random pushes and pops", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("push" as const),
        t: fc.integer({ min: 0, max: 20 }),
        p: fc.integer({ min: 0, max: 1 }),
      }),
      fc.record({ kind: fc.constant("pop" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const h = new EventHeap<number>(4);
        const oracle: { t: number; k: number; id: number }[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === "push") {
            const k = o.p * PRIORITY_SCALE + seq;
            h.push(o.t, k, seq, seq);
            oracle.push({ t: o.t, k, id: seq });
            oracle.sort((a, b) => a.t - b.t || a.k - b.k);
            seq++;
          } else if (oracle.length > 0) {
            const want = oracle.shift();
            expect(h.times[0]).toBe(want?.t);
            expect(h.payload[0]).toBe(want?.id);
            expect(h.tokens[0]).toBe(want?.id);
            h.pop();
          }
          h.validate();
          expect(h.size).toBe(oracle.length);
          expect(h.peekTime()).toBe(oracle[0]?.t ?? Number.POSITIVE_INFINITY);
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
