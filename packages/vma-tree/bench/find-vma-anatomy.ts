/**
 * Where MapleVmaTree.findVma spends its time at 1,000,000 VMAs: the same walk as mt_find
 * (walk.ts) cut after each step, next to the flat-array search, in interleaved rounds.
 *
 *   pnpm exec tsx packages/vma-tree/bench/find-vma-anatomy.ts [--n 1000000]
 *
 * Every row runs 1M random addresses (hits and holes) of the maple-tree.ts layout. Rows that
 * end before the Vma return a count, so that each row does exactly the work it names. The
 * "leaf given" rows read the leaf id of each query from an array filled beforehand: they
 * show what the leaf, slot and Vma accesses cost once they no longer wait for the descent.
 * The "branch-free" row writes each probe as `i + +(pivot < index) * k`, which V8 compiles
 * to a setcc instead of a conditional jump.
 */
import { MapleVmaTree } from "../src/maple-vma-tree.js";
import { PAGE_SIZE } from "../src/page.js";
import type { Vma } from "../src/vma.js";
import { flatFind, makeLayout, prng } from "./layout.js";

const ULONG_MAX = 9007199254740991;
const ROUNDS = 7;

const nArg = process.argv.indexOf("--n");
const n = nArg >= 0 ? Number(process.argv[nArg + 1]) : 1_000_000;
if (!Number.isSafeInteger(n) || n < 1000) {
  console.error("find-vma-anatomy: --n must be an integer >= 1000");
  process.exit(2);
}

const L = makeLayout(n, 0x5eed + n);
const tree = new MapleVmaTree();
for (const vma of L.vmas) tree.insert(vma);
const mt = tree.mt;
const arena = mt.arena;
const rnd = prng(n ^ 0xabcdef);
const Q = 1_000_000;
const addrs = new Float64Array(Q);
const pages = new Float64Array(Q);
const span = (L.end[n - 1] as number) * PAGE_SIZE;
for (let q = 0; q < Q; q++) {
  addrs[q] = Math.floor(rnd() * span);
  pages[q] = Math.floor((addrs[q] as number) / PAGE_SIZE);
}

/** mt_find's descent through the arange64 levels (walk.ts): the leaf holding index. */
function descend(index: number): number {
  const d = arena.nodeData;
  let node = mt.root;
  for (let h = mt.levels - 1; h > 0; h--) {
    const b = node << 5;
    let i = (d[(b + 4) | 0] as number) < index ? (b + 5) | 0 : b;
    i = (d[(i + 2) | 0] as number) < index ? (i + 3) | 0 : i;
    i = (d[i] as number) < index ? (i + 1) | 0 : i;
    i = (d[i] as number) < index ? (i + 1) | 0 : i;
    node = (d[(i + 10) | 0] as number) | 0;
  }
  return node;
}

/** The slot of leaf `node` holding index (mt_find's leaf probes). */
function leafSlot(node: number, index: number): number {
  const p = arena.leafPivots;
  const b = node << 4;
  let i = (p[(b + 7) | 0] as number) < index ? (b + 8) | 0 : b;
  i = (p[(i + 3) | 0] as number) < index ? (i + 4) | 0 : i;
  i = (p[(i + 1) | 0] as number) < index ? (i + 2) | 0 : i;
  i = (p[i] as number) < index ? (i + 1) | 0 : i;
  return i;
}

/** The entry mt_find returns for slot i: a NULL is followed by an entry in its leaf. */
function entryAt(i: number): Vma | null {
  const e = arena.leafSlots[i] as Vma | null;
  if (e !== null) return e;
  return (arena.leafPivots[i] as number) < ULONG_MAX
    ? (arena.leafSlots[i + 1] as Vma | null)
    : null;
}

