/** The seeded VMA layout and the flat-array find_vma baseline shared by the maple-tree benches. */
import { PAGE_SIZE } from "../src/page.js";
import { VM_READ, VM_WRITE, Vma } from "../src/vma.js";

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Layout {
  n: number;
  start: Float64Array; // pages
  end: Float64Array; // pages, exclusive
  vmas: Vma[];
}

/**
 * n VMAs of 1-16 pages from page 0x10 upwards, separated by holes of 0-8 pages (a quarter
 * adjacent), plus 64 planted holes of 128 pages for the gap searches to find.
 */
export function makeLayout(n: number, seed: number): Layout {
  const rnd = prng(seed);
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const vmas: Vma[] = [];
  const plantEvery = Math.floor(n / 64);
  let pg = 0x10;
  for (let i = 0; i < n; i++) {
    pg += rnd() < 0.25 ? 0 : 1 + Math.floor(rnd() * 8);
    if (i > 0 && i % plantEvery === 0) pg += 128;
    const len = 1 + Math.floor(rnd() * 16);
    start[i] = pg;
    end[i] = pg + len;
    vmas.push(
      new Vma({
        vmStart: pg * PAGE_SIZE,
        vmEnd: (pg + len) * PAGE_SIZE,
        vmFlags: VM_READ | VM_WRITE,
      }),
    );
    pg += len;
  }
  return { n, start, end, vmas };
}

/** 0..n-1 in a seeded random order (Fisher-Yates), for building a tree out of order. */
export function shuffledOrder(n: number, rnd: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

/** Lowest index i with end[i] > page (find_vma over a flat sorted array). */
export function flatFind(end: Float64Array, n: number, page: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((end[mid] as number) > page) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
