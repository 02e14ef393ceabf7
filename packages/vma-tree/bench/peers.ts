/**
 * VMA-tree benchmark against npm ordered maps, on the same seeded workloads.
 *
 *   pnpm exec tsx packages/vma-tree/bench/peers.ts [--sizes 65530,1000000] [--only rb,maple,...]
 *                                                  [--runs 3] [--order shuffled|ascending]
 *
 * One structure per process: every (structure, size) run is a child process of its own, so
 * no other structure's data shares the heap, the caches or the JIT's type feedback; the
 * children of a size are interleaved whole runs (maple, rb, ..., maple, rb, ...), --runs
 * times, and the table shows the median of each column (and the runs' range for findVma).
 *
 * Layout: N VMAs of 1..16 pages separated by holes of 0..8 pages, plus 16 big holes of 128
 * pages in the lowest 5% of the space (so a top-down search for 64 pages must go far down).
 * Every structure gets its own Vma objects built from the same numbers.
 *
 * Workloads (all seeded; same sequence for every structure):
 *   build     insert all N VMAs in a shuffled order (--order ascending: lowest first, as mmap
 *             fills an address space; the later workloads then run on that tree)
 *   find      1M findVma at random addresses (hits and holes) — first VMA with vmEnd > addr
 *   erase+ins erase a random VMA and insert it again
 *   replace   munmap + MAP_FIXED-like replace of a random [a, b) covering 0..4 VMAs: trim or
 *             split the edge VMAs, drop the covered ones, insert one new VMA over [a, b)
 *   gap       top-down search for 64 free pages below a random high limit (unmapped_area_topdown);
 *             the peers can only scan downwards from the limit
 *   bytes     heap bytes per VMA held by the structure (excluding the Vma objects themselves)
 *
 * Peers are keyed by vmEnd page so that findVma is one upperBound (their best case).
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import IntervalTree from "@flatten-js/interval-tree";
import { OrderedMap } from "js-sdsl";
import * as sortedBtree from "sorted-btree";
import { createVmaTree, PAGE_SIZE, VM_READ, VM_WRITE, Vma, type VmaTree } from "../src/index.js";
import { prng, shuffledOrder } from "./layout.js";

// sorted-btree is CommonJS with `exports.default = BTree`: the namespace's default is module.exports.
const BTree = sortedBtree.default.default;

const P = PAGE_SIZE;
const RW = VM_READ | VM_WRITE;
const BASE_PAGE = 0x10; // first VMA at 64 KiB (mmap_min_addr)
const GAP_PAGES = 64;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

// ---------------------------------------------------------------------------------------
// The layout (seeded with mulberry32, as maple-tree.ts)
// ---------------------------------------------------------------------------------------

interface Layout {
  n: number;
  starts: Float64Array; // pages
  ends: Float64Array;
  order: Int32Array; // shuffled insertion order
  topPage: number; // end of the last VMA
}

function makeLayout(n: number, seed: number, ascending = false): Layout {
  const rnd = prng(seed);
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  const bigHoles = new Set<number>();
  while (bigHoles.size < 16) bigHoles.add(1 + Math.floor(rnd() * Math.floor(n * 0.05)));
  let pg = BASE_PAGE;
  for (let i = 0; i < n; i++) {
    pg += bigHoles.has(i) ? 128 : Math.floor(rnd() * 9);
    starts[i] = pg;
    pg += 1 + Math.floor(rnd() * 16);
    ends[i] = pg;
  }
  const order = shuffledOrder(n, rnd);
  if (ascending) for (let i = 0; i < n; i++) order[i] = i;
  return { n, starts, ends, order, topPage: pg };
}

function makeVmas(l: Layout): Vma[] {
  const out: Vma[] = [];
  for (let i = 0; i < l.n; i++) {
    out.push(
      new Vma({
        vmStart: (l.starts[i] as number) * P,
        vmEnd: (l.ends[i] as number) * P,
        vmFlags: RW,
      }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// One adapter per structure: the operations the workloads need
// ---------------------------------------------------------------------------------------

interface Subject {
  readonly name: string;
  insert(v: Vma): void;
  erase(v: Vma): void;
  findVma(addr: number): Vma | null;
  /** Change a linked VMA's bounds (peers: re-key). */
  resize(v: Vma, start: number, end: number): void;
  /** Highest address of a free run of `len` bytes ending at or below `high`, or -1. */
  gapTopdown(len: number, low: number, high: number): number;
}

