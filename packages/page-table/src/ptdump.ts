/**
 * DOC: arch/x86/mm/dump_pagetables.c (v4.19) for one mm's user half: walk the tables and print
 * one line per run of consecutive entries with the same flags at the same level:
 *
 *   0x00007f0000000000-0x00007f0000003000          12K USR RW                     NX pte
 *   0x00007f0000003000-0x00007f0000200000        2036K                               pte
 *   0x00007f0000200000-0x00007f0000400000           2M USR RW         PSE         NX pmd
 *
 * As in note_page(): a none entry, or a leaf, is a "page" of its level with its flags
 * (pfn masked off; 0 for none); a change of flags or level closes the current line. The size
 * is printed in the largest unit that divides it ("BKMGTPE"), then printk_prot()'s columns:
 * USR, RW/ro, PWT, PCD, PSE (PGD..PMD), PAT, GLB, NX/x, and the level name. With 4 levels the
 * P4D is folded and never printed.
 */

import { P4D_SPAN, PGDIR_SPAN_5, PMD_SPAN, PUD_SPAN, pnHex16 } from "./address.js";
import { HI_NX, LO_FLAGS, LO_PSE } from "./entry.js";
import type { PageTable } from "./page-table.js";
import { LEVEL_P4D, LEVEL_PGD, LEVEL_PMD, LEVEL_PTE, LEVEL_PUD } from "./table-pool.js";

const LEVEL_NAME = ["", "pte", "pmd", "pud", "p4d", "pgd"];
const UNITS = "BKMGTPE";

/** The flag columns of printk_prot() — v4.19. `level` is ours (1 = pte ... 5 = pgd). */
export function printkProt(lo: number, hi: number, level: number): string {
  if ((lo & 1) === 0) return `${" ".repeat(30)}${LEVEL_NAME[level]}`;
  let s = (lo & 0x4) !== 0 ? "USR " : "    ";
  s += (lo & 0x2) !== 0 ? "RW " : "ro ";
  s += (lo & 0x8) !== 0 ? "PWT " : "    ";
  s += (lo & 0x10) !== 0 ? "PCD " : "    ";
  // bit 7 is PSE above the PTE level, PAT in a PTE; PAT of huge leaves is bit 12
  s += level >= LEVEL_PMD && (lo & LO_PSE) !== 0 ? "PSE " : "    ";
  const pat =
    (level === LEVEL_PTE && (lo & LO_PSE) !== 0) ||
    ((level === LEVEL_PMD || level === LEVEL_PUD) && (lo & 0x1000) !== 0);
  s += pat ? "PAT " : "    ";
  s += (lo & 0x100) !== 0 ? "GLB " : "    ";
  s += (hi & HI_NX) !== 0 ? "NX " : "x  ";
  return s + LEVEL_NAME[level];
}

class DumpState {
  lines: string[];
  startPn: number;
  level: number;
  lo: number;
  hi: number;
  readonly from: number;
  readonly to: number;

  constructor(from: number, to: number) {
    this.lines = ["---[ User Space ]---"];
    this.startPn = -1;
    this.level = 0;
    this.lo = 0;
    this.hi = 0;
    this.from = from;
    this.to = to;
  }

  /** note_page(): the entry covering [pn, pn + span) has these flags at this level. */
  note(pn: number, span: number, level: number, lo: number, hi: number): void {
    const flagsLo = lo & LO_FLAGS;
    const flagsHi = hi & HI_NX;
    const s = Math.max(pn, this.from);
    if (this.startPn < 0) {
      this.startPn = s;
    } else if (flagsLo !== this.lo || flagsHi !== this.hi || level !== this.level) {
      this.flush(s);
      this.startPn = s;
    }
    this.level = level;
    this.lo = flagsLo;
    this.hi = flagsHi;
    void span;
  }

  flush(endPn: number): void {
    if (this.startPn < 0 || endPn <= this.startPn) return;
    let delta = (endPn - this.startPn) * 4; // KiB
    let unit = 1;
    while (delta % 1024 === 0 && unit < UNITS.length - 1) {
      delta /= 1024;
      unit++;
    }
    const size = `${delta}`.padStart(9) + UNITS[unit];
    this.lines.push(
      `${pnHex16(this.startPn)}-${pnHex16(endPn)}   ${size} ${printkProt(this.lo, this.hi, this.level)}`,
    );
  }
}

/** @internal walk [from, to) of pt's user space and return the dump. */
export function ptdumpWalk(pt: PageTable, from: number, to: number): string {
  const st = new DumpState(from, to);
  if (to > from)
    walkDir(pt, st, pt.pgdId, LEVEL_PGD, 0, pt.levels === 4 ? 2 ** 27 : PGDIR_SPAN_5, 256);
  st.flush(to);
  return `${st.lines.join("\n")}\n`;
}

function walkDir(
  pt: PageTable,
  st: DumpState,
  tab: number,
  level: number,
  basePn: number,
  span: number,
  entries: number,
): void {
  const dirs = pt.dirs;
  for (let i = 0; i < entries; i++) {
    const pn = basePn + i * span;
    if (pn + span <= st.from) continue;
    if (pn >= st.to) return;
    const lo = dirs.lo(tab, i);
    if (lo === 0 || (lo & LO_PSE) !== 0) {
      st.note(pn, span, level, lo, dirs.hi(tab, i));
      continue;
    }
    const child = dirs.child(tab, i);
    const childLevel = level === LEVEL_PGD && pt.levels === 4 ? LEVEL_PUD : level - 1;
    if (childLevel === LEVEL_PTE) walkPte(pt, st, child, pn);
    else walkDir(pt, st, child, childLevel, pn, spanOf(childLevel), 512);
  }
}

function spanOf(level: number): number {
  return level === LEVEL_P4D ? P4D_SPAN : level === LEVEL_PUD ? PUD_SPAN : PMD_SPAN;
}

function walkPte(pt: PageTable, st: DumpState, tab: number, basePn: number): void {
  const ptes = pt.ptes;
  for (let i = 0; i < 512; i++) {
    const pn = basePn + i;
    if (pn < st.from) continue;
    if (pn >= st.to) return;
    st.note(pn, 1, LEVEL_PTE, ptes.lo(tab, i), ptes.hi(tab, i));
  }
}