/** mt_find with every probe as arithmetic on the comparison (setcc), no conditional jump. */
function findBranchFree(index: number): Vma | null {
  const d = arena.nodeData;
  let node = mt.root;
  for (let h = mt.levels - 1; h > 0; h--) {
    const b = node << 5;
    let i = (b + +((d[(b + 4) | 0] as number) < index) * 5) | 0;
    i = (i + +((d[(i + 2) | 0] as number) < index) * 3) | 0;
    i = (i + +((d[i] as number) < index)) | 0;
    i = (i + +((d[i] as number) < index)) | 0;
    node = (d[(i + 10) | 0] as number) | 0;
  }
  const p = arena.leafPivots;
  const b = node << 4;
  let i = (b + +((p[(b + 7) | 0] as number) < index) * 8) | 0;
  i = (i + +((p[(i + 3) | 0] as number) < index) * 4) | 0;
  i = (i + +((p[(i + 1) | 0] as number) < index) * 2) | 0;
  i = (i + +((p[i] as number) < index)) | 0;
  return entryAt(i);
}

const leafOf = new Int32Array(Q);
for (let q = 0; q < Q; q++) leafOf[q] = descend(pages[q] as number);
const vmEnd = (v: Vma | null): number => (v === null ? 0 : v.vmEnd);

const rows: Array<[name: string, run: () => number]> = [
  [
    "tree.findVma(addr).vmEnd (the API)",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++) s += vmEnd(tree.findVma(addrs[q] as number));
      return s;
    },
  ],
  [
    "descent to the leaf",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++) s += descend(pages[q] as number);
      return s;
    },
  ],
  [
    "descent + leaf probes",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++) {
        const page = pages[q] as number;
        s += leafSlot(descend(page), page);
      }
      return s;
    },
  ],
  [
    "descent + leaf probes + entry",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++) {
        const page = pages[q] as number;
        s += entryAt(leafSlot(descend(page), page)) === null ? 1 : 0;
      }
      return s;
    },
  ],
  [
    "descent + leaf probes + entry + vmEnd",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++) {
        const page = pages[q] as number;
        s += vmEnd(entryAt(leafSlot(descend(page), page)));
      }
      return s;
    },
  ],
  [
    "leaf given: leaf probes + entry",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++)
        s += entryAt(leafSlot(leafOf[q] as number, pages[q] as number)) === null ? 1 : 0;
      return s;
    },
  ],
  [
    "leaf given: leaf probes + entry + vmEnd",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++)
        s += vmEnd(entryAt(leafSlot(leafOf[q] as number, pages[q] as number)));
      return s;
    },
  ],
  [
    "branch-free probes: whole walk + vmEnd",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++) s += vmEnd(findBranchFree(pages[q] as number));
      return s;
    },
  ],
  [
    "flat Float64Array: binary search",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++) s += flatFind(L.end, n, pages[q] as number);
      return s;
    },
  ],
  [
    "flat Float64Array: binary search + vmEnd",
    () => {
      let s = 0;
      for (let q = 0; q < Q; q++)
        s += vmEnd(L.vmas[flatFind(L.end, n, pages[q] as number)] ?? null);
      return s;
    },
  ],
];

// The full walks must agree with the API before anything is timed.
const api = (rows[0] as [string, () => number])[1]();
for (const k of [4, 6, 7, 9]) {
  const [name, run] = rows[k] as [string, () => number];
  if (run() !== api) throw new Error(`find-vma-anatomy: "${name}" disagrees with tree.findVma`);
}

const samples: number[][] = rows.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < rows.length; k++) {
    const j = (k + r) % rows.length; // rotate the order so drifting load hits all rows alike
    const t0 = performance.now();
    (rows[j] as [string, () => number])[1]();
    (samples[j] as number[]).push(((performance.now() - t0) * 1e6) / Q);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const apiNs = median(samples[0] as number[]);
const nodes = mt.nodeCounts();
console.log(
  `${n.toLocaleString("en-US")} VMAs: height ${mt.height}, ${nodes.leaves} leaves, ${nodes.internal} internal nodes; ${Q.toLocaleString("en-US")} random addresses, ${ROUNDS} interleaved rounds`,
);
console.log("| step | ns/query median [min-max] | vs the API |");
console.log("|---|---:|---:|");
for (let k = 0; k < rows.length; k++) {
  const xs = samples[k] as number[];
  const m = median(xs);
  console.log(
    `| ${(rows[k] as [string, () => number])[0]} | ${m.toFixed(0)} [${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}] | ${(m / apiNs).toFixed(2)}x |`,
  );
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