class TreeSubject implements Subject {
  constructor(
    readonly name: string,
    readonly tree: VmaTree,
  ) {}
  insert(v: Vma): void {
    this.tree.insert(v);
  }
  erase(v: Vma): void {
    this.tree.erase(v);
  }
  findVma(addr: number): Vma | null {
    return this.tree.findVma(addr);
  }
  resize(v: Vma, start: number, end: number): void {
    this.tree.adjust(v, start, end, v.vmPgoff);
  }
  gapTopdown(len: number, low: number, high: number): number {
    const r = this.tree.unmappedAreaTopdown({
      length: len,
      lowLimit: low,
      highLimit: high,
      alignMask: 0,
      alignOffset: 0,
    });
    return r < 0 ? -1 : r;
  }
}

class OrderedMapSubject implements Subject {
  readonly name = "js-sdsl OrderedMap";
  readonly map = new OrderedMap<number, Vma>();
  insert(v: Vma): void {
    this.map.setElement(v.vmEnd / P, v);
  }
  erase(v: Vma): void {
    this.map.eraseElementByKey(v.vmEnd / P);
  }
  findVma(addr: number): Vma | null {
    const it = this.map.upperBound(Math.floor(addr / P));
    return it.equals(this.map.end()) ? null : it.pointer[1];
  }
  resize(v: Vma, start: number, end: number): void {
    this.map.eraseElementByKey(v.vmEnd / P);
    v.vmStart = start;
    v.vmEnd = end;
    this.map.setElement(end / P, v);
  }
  gapTopdown(len: number, low: number, high: number): number {
    let gapEnd = high;
    const it = this.map.reverseLowerBound(high / P); // last VMA ending at or below high
    const up = this.map.upperBound(high / P); // a VMA straddling high lowers the first gap's end
    if (!up.equals(this.map.end()) && up.pointer[1].vmStart < high) gapEnd = up.pointer[1].vmStart;
    // reverseLowerBound hands back an iterator that steps forward with next(): walk with pre().
    const first = this.map.begin();
    let more = !it.equals(this.map.rEnd());
    while (more) {
      if (gapEnd - len < low) return -1;
      const v = it.pointer[1];
      if (v.vmEnd < gapEnd && gapEnd - v.vmEnd >= len) return gapEnd - len;
      gapEnd = Math.min(gapEnd, v.vmStart);
      more = !it.equals(first);
      if (more) it.pre();
    }
    return gapEnd - len >= low ? gapEnd - len : -1;
  }
}

class BTreeSubject implements Subject {
  readonly name = "sorted-btree";
  readonly tree = new BTree<number, Vma>();
  insert(v: Vma): void {
    this.tree.set(v.vmEnd / P, v);
  }
  erase(v: Vma): void {
    this.tree.delete(v.vmEnd / P);
  }
  findVma(addr: number): Vma | null {
    const pair = this.tree.nextHigherPair(Math.floor(addr / P));
    return pair === undefined ? null : pair[1];
  }
  resize(v: Vma, start: number, end: number): void {
    this.tree.delete(v.vmEnd / P);
    v.vmStart = start;
    v.vmEnd = end;
    this.tree.set(end / P, v);
  }
  gapTopdown(len: number, low: number, high: number): number {
    let gapEnd = high;
    const up = this.tree.nextHigherPair(high / P);
    if (up !== undefined && up[1].vmStart < high) gapEnd = up[1].vmStart;
    for (const [, v] of this.tree.entriesReversed(high / P)) {
      if (v.vmEnd > high) continue;
      if (gapEnd - len < low) return -1;
      if (v.vmEnd < gapEnd && gapEnd - v.vmEnd >= len) return gapEnd - len;
      gapEnd = Math.min(gapEnd, v.vmStart);
    }
    return gapEnd - len >= low ? gapEnd - len : -1;
  }
}

