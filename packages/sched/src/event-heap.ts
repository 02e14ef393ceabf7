/**
 * The event queue: a 4-ary min-heap ordered by (time, key), where key = priority * 2^52 + tie
 * and tie is the monotone sequence number (FIFO among equal (time, priority)) or, with
 * shuffleTies, a seeded random number above the low 32 bits of seq.
 *
 *   index:      0
 *             / | | \
 *            1  2 3  4          children of i: 4i+1 .. 4i+4, parent of i: (i-1)>>2
 *          ...
 *   times[i] : Float64Array   virtual ns of event i
 *   keys[i]  : Float64Array   priority * 2^52 + tie (exact: < 2^53)
 *   tokens[i]: Float64Array   the task's event epoch when scheduled (stale if it changed)
 *   payload[i]: T | null      who to resume (null: the hung-task watchdog)
 *
 * Invariant (checked by validate()): every node is <= each of its children in (time, key).
 * Keys are unique (seq is unique), so the order of events is a total order and does not
 * depend on the heap's shape: same pushes, same pops.
 */

/** Events that wake or start tasks run before timer expiries at the same instant (SimPy). */
export const URGENT = 0;
/** Timer expiry: cpu() and sleep() completion, watchdog ticks. */
export const NORMAL = 1;
/** priority * PRIORITY_SCALE + tie stays an exact integer below 2^53. */
export const PRIORITY_SCALE = 2 ** 52;

export class EventHeap<T> {
  times: Float64Array;
  keys: Float64Array;
  tokens: Float64Array;
  payload: (T | null)[];
  size: number;

  constructor(capacity = 64) {
    const cap = Math.max(4, capacity);
    this.times = new Float64Array(cap);
    this.keys = new Float64Array(cap);
    this.tokens = new Float64Array(cap);
    this.payload = [];
    for (let i = 0; i < cap; i++) this.payload.push(null);
    this.size = 0;
  }

  /** Insert an event; amortised O(log4 n), no allocation unless the arrays grow. */
  push(time: number, key: number, token: number, item: T | null): void {
    if (this.size === this.times.length) this.grow();
    const times = this.times;
    const keys = this.keys;
    const tokens = this.tokens;
    const payload = this.payload;
    // Sift up with a hole: move parents down until the new event's place is found.
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = times[p] as number;
      if (pt < time || (pt === time && (keys[p] as number) < key)) break;
      times[i] = pt;
      keys[i] = keys[p] as number;
      tokens[i] = tokens[p] as number;
      payload[i] = payload[p] as T | null;
      i = p;
    }
    times[i] = time;
    keys[i] = key;
    tokens[i] = token;
    payload[i] = item;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : (this.times[0] as number);
  }

  /** Remove the earliest event (read times[0], tokens[0], payload[0] first). */
  pop(): void {
    const n = --this.size;
    const times = this.times;
    const keys = this.keys;
    const tokens = this.tokens;
    const payload = this.payload;
    if (n === 0) {
      payload[0] = null;
      return;
    }
    // Sift the last event down from the root with a hole.
    const time = times[n] as number;
    const key = keys[n] as number;
    const token = tokens[n] as number;
    const item = payload[n] as T | null;
    payload[n] = null;
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      // Smallest of up to four children.
      let c = first;
      let ct = times[first] as number;
      let ck = keys[first] as number;
      const last = first + 3 < n ? first + 3 : n - 1;
      for (let j = first + 1; j <= last; j++) {
        const jt = times[j] as number;
        if (jt < ct || (jt === ct && (keys[j] as number) < ck)) {
          c = j;
          ct = jt;
          ck = keys[j] as number;
        }
      }
      if (time < ct || (time === ct && key < ck)) break;
      times[i] = ct;
      keys[i] = ck;
      tokens[i] = tokens[c] as number;
      payload[i] = payload[c] as T | null;
      i = c;
    }
    times[i] = time;
    keys[i] = key;
    tokens[i] = token;
    payload[i] = item;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const times = new Float64Array(cap);
    const keys = new Float64Array(cap);
    const tokens = new Float64Array(cap);
    times.set(this.times);
    keys.set(this.keys);
    tokens.set(this.tokens);
    this.times = times;
    this.keys = keys;
    this.tokens = tokens;
    for (let i = this.payload.length; i < cap; i++) this.payload.push(null);
  }

  /** Throws an Error describing the first broken heap invariant. */
  validate(): void {
    for (let i = 1; i < this.size; i++) {
      const p = (i - 1) >> 2;
      const pt = this.times[p] as number;
      const it = this.times[i] as number;
      if (pt > it || (pt === it && (this.keys[p] as number) >= (this.keys[i] as number))) {
        throw new Error(
          `@mmlab/sched: event heap broken: parent ${p} (${pt}, ${this.keys[p]}) > child ${i} (${it}, ${this.keys[i]})`,
        );
      }
    }
    for (let i = this.size; i < this.payload.length; i++) {
      if (this.payload[i] !== null)
        throw new Error(`@mmlab/sched: event heap slot ${i} not cleared`);
    }
  }
}
