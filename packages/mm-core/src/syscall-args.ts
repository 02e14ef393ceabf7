/**
 * The input contract of the system-call layer (every sys* function, doPageFault): one helper,
 * so that every entry point draws the line between "a value a C caller could pass" and "a
 * programming error" in the same place. See the README's "Input contract".
 *
 *   a JS number that is an integer in [-2^63, 2^64)  a 64-bit register a C caller could load:
 *                                                     0 .. 2^64-1 is the unsigned value, a
 *                                                     negative n is the two's-complement bits
 *                                                     of n (what `-1` or `(long)x` passes)
 *   anything else                                    TypeError (not a number) or RangeError
 *                                                     (NaN, ±Infinity, a fraction, out of
 *                                                     range), thrown before any lock is taken,
 *                                                     any time is charged or anything changes
 *
 * Each system call then reads the register as its C parameter type: `ulongArg` for
 * `unsigned long` / `size_t`, `intArg` for `int`, `uintArg` for `unsigned int`.
 */
import { PAGE_SIZE } from "./layout.js";

const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/**
 * Throws unless `v` is a 64-bit register value (see the header): TypeError for a non-number,
 * RangeError for NaN, ±Infinity, a fraction or an integer outside [-2^63, 2^64). The message
 * names the function and the argument.
 */
export function checkArg(fn: string, name: string, v: unknown): asserts v is number {
  if (typeof v === "number" && Number.isInteger(v) && v >= -TWO_63 && v < TWO_64) return;
  if (typeof v !== "number") {
    throw new TypeError(
      `@mmlab/mm-core: ${fn}: ${name} must be a number (a 64-bit integer), got ${typeof v}`,
    );
  }
  throw new RangeError(
    `@mmlab/mm-core: ${fn}: ${name} must be an integer in [-2^63, 2^64) (a value a C caller can pass), got ${v}`,
  );
}

/**
 * The `unsigned long` a checked register holds. A negative n is 2^64 + n; above 2^53 a JS
 * number cannot hold every integer, so the result is the nearest value with the same page
 * alignment (exact when n is a multiple of 2048). Every such value is above any TASK_SIZE,
 * which is what the kernel rejects it for, unless it fails an alignment check first.
 */
export function ulongArg(v: number): number {
  if (v >= 0) return v;
  const off = ((v % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE;
  const aligned = TWO_64 + (v - off); // exact: a multiple of 4096 in [2^63, 2^64)
  return off === 0 ? aligned : aligned + PAGE_SIZE / 2; // still unaligned, as 2^64 + n is
}

/** The `int` a checked register holds: its low 32 bits, signed (ToInt32 is exact). */
export function intArg(v: number): number {
  return v | 0;
}

/** The `unsigned int` a checked register holds: its low 32 bits. */
export function uintArg(v: number): number {
  return v >>> 0;
}

/** Does the register have a bit set above bit 31 (as `unsigned long` flags, e.g. unknown bits)? */
export function hasHighBits(v: number): boolean {
  return v < 0 || v >= TWO_32;
}

/** `a + b` in unsigned long arithmetic: wraps modulo 2^64 as C does. */
export function ulongAdd(a: number, b: number): number {
  const s = a + b;
  return s >= TWO_64 ? s - TWO_64 : s;
}

/** include/linux/mm.h: PAGE_ALIGN() on an unsigned long: rounds up, wrapping to 0 at 2^64. */
export function pageAlignUlong(x: number): number {
  const y = Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
  return y >= TWO_64 ? y - TWO_64 : y;
}