class IntervalTreeSubject implements Subject {
  readonly name = "@flatten-js/interval-tree";
  readonly tree = new IntervalTree<Vma>();
  insert(v: Vma): void {
    this.tree.insert([v.vmStart / P, v.vmEnd / P - 1], v);
  }
  erase(v: Vma): void {
    this.tree.remove([v.vmStart / P, v.vmEnd / P - 1], v);
  }
  findVma(addr: number): Vma | null {
    const pg = Math.floor(addr / P);
    const r = this.tree.iterate([pg, pg]).next();
    return r.done === true ? null : r.value;
  }
  resize(v: Vma, start: number, end: number): void {
    this.erase(v);
    v.vmStart = start;
    v.vmEnd = end;
    this.insert(v);
  }
  gapTopdown(len: number, low: number, high: number): number {
    // No reverse iteration: scan upwards from low, remembering the highest fitting gap.
    let best = -1;
    let prevEnd = 0;
    for (const v of this.tree.iterate([low / P, low / P])) {
      const gs = Math.max(prevEnd, low);
      const ge = Math.min(v.vmStart, high);
      if (ge - gs >= len) best = ge - len;
      if (v.vmStart >= high) return best;
      prevEnd = v.vmEnd;
    }
    const gs = Math.max(prevEnd, low);
    return high - gs >= len ? high - len : best;
  }
}

/** A sorted Float64Array of vmEnd pages with binary search; O(n) memmove inserts/erases. */
class FlatArraySubject implements Subject {
  readonly name = "sorted Float64Array";
  ends = new Float64Array(1024);
  vmas: Vma[] = [];
  n = 0;
  private lowerIndex(endPg: number): number {
    let lo = 0;
    let hi = this.n;
    const a = this.ends;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] as number) < endPg) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Bulk build: sort once (what a static peer would do). */
  build(vmas: Vma[]): void {
    const sorted = vmas.slice().sort((x, y) => x.vmEnd - y.vmEnd);
    this.ends = new Float64Array(Math.max(1024, sorted.length * 2));
    for (let i = 0; i < sorted.length; i++) this.ends[i] = (sorted[i] as Vma).vmEnd / P;
    this.vmas = sorted;
    this.n = sorted.length;
  }
  insert(v: Vma): void {
    const e = v.vmEnd / P;
    const i = this.lowerIndex(e);
    if (this.n === this.ends.length) {
      const b = new Float64Array(this.ends.length * 2);
      b.set(this.ends);
      this.ends = b;
    }
    this.ends.copyWithin(i + 1, i, this.n);
    this.ends[i] = e;
    this.vmas.splice(i, 0, v);
    this.n++;
  }
  erase(v: Vma): void {
    const i = this.lowerIndex(v.vmEnd / P);
    this.ends.copyWithin(i, i + 1, this.n);
    this.vmas.splice(i, 1);
    this.n--;
  }
  findVma(addr: number): Vma | null {
    const pg = Math.floor(addr / P);
    let lo = 0;
    let hi = this.n;
    const a = this.ends;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] as number) <= pg) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.n ? (this.vmas[lo] as Vma) : null;
  }
  resize(v: Vma, start: number, end: number): void {
    this.erase(v);
    v.vmStart = start;
    v.vmEnd = end;
    this.insert(v);
  }
  gapTopdown(len: number, low: number, high: number): number {
    let i = this.lowerIndex(high / P + 1) - 1; // last VMA ending at or below high
    let gapEnd = high;
    const up = this.vmas[i + 1];
    if (up !== undefined && up.vmStart < high) gapEnd = up.vmStart;
    for (; i >= 0; i--) {
      if (gapEnd - len < low) return -1;
      const v = this.vmas[i] as Vma;
      if (v.vmEnd < gapEnd && gapEnd - v.vmEnd >= len) return gapEnd - len;
      gapEnd = Math.min(gapEnd, v.vmStart);
    }
    return gapEnd - len >= low ? gapEnd - len : -1;
  }
}

// ---------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------

function heapBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function nsPer(ops: number, t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / ops;
}

interface Row {
  name: string;
  n: number;
  build: number;
  find: number;
  eraseInsert: number;
  replace: number;
  gap: number;
  bytes: number;
  check: number;
}

/** The munmap-like replace of [a, b) with a new VMA, on any subject. */
function replaceRange(s: Subject, a: number, b: number): void {
  let v = s.findVma(a);
  if (v !== null && v.vmStart < a && v.vmEnd > b) {
    // hole punch inside one VMA: keep the head, add a tail
    const tail = new Vma({ vmStart: b, vmEnd: v.vmEnd, vmFlags: RW });
    s.resize(v, v.vmStart, a);
    s.insert(tail);
  } else {
    while (v !== null && v.vmStart < b) {
      const next = v.vmEnd < b ? s.findVma(v.vmEnd) : null;
      if (v.vmStart < a) s.resize(v, v.vmStart, a);
      else if (v.vmEnd > b) s.resize(v, b, v.vmEnd);
      else s.erase(v);
      v = next;
    }
  }
  s.insert(new Vma({ vmStart: a, vmEnd: b, vmFlags: RW }));
}

function runOne(make: () => Subject, layout: Layout, flat: boolean): Row {
  const vmas = makeVmas(layout);
  const n = layout.n;
  const before = heapBytes();
  const s = make();
  // build
  let t0 = process.hrtime.bigint();
  if (flat) (s as FlatArraySubject).build(vmas);
  else for (let i = 0; i < n; i++) s.insert(vmas[layout.order[i] as number] as Vma);
  const build = nsPer(n, t0);
  const bytes = (heapBytes() - before) / n;
  // find: 1M random addresses over the whole span (hits and holes)
  const rnd = prng(1234);
  const FINDS = 1_000_000;
  const addrs = new Float64Array(FINDS);
  const span = (layout.topPage + 64) * P;
  for (let i = 0; i < FINDS; i++) addrs[i] = Math.floor(rnd() * span);
  let check = 0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < FINDS; i++) {
    const v = s.findVma(addrs[i] as number);
    if (v !== null) check += v.vmStart;
  }
  const find = nsPer(FINDS, t0);
  // erase + reinsert
  const EI = flat ? (n > 100_000 ? 1_000 : 5_000) : 200_000;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < EI; i++) {
    const v = vmas[Math.floor(rnd() * n)] as Vma;
    s.erase(v);
    s.insert(v);
  }
  const eraseInsert = nsPer(EI, t0);
  // gap search (before replace, so that every subject sees the same layout)
  const GAPS = flat || !(s instanceof TreeSubject) ? (n > 100_000 ? 30 : 200) : 100_000;
  const grnd = prng(99);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < GAPS; i++) {
    const high = (layout.topPage / 2 + Math.floor(grnd() * (layout.topPage / 2))) * P;
    check += s.gapTopdown(GAP_PAGES * P, P, high);
  }
  const gap = nsPer(GAPS, t0);
  // munmap-like replace
  const RP = flat ? (n > 100_000 ? 500 : 2_000) : 50_000;
  const rrnd = prng(4321);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < RP; i++) {
    const a = Math.floor(rrnd() * (layout.topPage - 128)) + 1;
    const b = a + 1 + Math.floor(rrnd() * 48);
    replaceRange(s, a * P, b * P);
  }
  const replace = nsPer(RP, t0);
  return { name: s.name, n, build, find, eraseInsert, replace, gap, bytes, check };
}

/** Before timing: every subject must give the same answers on a small layout. */
function crossCheck(subjects: Array<[string, () => Subject, boolean]>): void {
  const layout = makeLayout(4000, 7);
  const answers: string[] = [];
  for (const [, make, flat] of subjects) {
    const vmas = makeVmas(layout);
    const s = make();
    if (flat) (s as FlatArraySubject).build(vmas);
    else for (let i = 0; i < layout.n; i++) s.insert(vmas[layout.order[i] as number] as Vma);
    const rnd = prng(5);
    const out: number[] = [];
    for (let i = 0; i < 300; i++) {
      const high = (Math.floor(rnd() * layout.topPage) + 1) * P;
      const low = Math.floor(rnd() * (high / P)) * P;
      out.push(s.findVma(Math.floor(rnd() * (layout.topPage + 8) * P))?.vmStart ?? -1);
      const len = (1 + Math.floor(rnd() * 80)) * P;
      const g = s.gapTopdown(len, low, high);
      out.push(g);
      const a = Math.floor(rnd() * layout.topPage) + 1;
      replaceRange(s, a * P, (a + 1 + Math.floor(rnd() * 30)) * P);
    }
    answers.push(out.join(","));
  }
  for (let k = 1; k < answers.length; k++) {
    if (answers[k] !== answers[0]) {
      const a = (answers[0] as string).split(",");
      const b = (answers[k] as string).split(",");
      const i = a.findIndex((x, j) => x !== b[j]);
      throw new Error(
        `bench: ${subjects[k]?.[0]} disagrees with ${subjects[0]?.[0]} at answer ${i}: ${b[i]} vs ${a[i]}`,
      );
    }
  }
  console.log(
    `cross-check: ${subjects.length} structures agree on 300 findVma + gap + replace rounds`,
  );
}

// ---------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const SUBJECTS: Array<[string, () => Subject, boolean]> = [
  ["maple", () => new TreeSubject("MapleVmaTree", createVmaTree("maple")), false],
  ["rb", () => new TreeSubject("RbVmaTree", createVmaTree("rb")), false],
  ["sdsl", () => new OrderedMapSubject(), false],
  ["btree", () => new BTreeSubject(), false],
  ["itree", () => new IntervalTreeSubject(), false],
  ["flat", () => new FlatArraySubject(), true],
];

/** Child: one structure, one size; prints its Row and the heap of one Vma object as JSON. */
function child(key: string, n: number, order: string): void {
  const subject = SUBJECTS.find(([k]) => k === key);
  if (subject === undefined) throw new Error(`bench: no structure ${key}`);
  const layout = makeLayout(n, 42, order === "ascending");
  const row = runOne(subject[1], layout, subject[2]);
  const vmaBefore = heapBytes();
  const objs = makeVmas(layout);
  const vmaBytes = (heapBytes() - vmaBefore) / objs.length;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ...row, vmaBytes, maxRssMiB })}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const sizes = (arg("--sizes") ?? "65530,1000000").split(",").map(Number);
  const only = arg("--only")?.split(",");
  const runs = Number(arg("--runs") ?? "3");
  const order = arg("--order") ?? "shuffled";
  if (order !== "shuffled" && order !== "ascending")
    throw new Error("bench: --order must be shuffled or ascending");
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error("bench: --runs must be a positive integer");
  crossCheck(SUBJECTS);
  const keys = SUBJECTS.map(([k]) => k).filter((k) => only === undefined || only.includes(k));
  const self = fileURLToPath(import.meta.url);
  const fmt = (x: number, w = 9): string => (x >= 1000 ? x.toFixed(0) : x.toFixed(1)).padStart(w);
  console.log(
    `node ${process.version}; ns/op (median of ${runs} interleaved runs, one process per structure and run), bytes/VMA; seeded layouts; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  for (const n of sizes) {
    const rows = new Map<string, Array<Row & { vmaBytes: number; maxRssMiB: number }>>();
    for (let r = 0; r < runs; r++) {
      for (const key of keys) {
        const out = spawnSync(
          process.execPath,
          [...process.execArgv, self, "--child", key, String(n), order],
          {
            encoding: "utf8",
            maxBuffer: 1 << 20,
          },
        );
        if (out.status !== 0) throw new Error(`bench: child ${key} ${n} failed: ${out.stderr}`);
        const row = JSON.parse(out.stdout.trim().split("\n").pop() as string);
        rows.set(key, [...(rows.get(key) ?? []), row]);
      }
    }
    console.log(`\nN = ${n.toLocaleString("en-US")} VMAs, ${order} build`);
    console.log(
      `${"structure".padEnd(26)}${"build".padStart(9)}${"findVma".padStart(9)}${"(min-max)".padStart(14)}${"erase+ins".padStart(10)}${"replace".padStart(9)}${"gap".padStart(11)}${"B/VMA".padStart(8)}${"+Vma obj".padStart(10)}${"RSS MiB".padStart(9)}`,
    );
    for (const key of keys) {
      const rs = rows.get(key) ?? [];
      const med = (f: (r: Row & { vmaBytes: number; maxRssMiB: number }) => number): number =>
        median(rs.map(f));
      const finds = rs.map((r) => r.find);
      const range = `${Math.min(...finds).toFixed(0)}-${Math.max(...finds).toFixed(0)}`;
      console.log(
        `${(rs[0]?.name ?? key).padEnd(26)}${fmt(med((r) => r.build))}${fmt(med((r) => r.find))}${range.padStart(14)}${fmt(
          med((r) => r.eraseInsert),
          10,
        )}${fmt(med((r) => r.replace))}${fmt(
          med((r) => r.gap),
          11,
        )}${fmt(
          med((r) => r.bytes),
          8,
        )}${fmt(
          med((r) => r.bytes + r.vmaBytes),
          10,
        )}${fmt(med((r) => r.maxRssMiB))}`,
      );
    }
    const vmaBytes = median([...rows.values()].flat().map((r) => r.vmaBytes));
    console.log(
      `(B/VMA: the structure's heap per VMA, without the Vma objects; +Vma obj: with one Vma object of ${vmaBytes.toFixed(0)} bytes each)`,
    );
  }
}

if (process.argv[2] === "--child")
  child(process.argv[3] as string, Number(process.argv[4]), process.argv[5] ?? "shuffled");
else await main();
